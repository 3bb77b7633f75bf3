"""What the benchmark cases share during one sweep: the grid, the data, devices and records.

One `Sweep` per pytest session (the `sweep` fixture). It loads the data set once, hands
each case its device (or skips the case with the reason), starts the utilization sampler and
reads the cgroup's throttling counters around the timed rounds, and writes the facts every
case records into `extra_info` (keys: `bench.contract`).

A case may run several times in one sweep (`--bench-repeats`, interleaved with the other
cases; bench/repeats.py merges them). Its first run sizes the work (images per epoch round,
steps per round, rounds) and later runs reuse that size (`sized`), so every repeat times the
same work and the rounds of all repeats are one sample.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pytest
import torch

from bench import cgroup
from bench.compile import Recompiles
from bench.contract import Case, derive
from bench.contract.vocab import COMPUTE_GROUPS, FULL_EPOCH_IMAGES, SYNTHETIC_HARD
from bench.data import Cifar10, load_cifar10
from bench.grid import Grid
from bench.sampling import Sampler
from bench.timing import synchronize, timed_rounds, warm_up
from bench.trust import CpuThrottle, Trust, assess

CPU_OUT_OF_MEMORY_MARKERS = ("DefaultCPUAllocator: can't allocate memory", "DefaultCPUAllocator: not enough memory")
__all__ = ["FULL_EPOCH_IMAGES", "Sweep", "Window"]


@dataclass(frozen=True)
class Window:
    """What was read around one case's timed rounds: the sampler, and the cgroup's throttling."""

    sampler: Sampler | None = None
    cpu_throttle: CpuThrottle | None = None


@dataclass
class Sweep:
    grid: Grid
    data_dir: Path | None = None
    download: bool = False
    sample_interval_s: float = 0.1
    cpu_threads: int = 1  # torch's intra-op threads of the sweep (a case of the threads axis sets its own)
    seed: int = 0
    phases: bool = True  # split every timed epoch's steps into phases (bench/phases.py)
    trace_dir: Path | None = None  # --bench-trace: profiler traces of epoch cases go here
    cpu_limit: cgroup.CpuLimit | None = None  # the cgroup CPU limit of this process, where there is one
    # The converge group: --bench-lr (None: bench/recipe.py's plan) and --bench-target-accuracy
    # (None: the data set's default, bench/recipe.py).
    lr: float | None = None
    target: float | None = None
    converge_seconds: float | None = None  # the auto preset's budget for each converge run (None: the grid's)
    outcomes: list[dict] = field(default_factory=list)
    # machine_info["cifarbench"], once the session has measured it: a case may add a machine
    # fact there (the ddp group's all-reduce bus bandwidth); every later save writes it.
    machine_facts: dict = field(default_factory=dict)
    # The case running now (its node id, which repeat), set by the plugin before each run.
    running: str | None = None
    repeat: int = 0
    # The auto preset's trial (bench/autosweep.py): seconds of timed rounds the search gives the
    # running case, and the facts the case records under extra_info["search"].
    effort_seconds: float | None = None
    search_facts: dict | None = None
    _sizes: dict[tuple, object] = field(default_factory=dict)

    @cached_property
    def data(self) -> Cifar10:
        """The data set, loaded (or built) on first use, once per sweep."""
        return load_cifar10(self.data_dir, download=self.download, seed=self.seed)

    @property
    def data_source(self) -> str:
        """"synthetic-hard", or the real data set's directory. Without a data directory the name is
        known before the data is built (about 1.5 s on two cores: a collect-only run never needs it)."""
        if self.data_dir is None and not self.download and "data" not in self.__dict__:
            return SYNTHETIC_HARD
        return self.data.source

    @property
    def target_accuracy(self) -> float:
        """The converge group's target: --bench-target-accuracy, else the data set's default."""
        from bench.recipe import target_accuracy

        return self.target if self.target is not None else target_accuracy(self.data_source)

    def sized(self, size: Callable[[], object]) -> object:
        """The running case's size of work: `size()` on its first run, the same value on its repeats
        (and, in the auto preset, on its runs of the same effort)."""
        key = (self.running or "", self.effort_seconds)
        if key not in self._sizes:
            self._sizes[key] = size()
        return self._sizes[key]

    def first_run(self) -> bool:
        """Whether the running case has not been sized yet (its first repeat at this effort)."""
        return (self.running or "", self.effort_seconds) not in self._sizes

    @contextlib.contextmanager
    def threads(self, threads: int | None) -> Iterator[int]:
        """torch's intra-op threads set to `threads` (the sweep's when None) inside the block."""
        wanted = threads or self.cpu_threads
        before = torch.get_num_threads()
        torch.set_num_threads(wanted)
        try:
            yield wanted
        finally:
            torch.set_num_threads(before)

    def require(self, device: str) -> torch.device:
        """The torch device for a case, or a skip saying why this machine has none."""
        parsed = torch.device(device)
        if parsed.type == "cuda":
            if not torch.cuda.is_available():
                pytest.skip(f"{device}: CUDA is not available on this machine")
            index = parsed.index or 0
            if index >= torch.cuda.device_count():
                pytest.skip(f"{device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
            return torch.device("cuda", index)
        return parsed

    def accelerator(self) -> torch.device:
        """Where the `device` input pipeline keeps the data set in `loader` cases."""
        for device in self.grid.devices:
            if device.startswith("cuda") and torch.cuda.is_available():
                return self.require(device)
        return torch.device("cpu")

    @contextlib.contextmanager
    def device_errors(self, device: torch.device, what: str):
        """Turn running out of device memory into a skip with its reason; the sweep goes on."""
        try:
            yield
        except (torch.OutOfMemoryError, MemoryError) as error:
            self._skip_out_of_memory(device, what, error)
        except RuntimeError as error:
            # The CPU allocator raises a plain RuntimeError ("DefaultCPUAllocator: can't
            # allocate memory"): the same situation as CUDA's OutOfMemoryError.
            if not any(marker in str(error) for marker in CPU_OUT_OF_MEMORY_MARKERS):
                raise
            self._skip_out_of_memory(device, what, error)

    @staticmethod
    def _skip_out_of_memory(device: torch.device, what: str, error: BaseException):
        if device.type == "cuda":
            torch.cuda.empty_cache()
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        pytest.skip(f"out of memory on {device} for {what}: {first_line}")

    def measure(self, benchmark, work, device: torch.device | str, rounds: int,
                warmup_rounds: int | None = None, recompiles: Recompiles | None = None) -> Window:
        """Warm up, then time `rounds` rounds of `work` with the sampler running.

        The sampler and the cgroup's throttling counters cover the timed rounds only; peak
        memory is counted over them too, and so are dynamo's compiles when `recompiles` is
        given (a compiled case). Under --benchmark-disable the work runs once, untimed, and
        nothing is sampled.
        """
        device = torch.device(device)
        if benchmark.disabled:
            # --benchmark-disable: a smoke run. The work runs once (pytest-benchmark calls the
            # target once and keeps no stats); nothing is warmed up, sampled or recorded.
            timed_rounds(benchmark, work, device, rounds=1)
            return Window()
        warm_up(work, device, self.grid.warmup_rounds if warmup_rounds is None else warmup_rounds)
        gpu_indices = [device.index or 0] if device.type == "cuda" else []
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        limited = self.cpu_limit is not None and bool(self.cpu_limit.limited)
        throttling_before = self.cpu_limit.read_throttling() if limited else ()
        with (Sampler(interval_s=self.sample_interval_s, gpu_indices=gpu_indices) as sampler,
              recompiles or contextlib.nullcontext()):
            timed_rounds(benchmark, work, device, rounds)
        throttling_after = self.cpu_limit.read_throttling() if limited else ()
        synchronize(device)  # host-device sync point (already idle: timed_rounds ends synced)
        return Window(sampler=sampler, cpu_throttle=self._throttle(throttling_before, throttling_after))

    def _throttle(self, before: tuple, after: tuple) -> CpuThrottle | None:
        """The most throttled limited level of the cgroup path over the rounds; None where no
        level is limited or no counter could be read (the starvation fallback then applies)."""
        spans = [(level, spent) for level, spent in zip(self.cpu_limit.limited if self.cpu_limit else (),
                                                        cgroup.throttling_difference(before, after), strict=False)
                 if spent is not None]
        if not spans:
            return None
        level, spent = max(spans, key=lambda pair: pair[1].throttled_seconds)
        return CpuThrottle(periods=spent.periods, throttled_periods=spent.throttled_periods,
                           throttled_seconds=spent.throttled_seconds, limit_cores=level.limit_cores,
                           cgroup=level.cgroup.path)

    def record(self, benchmark, window: Window | None, device: torch.device | None,
               images_per_round: float, flops_per_image: float | None = None,
               projected_batches: int | None = None, facts: dict | None = None,
               threads: int | None = None, utilization: dict | None = None) -> None:
        """Write the case's measured facts into `benchmark.extra_info` (keys: bench.contract).

        `images_per_sec` comes from the median round, like the headline of the table (over all
        repeats once bench/repeats.py merges them). `projected_batches`: batches per round of
        an epoch projected to a full one (for trust). `facts`: the group's own keys. `threads`:
        torch's threads during the case (the sweep's when None). `utilization`: a summary
        sampled elsewhere (the ddp ranks'), where the case had no sampler of its own. Under
        --benchmark-disable nothing was measured, and nothing is recorded.
        """
        if benchmark.disabled:
            return
        window = window or Window()
        round_seconds = list(benchmark.stats.stats.data)
        images_per_sec = derive.images_per_sec(images_per_round, round_seconds)
        threads = threads or self.cpu_threads
        info = benchmark.extra_info
        info[Case.images_per_round] = images_per_round
        info[Case.median_round_seconds] = derive.median(round_seconds)
        info[Case.images_per_sec] = images_per_sec
        info[Case.cpu_threads] = threads
        info[Case.warmup_rounds] = self.grid.warmup_rounds
        if flops_per_image is not None:
            info[Case.flops_per_image] = flops_per_image
            info[Case.achieved_tflops] = derive.achieved_tflops(flops_per_image, images_per_sec)
        if device is not None:
            info[Case.device_name] = (torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu")
            if device.type == "cuda":
                info[Case.peak_mem_mib] = torch.cuda.max_memory_allocated(device) / 2**20
        sampled = window.sampler.result() if window.sampler is not None else None
        if sampled is not None:
            info[Case.utilization] = sampled.summary
            info[Case.timeline] = sampled.timeline
            info[Case.sampler] = sampled.facts.to_json()
            info[Case.throttle_reasons] = list(sampled.throttle_reasons)
            if sampled.gpm:
                info[Case.gpm] = sampled.gpm_json()
            if sampled.energy_j is not None:
                info[Case.energy_j] = sampled.energy_j
                info[Case.energy_j_per_round] = sampled.energy_j / len(round_seconds)
                info[Case.images_per_joule] = derive.images_per_joule(images_per_round * len(round_seconds),
                                                                      sampled.energy_j)
        elif utilization:
            info[Case.utilization] = utilization
        if window.cpu_throttle is not None:
            throttle = window.cpu_throttle
            info[Case.cpu_throttle] = {"periods": throttle.periods, "throttled_periods": throttle.throttled_periods,
                                       "throttled_seconds": throttle.throttled_seconds,
                                       "limit_cores": throttle.limit_cores}
        info.update(facts or {})
        if self.search_facts is not None:
            info[Case.search] = dict(self.search_facts)
        info[Case.trust] = self.trust(benchmark, sampled.summary if sampled else utilization or {}, images_per_round,
                                      projected_batches, sampled.other_cpu_resolution_pct if sampled else None,
                                      window.cpu_throttle, threads).as_dict()

    def trust(self, benchmark, utilization: dict, images_per_round: float, projected_batches: int | None,
              other_cpu_resolution_pct: float | None = None, cpu_throttle: CpuThrottle | None = None,
              threads: int | None = None) -> Trust:
        """The case's trust verdict from its rounds and what was read during them."""
        round_seconds = list(benchmark.stats.stats.data)
        other = utilization.get("other_cpu_pct", {}).get("mean")
        cpu_share = None
        if cpu_throttle is None and benchmark.group in COMPUTE_GROUPS and benchmark.group != "epoch" and threads:
            # No throttling counter here: a compute case's own CPU against its threads' time is
            # the fallback signal of starvation (an epoch's input phases idle threads honestly).
            own_pct = utilization.get("proc_cpu_pct", {}).get("mean")
            cpu_share = own_pct / (100.0 * threads) if own_pct is not None else None
        return assess(round_seconds, other, images_timed=images_per_round * len(round_seconds),
                      throttle_reasons=benchmark.extra_info.get(Case.throttle_reasons, []),
                      projected_batches=projected_batches,
                      recompiles=benchmark.extra_info.get("recompiles") or 0,
                      other_cpu_resolution_pct=other_cpu_resolution_pct,
                      steal_cpu_pct=utilization.get("steal_cpu_pct", {}).get("mean"),
                      cpu_throttle=cpu_throttle, cpu_share=cpu_share, threads=threads)

    @staticmethod
    def rounds_done(benchmark) -> int:
        """Timed rounds the case ran: its stats' rounds, or the one untimed run of a smoke run."""
        return 1 if benchmark.disabled else len(benchmark.stats.stats.data)
