"""torch.compile as an axis: the compiled model, its compile time kept apart, recompiles counted.

The `compile` axis of `train_step` and `epoch` cases is `eager` (no compilation) or a
torch.compile mode (`default`, `max-autotune`). The model is compiled (forward and, through
AOTAutograd, backward); the loss and the SGD step stay eager, as most training scripts
write `model = torch.compile(model)`.

- Compile time apart: torch.compile compiles on the first call. `measure_compile` times one
  warm eager step (or pass) and then the first compiled one, before the case's warm-up and
  timed rounds: `compile_seconds` = first compiled - eager. Inductor's on-disk caches are off
  for the case (`compiling`), so the figure is a cold compile, the same on every sweep.
- No recompiles inside the timed rounds: `Recompiles` counts the frames dynamo compiles
  while it is open (torch._dynamo's `counters["frames"]["total"]`); `Sweep.measure` opens it
  around the timed rounds only, and the case records the count as `recompiles`.
- One case's graphs never serve another: dynamo is reset when a compiled case starts and ends.
- A compile failure (no working C++ compiler for inductor on a CPU machine, an op dynamo or
  inductor cannot handle, a Python torch.compile does not support) is a skip with its reason.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from bench.contract import Compile
from bench.timing import synchronize

EAGER = "eager"
# torch.compile's modes the sweep knows; "default" is torch.compile's default mode.
COMPILE_MODES = (EAGER, "default", "max-autotune")
COMPILE_BACKEND = "inductor"
# Force-disabling inductor's caches also turns off dynamo's profile-guided dynamic shapes, and
# torch says so once with a UserWarning; that is what we ask for, not a problem (pytest runs
# with warnings as errors).
_CACHES_OFF_WARNING = "dynamo_pgo force disabled by torch.compiler.config.force_disable_caches"


def compiled(mode: str) -> bool:
    return mode != EAGER


def compile_model(model: nn.Module, mode: str) -> nn.Module:
    """`model` itself for `eager`, else torch.compile's wrapper of it (same parameters; it
    compiles lazily, on the first call). A torch that cannot compile here is a skip."""
    if not compiled(mode):
        return model
    try:
        return torch.compile(model, mode=mode, backend=COMPILE_BACKEND)
    except RuntimeError as error:  # e.g. "Dynamo is not supported on Python 3.x" at wrap time
        pytest.skip(f"torch.compile (mode {mode}) is not available: {_first_line(error)}")


@contextlib.contextmanager
def compiling(mode: str, what: str) -> Iterator[None]:
    """The context of one case: fresh dynamo state, cold caches, compile failures as skips.

    Eager cases pass through untouched.
    """
    if not compiled(mode):
        yield
        return
    import torch._dynamo
    import torch._inductor.config

    torch._dynamo.reset()  # no graph of an earlier case serves this one
    try:
        with warnings.catch_warnings(), torch._inductor.config.patch(force_disable_caches=True):
            warnings.filterwarnings("ignore", message=_CACHES_OFF_WARNING, category=UserWarning)
            yield
    except torch._dynamo.exc.TorchDynamoException as error:
        # Raised by the compiled call: BackendCompilerFailed (inductor's InvalidCxxCompiler,
        # a lowering it lacks), Unsupported, internal dynamo errors. The eager step has run
        # before it (`measure_compile`), so the failure is the compiler's.
        pytest.skip(f"torch.compile (mode {mode}) failed for {what}: {_first_line(error)}")
    finally:
        torch._dynamo.reset()  # and none of this case's serves the next


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def dynamo_frames_compiled() -> int:
    """Frames dynamo has compiled in this process (recompiles included)."""
    from torch._dynamo.utils import counters

    return int(counters["frames"]["total"])


class Recompiles:
    """Counts the frames dynamo compiles while open: any compile inside timed rounds is a
    recompile (the first compile ran before them), and its seconds are in a round."""

    count: int = 0

    def __enter__(self) -> Recompiles:
        self._start = dynamo_frames_compiled()
        return self

    def __exit__(self, *exc) -> None:
        self.count = dynamo_frames_compiled() - self._start


@dataclass(frozen=True)
class CompileTime:
    """The first compiled step (or pass) against a warm eager one of the same work."""

    first_compiled_seconds: float  # compile + one step
    eager_seconds: float

    @property
    def compile_seconds(self) -> float:
        return self.first_compiled_seconds - self.eager_seconds


def measure_compile(compiled_work: Callable[[], object], eager_work: Callable[[], object],
                    device: torch.device, eager_warmup: int = 1) -> CompileTime:
    """Time a warm eager run of the work, then the compiled one's first run (which compiles).

    Both run the same work (a step, or a pass over the same number of batches); the eager
    model and the compiled one share their parameters, so both train the same net.
    """
    for _ in range(eager_warmup):
        eager_work()
    eager_seconds = _seconds(eager_work, device)
    return CompileTime(first_compiled_seconds=_seconds(compiled_work, device), eager_seconds=eager_seconds)


def _seconds(work: Callable[[], object], device: torch.device) -> float:
    synchronize(device)  # host-device sync point: start idle
    started = time.perf_counter()
    work()
    synchronize(device)  # host-device sync point: the work is done
    return time.perf_counter() - started


def compile_facts(mode: str, compile_time: CompileTime | None) -> dict:
    """The compile time a compiled case records (nothing for eager; keys: bench.contract.Compile).

    `recompiles` is recorded by the case after its timed rounds, from its `Recompiles`.
    """
    if not compiled(mode) or compile_time is None:
        return {}
    return {
        Compile.compile_backend: COMPILE_BACKEND,
        Compile.compile_seconds: compile_time.compile_seconds,
        Compile.compile_first_seconds: compile_time.first_compiled_seconds,
        Compile.compile_eager_seconds: compile_time.eager_seconds,
    }
