"""Utilization sampled in a background thread while a case's timed rounds run.

`Sampler` is a context manager: it takes its baselines on entry (CPU time counters, the
GPUs' energy counters, a GPM sample), samples every `interval_s` seconds in a daemon
thread, and on exit stops and joins that thread, whatever happened inside the block, then
closes the window (energy, GPM). `result()` hands back what was measured as one
`SamplerResult`.

What cannot be measured (no pynvml, no driver, a metric this GPU does not support) is left
out, logged once per process on the `cifarbench.sampler` logger and listed in
`SamplerResult.facts.notes`; the sampler never raises into the case.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType

from bench.sampling.budget import Budget
from bench.sampling.cpu import CpuCounters
from bench.sampling.gpm import GpmReading, GpmWindow
from bench.sampling.nvml import (
    GPU_READINGS,
    NVML,
    Nvml,
    decode_clock_event_reasons,
    nvml_handle,
    read_clock_event_reasons,
    read_energy_mj,
)
from bench.sampling.stats import downsample_indices, summarize

THREAD_NAME = "cifarbench-sampler"


class OnceLog:
    """Logs each reason the first time it is met: cases repeat, the log should not.

    `ONCE_LOG` is the process's one; tests hand the `Sampler` a fresh one.
    """

    def __init__(self, logger: logging.Logger | None = None):
        self.logger = logger or logging.getLogger("cifarbench.sampler")
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def first(self, reason: str) -> bool:
        """Whether `reason` is new (and remember it)."""
        with self._lock:
            if reason in self._seen:
                return False
            self._seen.add(reason)
            return True

    def warning(self, reason: str) -> None:
        """Log `reason` as a warning, the first time only."""
        if self.first(reason):
            self.logger.warning("%s", reason)

    def exception(self, reason: str) -> None:
        """Log `reason` as an error with the current traceback, the first time only."""
        if self.first(reason):
            self.logger.exception("%s", reason)


ONCE_LOG = OnceLog()


@dataclass(frozen=True)
class SamplerFacts:
    """The sampler's own facts: its settings, what it could not measure, what it cost."""

    interval_s: float
    samples: int
    gpu_indices: tuple[int, ...]
    gpu_available: bool
    notes: tuple[str, ...]
    thread_cpu_seconds: float | None  # None while the thread runs
    wall_seconds: float | None
    sampling_wall_seconds: float  # time spent inside samples

    @property
    def thread_cpu_pct_of_one_core(self) -> float | None:
        """The sampling thread's CPU time over its lifetime, in percent of one core."""
        if self.thread_cpu_seconds is None or not self.wall_seconds:
            return None
        return 100.0 * self.thread_cpu_seconds / self.wall_seconds

    def to_json(self) -> dict:
        """The facts as `extra_info["sampler"]` holds them."""
        facts = dataclasses.asdict(self)
        facts["gpu_indices"] = list(self.gpu_indices)
        facts["notes"] = list(self.notes)
        facts["thread_cpu_pct_of_one_core"] = self.thread_cpu_pct_of_one_core
        return facts


@dataclass(frozen=True)
class SamplerResult:
    """What one sampler measured over its window.

    `summary`: {metric: {"mean", "p50", "p95", "max", "n"}} over the samples that recorded it.
    `timeline`: {"t_s": seconds since start, metric: values (None where not recorded)},
    downsampled to the sampler's `max_points`. `energy_j`: the GPUs' energy over the window
    (None unless every GPU's counter was read at both ends). `throttle_reasons`: clock event
    reasons seen, as names (`gpuN:` before each when several GPUs). `gpm`: {CUDA index:
    GpmReading}, empty for a CPU-only sampler. `other_cpu_resolution_pct`: how finely the
    window's `other_cpu_pct` mean is known (bench.sampling.cpu), None where not read.
    """

    summary: dict[str, dict[str, float]]
    timeline: dict[str, list]
    energy_j: float | None
    throttle_reasons: tuple[str, ...]
    facts: SamplerFacts
    gpm: dict[int, GpmReading]
    other_cpu_resolution_pct: float | None = None

    def gpm_json(self) -> dict | None:
        """`extra_info["gpm"]`: the one GPU's reading, or {str(index): reading} for several; None without GPUs."""
        if not self.gpm:
            return None
        if len(self.gpm) == 1:
            return next(iter(self.gpm.values())).to_json()
        return {str(index): reading.to_json() for index, reading in self.gpm.items()}


@dataclass
class _Gpu:
    index: int
    handle: object
    prefix: str
    gpm: GpmWindow | None = None
    failed: set[str] = field(default_factory=set)
    budgets: dict[str, Budget] = field(default_factory=dict)
    energy_start_mj: float | None = None
    energy_end_mj: float | None = None


class Sampler:
    """Samples CPU and GPU utilization every `interval_s` seconds between start and stop.

    `gpu_indices`: the CUDA devices the case uses, numbered as CUDA numbers them in this
    process (none: CPU metrics only). `pid`: the process to follow with its descendants
    (default: this one). `max_points`: the most points per metric in the timeline. One
    sampler covers one window.

    The seams, defaulting to the real things: `nvml` (where `pynvml` comes from, initialized
    once per `Nvml`), `cpu` (builds the CPU counters from a pid and a note function) and
    `once_log` (remembers what was logged).
    """

    def __init__(self, interval_s: float = 0.1, gpu_indices: Sequence[int] = (), pid: int | None = None,
                 max_points: int = 200, *, nvml: Nvml | None = None,
                 cpu: Callable[..., CpuCounters] = CpuCounters, once_log: OnceLog | None = None):
        if not interval_s > 0:
            raise ValueError(f"interval_s must be a positive number of seconds, not {interval_s}")
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2 (first and last), not {max_points}")
        self.interval_s = interval_s
        self.gpu_indices = tuple(gpu_indices)
        self.pid = os.getpid() if pid is None else pid
        self.max_points = max_points
        self._nvml_source = NVML if nvml is None else nvml
        self._once_log = ONCE_LOG if once_log is None else once_log
        self._lock = threading.Lock()  # the series and notes, written by the thread, read by callers
        self._cpu = cpu(self.pid, note=self._note)
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._t_s: list[float] = []
        self._series: dict[str, list[float | None]] = {}
        self._notes: list[str] = []
        self._throttle_reasons: dict[str, None] = {}  # insertion-ordered set
        self._nvml: ModuleType | None = None
        self._gpus: list[_Gpu] = []
        self._gpm_unavailable: dict[int, GpmReading] = {}
        self._start_s = 0.0
        self._last_sample_s = 0.0
        self._thread_cpu_seconds: float | None = None
        self._thread_wall_seconds: float | None = None
        self._sampling_wall_seconds = 0.0

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        self.stop()  # returns None: an exception from the block goes on

    def start(self) -> None:
        """Take the baselines, then start the sampling thread."""
        if self._thread is not None:
            raise RuntimeError("a Sampler covers one window; make a new one")
        self._start_gpus()
        self._cpu.start()
        self._start_s = self._last_sample_s = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the sampling thread, then read the energy counters and GPM. Idempotent."""
        if self._thread is None or self._stopped:
            return
        self._stopped = True
        self._stop_event.set()
        # One sample (a PCIe read blocks 20 ms per direction) is what the thread may still be in.
        join_timeout_s = max(2.0, 2 * self.interval_s)
        self._thread.join(join_timeout_s)
        if self._thread.is_alive():
            self._note(f"sampler thread still running {join_timeout_s} s after stop; left as a daemon")
        for gpu in self._gpus:
            gpu.energy_end_mj = self._read_energy_mj(gpu)
            if gpu.gpm is not None:
                gpu.gpm.finish()  # under the window's lock: safe should the thread still run

    def result(self) -> SamplerResult:
        """What was measured so far (all of it once stopped)."""
        with self._lock:
            columns = {name: [v for v in values if v is not None] for name, values in self._series.items()}
            picks = downsample_indices(len(self._t_s), self.max_points)
            timeline: dict[str, list] = {"t_s": [self._t_s[i] for i in picks]}
            for name, values in self._series.items():
                if any(value is not None for value in values):
                    timeline[name] = [values[i] for i in picks]
            facts = SamplerFacts(
                interval_s=self.interval_s,
                samples=len(self._t_s),
                gpu_indices=self.gpu_indices,
                gpu_available=bool(self._gpus),
                notes=tuple(self._notes),
                thread_cpu_seconds=self._thread_cpu_seconds,
                wall_seconds=self._thread_wall_seconds,
                sampling_wall_seconds=self._sampling_wall_seconds,
            )
            throttle_reasons = tuple(self._throttle_reasons)
        gpm = dict(self._gpm_unavailable)
        gpm.update((gpu.index, gpu.gpm.reading) for gpu in self._gpus if gpu.gpm is not None)
        summary = {name: summarize(values) for name, values in columns.items() if values}
        window = self._cpu.window_means()
        resolution_pct = window.pop("other_cpu_resolution_pct", None)
        for name, mean in window.items():  # exact where samples lump late counts
            if name in summary:
                summary[name]["mean"] = mean
        return SamplerResult(
            summary=summary,
            timeline=timeline,
            energy_j=self._energy_j(),
            throttle_reasons=throttle_reasons,
            facts=facts,
            gpm=dict(sorted(gpm.items())),
            other_cpu_resolution_pct=resolution_pct if "other_cpu_pct" in summary else None,
        )

    def _energy_j(self) -> float | None:
        # A sum over part of the GPUs would read as the whole: all of them, or none.
        if not self._gpus or any(g.energy_start_mj is None or g.energy_end_mj is None for g in self._gpus):
            return None
        return math.fsum(g.energy_end_mj - g.energy_start_mj for g in self._gpus) / 1000.0  # mJ -> J

    def _note(self, reason: str) -> None:
        with self._lock:
            if reason not in self._notes:
                self._notes.append(reason)
        self._once_log.warning(reason)

    def _start_gpus(self) -> None:
        if not self.gpu_indices:
            return
        nvml = self._nvml_source.get()
        if nvml is None:
            reason = self._nvml_source.error or "GPU metrics not recorded: NVML unavailable"
            self._note(reason)
            self._gpm_unavailable = {index: GpmReading(supported=False, reason=reason) for index in self.gpu_indices}
            return
        self._nvml = nvml
        several = len(self.gpu_indices) > 1
        for index in self.gpu_indices:
            try:
                handle = nvml_handle(nvml, index)
            except (nvml.NVMLError, LookupError) as error:
                reason = f"gpu{index} metrics not recorded: no NVML handle ({type(error).__name__}: {error})"
                self._note(reason)
                self._gpm_unavailable[index] = GpmReading(supported=False, reason=reason)
                continue
            gpu = _Gpu(index=index, handle=handle, prefix=f"gpu{index}_" if several else "gpu_")
            gpu.energy_start_mj = self._read_energy_mj(gpu)
            gpu.gpm = GpmWindow(nvml, handle, self._note, label=f"gpu{index}")
            gpu.gpm.start()
            self._gpus.append(gpu)

    def _read_energy_mj(self, gpu: _Gpu) -> float | None:
        if "energy" in gpu.failed:
            return None
        try:
            return read_energy_mj(self._nvml, gpu.handle)
        except self._nvml.NVMLError as error:
            gpu.failed.add("energy")
            self._note(f"gpu{gpu.index} energy not recorded ({type(error).__name__}: {error})")
            return None

    def _run(self) -> None:
        started_cpu_s, started_wall_s = time.thread_time(), time.perf_counter()
        try:
            next_s = self._start_s + self.interval_s
            while not self._stop_event.wait(max(0.0, next_s - time.perf_counter())):
                self._sample()
                next_s += self.interval_s
                late_s = time.perf_counter() - next_s
                if late_s > 0:  # a slow sample: skip the missed slots, keep the phase, no burst
                    next_s += math.ceil(late_s / self.interval_s) * self.interval_s
            # The tail of the window since the last sample, unless too short to mean anything;
            # a window shorter than one period still gets its one sample (counters since start).
            if not self._t_s or time.perf_counter() - self._last_sample_s >= self.interval_s / 2:
                self._sample()
        except Exception as error:
            reason = f"sampling stopped early by {type(error).__name__}: {error}"
            self._once_log.exception(reason)  # with the traceback, once
            with self._lock:
                self._notes.append(reason)
        finally:
            cpu_s, wall_s = time.thread_time() - started_cpu_s, time.perf_counter() - started_wall_s
            with self._lock:
                self._thread_cpu_seconds, self._thread_wall_seconds = cpu_s, wall_s

    def _sample(self) -> None:
        began_s = time.perf_counter()
        row: dict[str, float] = {}
        self._last_sample_s = self._cpu.read(row)
        for gpu in self._gpus:
            self._sample_gpu(gpu, row)
        now_s = time.perf_counter()
        with self._lock:
            self._append(self._last_sample_s - self._start_s, row)
            self._sampling_wall_seconds += now_s - began_s

    def _sample_gpu(self, gpu: _Gpu, row: dict[str, float]) -> None:
        nvml = self._nvml
        for what, read, expensive in GPU_READINGS:
            if what in gpu.failed:
                continue
            budget = gpu.budgets.setdefault(what, Budget()) if expensive else None
            if budget is not None and not budget.due(self._last_sample_s):
                continue
            started_cpu_s = time.thread_time()
            try:
                values = read(nvml, gpu.handle)
            except nvml.NVMLError as error:
                gpu.failed.add(what)  # asked once: not supported now is not supported later
                self._note(f"gpu{gpu.index} {what} not recorded ({type(error).__name__}: {error})")
                continue
            if budget is not None:
                budget.spent(self._last_sample_s, time.thread_time() - started_cpu_s)
            row.update((gpu.prefix + name, value) for name, value in values.items())
        if gpu.gpm is not None:
            row.update((gpu.prefix + name, value) for name, value in gpu.gpm.sample(self._last_sample_s).items())
        if "clock event reasons" not in gpu.failed:
            try:
                bitmask = read_clock_event_reasons(nvml, gpu.handle)
            except nvml.NVMLError as error:
                gpu.failed.add("clock event reasons")
                self._note(f"gpu{gpu.index} throttle reasons not recorded ({type(error).__name__}: {error})")
            else:
                tag = f"gpu{gpu.index}:" if len(self._gpus) > 1 else ""
                with self._lock:
                    for name in decode_clock_event_reasons(bitmask):
                        self._throttle_reasons.setdefault(tag + name, None)

    def _append(self, t_s: float, row: dict[str, float]) -> None:
        """Add one sample; every series stays aligned with t_s (None where not recorded)."""
        count = len(self._t_s)
        self._t_s.append(t_s)
        for name, values in self._series.items():
            values.append(row.pop(name, None))
        for name, value in row.items():  # first recorded in this sample
            self._series[name] = [None] * count + [value]
