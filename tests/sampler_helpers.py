"""What the sampler's tests share: a sampler wired to a fake NVML, and waiting for samples."""

from __future__ import annotations

import threading
import time
import types

import pytest

from bench.sampling import Sampler
from bench.sampling.nvml import Nvml
from bench.sampling.sampler import THREAD_NAME, OnceLog

INTERVAL_S = 0.01


def no_pynvml() -> types.ModuleType:
    raise ImportError("No module named 'pynvml'")


def make_sampler(nv: types.ModuleType | None = None, *, nvml: Nvml | None = None, once_log: OnceLog | None = None,
                 **kwargs) -> Sampler:
    """A sampler every `INTERVAL_S`, reading NVML from `nv` (or `nvml`) and logging into a fresh log.

    Each call stands for a new process unless `nvml` and `once_log` are shared.
    """
    if nvml is None:
        nvml = Nvml(load=no_pynvml if nv is None else (lambda: nv))
    return Sampler(interval_s=kwargs.pop("interval_s", INTERVAL_S), nvml=nvml, once_log=once_log or OnceLog(),
                   **kwargs)


def wait_for(condition, what: str, timeout_s: float = 5.0) -> None:
    """Poll until `condition()`; a generous deadline only guards against a hang."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout_s} s")
        time.sleep(INTERVAL_S / 2)


def samples(sampler: Sampler) -> int:
    return sampler.result().facts.samples


def run_for_samples(sampler: Sampler, count: int = 3) -> Sampler:
    with sampler:
        wait_for(lambda: samples(sampler) >= count, f"{count} samples")
    return sampler


def sampler_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == THREAD_NAME]
