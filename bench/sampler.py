"""Utilization sampled in a background thread while a case's timed rounds run.

`Sampler` is a context manager: it takes its baselines on entry (CPU time counters, the
GPUs' energy counters), samples every `interval_s` seconds in a daemon thread, and on exit
stops and joins that thread, whatever happened inside the block.

- CPU (psutil): system-wide and per-core busy percent, the benchmark process's CPU percent
  and RSS, and its descendants' (DataLoader workers') CPU percent and count. Percents are
  computed here from psutil's time counters, not with `psutil.cpu_percent`: one read of the
  counters per sample serves the system and every core, needs no per-thread priming, and is
  not rounded (psutil rounds to 0.1). Process percents are of one core, as `top` shows them
  (a process busy on 4 cores reads 400); system and per-core percents are of their cores.
  `other_cpu_pct` is what processes outside this process tree used (percent of one core):
  the evidence that another program competed with the case for the cores.
- GPU (NVML through `pynvml`, from nvidia-ml-py): utilization, memory, power, SM clock,
  temperature, PCIe throughput, clock event (throttle) reasons, and the energy counter's
  delta over the whole window. `gpu_indices` number GPUs as CUDA does in this process;
  they are translated through `CUDA_VISIBLE_DEVICES` to NVML's numbering (which ignores it).
  `CUDA_DEVICE_ORDER=PCI_BUS_ID` makes CUDA's order NVML's on machines with mixed GPUs.

What cannot be measured (no pynvml, no driver, a metric this GPU does not support) is left
out, logged once per process on the `cifarbench.sampler` logger and listed in
`extra()["sampler"]["notes"]`; the sampler never raises into the case.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import psutil

MIB = 2**20
THREAD_NAME = "cifarbench-sampler"
# Listing a process's descendants can cost milliseconds (psutil, where the kernel does not
# keep lists of children, reads /proc/<pid>/stat of every process: 1.2 ms with 76 of them),
# and NVML's PCIe throughput counts bytes over a 20 ms window. Each is done at most as often
# as keeps it under this share of one core; in between, the known workers are still read
# every sample, and new ones are found at the next listing.
EXPENSIVE_READ_CPU_SHARE = 0.0025
BUSY_CORE_PCT = 50.0  # a core counts in `cpu_cores_busy` above this

# NVML clock event ("throttle") reason bits, from nvml.h. GPU idle (0x1) is left out: an
# idle GPU lowering its clocks is not a limit on the work.
CLOCK_EVENT_REASONS = {
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
    0x200: "board_limit",
    0x400: "reliability",
}
CLOCK_EVENT_GPU_IDLE = 0x1

log = logging.getLogger("cifarbench.sampler")
_logged: set[str] = set()
_logged_lock = threading.Lock()


def _log_once(reason: str) -> None:
    """Log `reason` the first time this process meets it: cases repeat, the log should not."""
    with _logged_lock:
        if reason in _logged:
            return
        _logged.add(reason)
    log.warning("%s", reason)


class _Nvml:
    """NVML, initialized on first use and once per process (never shut down per case)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._tried = False
        self.module = None
        self.error: str | None = None

    def get(self):
        """The initialized `pynvml` module, or None with `self.error` saying why."""
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    import pynvml  # here, not at the top: only cases that use a GPU need it
                except Exception as error:  # ImportError, or a warning made an error on import
                    self.error = (f"GPU metrics not recorded: pynvml is not importable "
                                  f"({type(error).__name__}: {error})")
                else:
                    try:
                        pynvml.nvmlInit()
                    except Exception as error:  # NVMLError, or OSError from a broken library
                        self.error = (f"GPU metrics not recorded: nvmlInit failed "
                                      f"({type(error).__name__}: {error})")
                    else:
                        self.module = pynvml
            return self.module


_NVML = _Nvml()


def images_per_joule(images: float, energy_j: float | None) -> float | None:
    """Images per joule of GPU energy; None when no energy was measured (or none counted)."""
    if energy_j is None or energy_j <= 0:
        return None
    return images / energy_j


def decode_clock_event_reasons(bitmask: int) -> list[str]:
    """Readable names of the bits set in an NVML clock event reasons mask, GPU idle left out."""
    names = []
    for bit in range(bitmask.bit_length()):
        flag = 1 << bit
        if bitmask & flag and flag != CLOCK_EVENT_GPU_IDLE:
            names.append(CLOCK_EVENT_REASONS.get(flag, f"unknown_{flag:#x}"))
    return names


def _busy_and_total_seconds(times) -> tuple[float, float]:
    """Busy and total seconds of one psutil CPU times tuple, counted as psutil counts them."""
    # Linux counts guest time inside user and nice already, and iowait outside idle.
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def _busy_pct(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    total_s = after[1] - before[1]
    if total_s <= 0:
        return None
    # Clamped: some kernels let single counters step backwards by a tick.
    return 100.0 * min(max(after[0] - before[0], 0.0), total_s) / total_s


def _process_busy_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system  # the process's own time; its children are read apart


def _percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarize(values: Sequence[float]) -> dict:
    """mean, p50, p95, max and n of a non-empty series."""
    ordered = sorted(values)
    return {
        "mean": math.fsum(ordered) / len(ordered),
        "p50": _percentile(ordered, 0.50),
        "p95": _percentile(ordered, 0.95),
        "max": ordered[-1],
        "n": len(ordered),
    }


def downsample_indices(count: int, max_points: int) -> list[int]:
    """At most `max_points` evenly spaced indices into `count` points, first and last kept.

    Picks, not bucket means: each point of the timeline stays a real sample at its real time,
    and peaks are in the summary's max.
    """
    if count <= max_points:
        return list(range(count))
    return [round(i * (count - 1) / (max_points - 1)) for i in range(max_points)]


class _Budget:
    """When an expensive read is next due, so that it costs at most `cpu_share` of one core."""

    def __init__(self, cpu_share: float | None = None):
        self._cpu_share = EXPENSIVE_READ_CPU_SHARE if cpu_share is None else cpu_share
        self._due_s = -math.inf

    def due(self, now_s: float) -> bool:
        return now_s >= self._due_s

    def spent(self, now_s: float, cpu_seconds: float) -> None:
        self._due_s = now_s + cpu_seconds / self._cpu_share


@dataclass
class _Tracked:
    process: psutil.Process
    busy_s: float | None = None  # None until the first read: its first delta is next sample's
    read_s: float = 0.0


def descendant_pids(pid: int, proc: str = "/proc") -> list[int]:
    """Every descendant of `pid`, from the kernel's lists of each thread's children.

    One small file per thread of the process tree, where psutil's `children()` reads one per
    process on the machine (thousands, kernel threads included, on a large GPU server).
    Linux with CONFIG_PROC_CHILDREN only: see `PROC_CHILDREN`.
    """
    found: list[int] = []
    seen = {pid}
    parents = [pid]
    while parents:
        parent = parents.pop()
        try:
            tids = os.listdir(f"{proc}/{parent}/task")
        except OSError:  # exited since it was listed
            continue
        for tid in tids:
            try:
                with open(f"{proc}/{parent}/task/{tid}/children", "rb") as file:
                    children = [int(word) for word in file.read().split()]
            except OSError:  # the thread exited
                continue
            for child in children:
                if child not in seen:
                    seen.add(child)
                    found.append(child)
                    parents.append(child)
    return found


PROC_CHILDREN = os.path.exists(f"/proc/self/task/{threading.get_native_id()}/children")


def _descendants_lister(process: psutil.Process) -> Callable[[], list[int]]:
    if PROC_CHILDREN:
        return lambda: descendant_pids(process.pid)

    def psutil_descendants() -> list[int]:
        try:
            return [child.pid for child in process.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is a NoSuchProcess
            return []

    return psutil_descendants


class _Workers:
    """The descendants of one process (DataLoader workers), followed by pid across samples.

    Linux hands out pids in sequence: a pid seen again at the next listing is the same worker.
    """

    def __init__(self, list_pids: Callable[[], Iterable[int]],
                 open_process: Callable[[int], psutil.Process] = psutil.Process):
        self._list_pids = list_pids
        self._open_process = open_process
        self._tracked: dict[int, _Tracked] = {}
        self._budget = _Budget()

    def relist_if_due(self, now_s: float) -> None:
        if not self._budget.due(now_s):
            return
        started_cpu_s = time.thread_time()
        tracked = {}
        for pid in self._list_pids():
            known = self._tracked.get(pid)
            if known is None:
                try:
                    known = _Tracked(self._open_process(pid))
                except (psutil.NoSuchProcess, psutil.AccessDenied):  # gone already
                    continue
            tracked[pid] = known
        self._tracked = tracked
        self._budget.spent(now_s, time.thread_time() - started_cpu_s)

    def read(self, now_s: float) -> tuple[int, float]:
        """(live workers, their summed CPU percent of one core since the last sample)."""
        total_pct = 0.0
        for pid, worker in list(self._tracked.items()):
            try:
                busy_s = _process_busy_seconds(worker.process)
            except (psutil.NoSuchProcess, psutil.AccessDenied):  # exited between samples
                del self._tracked[pid]
                continue
            if worker.busy_s is not None and now_s > worker.read_s:
                total_pct += 100.0 * max(busy_s - worker.busy_s, 0.0) / (now_s - worker.read_s)
            worker.busy_s, worker.read_s = busy_s, now_s
        return len(self._tracked), total_pct


def _read_utilization(nvml, handle) -> dict[str, float]:
    rates = nvml.nvmlDeviceGetUtilizationRates(handle)
    return {"util_pct": float(rates.gpu), "mem_util_pct": float(rates.memory)}


def _read_memory(nvml, handle) -> dict[str, float]:
    return {"mem_used_mib": nvml.nvmlDeviceGetMemoryInfo(handle).used / MIB}


def _read_power(nvml, handle) -> dict[str, float]:
    return {"power_w": nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0}  # NVML gives mW


def _read_sm_clock(nvml, handle) -> dict[str, float]:
    return {"sm_clock_mhz": float(nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM))}


def _read_temperature(nvml, handle) -> dict[str, float]:
    return {"temp_c": float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))}


def _read_pcie(nvml, handle) -> dict[str, float]:
    # NVML gives KB/s (1024 bytes), counted over its own 20 ms window.
    tx = nvml.nvmlDeviceGetPcieThroughput(handle, nvml.NVML_PCIE_UTIL_TX_BYTES)
    rx = nvml.nvmlDeviceGetPcieThroughput(handle, nvml.NVML_PCIE_UTIL_RX_BYTES)
    return {"pcie_tx_mib_per_sec": tx / 1024.0, "pcie_rx_mib_per_sec": rx / 1024.0}


def _read_clock_event_reasons(nvml, handle) -> int:
    read = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
    if read is not None:
        try:
            return read(handle)
        except nvml.NVMLError_FunctionNotFound:  # bindings newer than the driver
            pass
    return nvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle)


# (what, how to read it, whether it is an expensive read kept under the CPU budget)
GPU_READINGS: tuple[tuple[str, Callable, bool], ...] = (
    ("utilization", _read_utilization, False),
    ("memory used", _read_memory, False),
    ("power", _read_power, False),
    ("SM clock", _read_sm_clock, False),
    ("temperature", _read_temperature, False),
    ("PCIe throughput", _read_pcie, True),
)


def _nvml_handle(nvml, cuda_index: int):
    """NVML's handle for CUDA device `cuda_index` of this process (see the module docstring)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return nvml.nvmlDeviceGetHandleByIndex(cuda_index)
    entries = [entry.strip() for entry in visible.split(",") if entry.strip()]
    if cuda_index >= len(entries):
        raise LookupError(f"CUDA_VISIBLE_DEVICES={visible!r} has no device {cuda_index}")
    entry = entries[cuda_index]
    if entry.isdigit():
        return nvml.nvmlDeviceGetHandleByIndex(int(entry))
    if entry.startswith("GPU-"):
        return nvml.nvmlDeviceGetHandleByUUID(entry)
    raise LookupError(f"CUDA_VISIBLE_DEVICES entry {entry!r} cannot be matched to an NVML device")


@dataclass
class _Gpu:
    index: int
    handle: object
    prefix: str
    failed: set[str] = field(default_factory=set)
    budgets: dict[str, _Budget] = field(default_factory=dict)
    energy_start_mj: float | None = None
    energy_end_mj: float | None = None


class Sampler:
    """Samples CPU and GPU utilization every `interval_s` seconds between start and stop.

    `gpu_indices`: the CUDA devices the case uses (none: CPU metrics only). `pid`: the
    process to follow with its descendants (default: this one). `max_points`: the most
    points per metric that `timeline()` returns. One sampler covers one window.
    """

    def __init__(self, interval_s: float = 0.1, gpu_indices: Sequence[int] = (), pid: int | None = None,
                 max_points: int = 200):
        if not interval_s > 0:
            raise ValueError(f"interval_s must be a positive number of seconds, not {interval_s}")
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2 (first and last), not {max_points}")
        self.interval_s = interval_s
        self.gpu_indices = list(gpu_indices)
        self.pid = os.getpid() if pid is None else pid
        self.max_points = max_points
        self._lock = threading.Lock()  # the series and notes, written by the thread, read by callers
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._t_s: list[float] = []
        self._series: dict[str, list[float | None]] = {}
        self._notes: list[str] = []
        self._throttle_reasons: dict[str, None] = {}  # insertion-ordered set
        self._nvml = None
        self._gpus: list[_Gpu] = []
        self._process: psutil.Process | None = None
        self._workers: _Workers | None = None
        self._start_s = 0.0
        self._last_sample_s = 0.0
        self._cpu_last: list[tuple[float, float]] = []
        self._process_last: tuple[float, float] | None = None
        self._thread_cpu_seconds: float | None = None
        self._thread_wall_seconds: float | None = None
        self._sampling_wall_seconds = 0.0

    # -- lifecycle -----------------------------------------------------------------------

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
        self._start_cpu()
        self._start_s = self._last_sample_s = time.perf_counter()
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and join the sampling thread, then read the energy counters. Idempotent."""
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

    # -- results -------------------------------------------------------------------------

    def summary(self) -> dict:
        """{metric: {"mean", "p50", "p95", "max", "n"}} over the samples that recorded it."""
        with self._lock:
            columns = {name: [v for v in values if v is not None] for name, values in self._series.items()}
        return {name: summarize(values) for name, values in columns.items() if values}

    def timeline(self) -> dict:
        """{"t_s": seconds since start, metric: values (None where not recorded)}, downsampled."""
        with self._lock:
            picks = downsample_indices(len(self._t_s), self.max_points)
            timeline = {"t_s": [self._t_s[i] for i in picks]}
            for name, values in self._series.items():
                if any(value is not None for value in values):
                    timeline[name] = [values[i] for i in picks]
        return timeline

    def extra(self) -> dict:
        """Energy over the window, throttle reasons seen, and the sampler's own facts and cost."""
        with self._lock:
            cpu_s, wall_s = self._thread_cpu_seconds, self._thread_wall_seconds
            return {
                "energy_j": self._energy_j(),
                "throttle_reasons": list(self._throttle_reasons),
                "sampler": {
                    "interval_s": self.interval_s,
                    "samples": len(self._t_s),
                    "gpu_indices": list(self.gpu_indices),
                    "gpu_available": bool(self._gpus),
                    "notes": list(self._notes),
                    "thread_cpu_seconds": cpu_s,
                    "wall_seconds": wall_s,
                    "thread_cpu_pct_of_one_core": (100.0 * cpu_s / wall_s) if cpu_s is not None and wall_s
                    else None,
                    "sampling_wall_seconds": self._sampling_wall_seconds,
                },
            }

    def _energy_j(self) -> float | None:
        # A sum over part of the GPUs would read as the whole: all of them, or none.
        if not self._gpus or any(g.energy_start_mj is None or g.energy_end_mj is None for g in self._gpus):
            return None
        return math.fsum(g.energy_end_mj - g.energy_start_mj for g in self._gpus) / 1000.0  # mJ -> J

    # -- internals -----------------------------------------------------------------------

    def _note(self, reason: str) -> None:
        with self._lock:
            if reason not in self._notes:
                self._notes.append(reason)
        _log_once(reason)

    def _start_gpus(self) -> None:
        if not self.gpu_indices:
            return
        nvml = _NVML.get()
        if nvml is None:
            self._note(_NVML.error or "GPU metrics not recorded: NVML unavailable")
            return
        self._nvml = nvml
        several = len(self.gpu_indices) > 1
        for index in self.gpu_indices:
            try:
                handle = _nvml_handle(nvml, index)
            except (nvml.NVMLError, LookupError) as error:
                self._note(f"gpu{index} metrics not recorded: no NVML handle "
                           f"({type(error).__name__}: {error})")
                continue
            gpu = _Gpu(index=index, handle=handle, prefix=f"gpu{index}_" if several else "gpu_")
            gpu.energy_start_mj = self._read_energy_mj(gpu)
            self._gpus.append(gpu)

    def _read_energy_mj(self, gpu: _Gpu) -> float | None:
        if "energy" in gpu.failed:
            return None
        try:
            return float(self._nvml.nvmlDeviceGetTotalEnergyConsumption(gpu.handle))
        except self._nvml.NVMLError as error:
            gpu.failed.add("energy")
            self._note(f"gpu{gpu.index} energy not recorded ({type(error).__name__}: {error})")
            return None

    def _start_cpu(self) -> None:
        self._cpu_last = [_busy_and_total_seconds(t) for t in psutil.cpu_times(percpu=True)]
        try:
            self._process = psutil.Process(self.pid)
            self._process_last = (_process_busy_seconds(self._process), time.perf_counter())
        except (psutil.NoSuchProcess, psutil.AccessDenied) as error:
            self._process = None
            self._note(f"process metrics not recorded: pid {self.pid} ({type(error).__name__})")
            return
        self._workers = _Workers(_descendants_lister(self._process))
        now_s = time.perf_counter()
        self._workers.relist_if_due(now_s)
        self._workers.read(now_s)  # baselines: a worker's first delta is the next sample's

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
            with _logged_lock:
                first = reason not in _logged
                _logged.add(reason)
            if first:
                log.exception("%s", reason)  # with the traceback, once
            with self._lock:
                self._notes.append(reason)
        finally:
            cpu_s, wall_s = time.thread_time() - started_cpu_s, time.perf_counter() - started_wall_s
            with self._lock:
                self._thread_cpu_seconds, self._thread_wall_seconds = cpu_s, wall_s

    def _sample(self) -> None:
        began_s = time.perf_counter()
        row: dict[str, float] = {}
        self._sample_cpu(row)
        for gpu in self._gpus:
            self._sample_gpu(gpu, row)
        now_s = time.perf_counter()
        with self._lock:
            self._append(self._last_sample_s - self._start_s, row)
            self._sampling_wall_seconds += now_s - began_s

    def _sample_cpu(self, row: dict[str, float]) -> None:
        cpu_now = [_busy_and_total_seconds(t) for t in psutil.cpu_times(percpu=True)]
        now_s = time.perf_counter()
        self._last_sample_s = now_s
        # A core taken offline or brought online changes the list: no deltas this sample.
        pairs = list(zip(self._cpu_last, cpu_now, strict=True)) if len(cpu_now) == len(self._cpu_last) else []
        self._cpu_last = cpu_now
        cores = [pct for pct in (_busy_pct(a, b) for a, b in pairs) if pct is not None]
        system_pct = _busy_pct((math.fsum(a[0] for a, _ in pairs), math.fsum(a[1] for a, _ in pairs)),
                               (math.fsum(b[0] for _, b in pairs), math.fsum(b[1] for _, b in pairs)))
        if system_pct is not None:
            row["cpu_pct"] = system_pct
        if cores:
            row["cpu_core_pct_max"] = max(cores)
            row["cpu_core_pct_mean"] = math.fsum(cores) / len(cores)
            row["cpu_cores_busy"] = float(sum(pct > BUSY_CORE_PCT for pct in cores))
        if self._process is None:
            return
        try:
            busy_s = _process_busy_seconds(self._process)
            rss_bytes = self._process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied) as error:
            self._note(f"process metrics stopped: pid {self.pid} ({type(error).__name__})")
            self._process = None
            return
        last_busy_s, last_s = self._process_last
        if now_s > last_s:
            row["proc_cpu_pct"] = 100.0 * max(busy_s - last_busy_s, 0.0) / (now_s - last_s)
        self._process_last = (busy_s, now_s)
        row["proc_rss_mib"] = rss_bytes / MIB
        self._workers.relist_if_due(now_s)
        count, workers_pct = self._workers.read(now_s)
        row["workers_count"] = float(count)
        row["workers_cpu_pct"] = workers_pct
        if system_pct is not None and "proc_cpu_pct" in row:
            # What the rest of the machine used, in percent of one core: every core's busy
            # time less this process tree's. Counters are read microseconds apart, so the
            # difference can dip below zero by a rounding; clamped.
            machine_pct = system_pct * len(pairs)
            row["other_cpu_pct"] = max(machine_pct - row["proc_cpu_pct"] - workers_pct, 0.0)

    def _sample_gpu(self, gpu: _Gpu, row: dict[str, float]) -> None:
        nvml = self._nvml
        for what, read, expensive in GPU_READINGS:
            if what in gpu.failed:
                continue
            budget = gpu.budgets.setdefault(what, _Budget()) if expensive else None
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
        if "clock event reasons" not in gpu.failed:
            try:
                bitmask = _read_clock_event_reasons(nvml, gpu.handle)
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
