"""Preflight: how busy the machine is before the first case, and what this process may use.

A timing taken while another program runs is not a measurement of this machine: on a
2-core VM one busy process makes every OpenMP parallel region wait for a descheduled thread,
and torch timings get 10-100x slower while the rounds still agree with each other. The
preflight reads, over about a second, the CPU time every core spent busy less this process
tree's, and the GPU processes that are not ours; the sweep stores it in
`machine_info["cifarbench"]["preflight"]` and says it loudly when the machine is not quiet.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from bench.sampling.cpu import busy_and_total_seconds, kernel_seconds
from bench.trust import THRESHOLDS

log = logging.getLogger("cifarbench.preflight")
PREFLIGHT_SECONDS = 1.0


@dataclass(frozen=True)
class Preflight:
    other_cpu_pct: float  # percent of one core used by processes outside this process tree
    seconds: float  # length of the window it was read over
    usable_cores: int  # cores this process may run on (affinity)
    cpu_quota_cores: float | None  # the cgroup's CPU limit in cores, None without one
    load_avg_1m: float | None
    busiest_others: list[str]  # "name (pid): N% of a core", the top few
    gpu_other_processes: list[str]  # "pid N on GPU i: M MiB" of processes that are not ours
    quiet: bool
    message: str
    steal_cpu_pct: float | None = None  # the part of other_cpu_pct the hypervisor gave to other guests

    def as_dict(self) -> dict:
        return asdict(self)


def _tree_busy_seconds(process: psutil.Process) -> float:
    total = 0.0
    for member in [process, *process.children(recursive=True)]:
        try:
            times = member.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        total += times.user + times.system
    return total


def _machine_seconds() -> tuple[float, tuple[float, float] | None]:
    """Busy seconds of every core together, and (steal, irq) seconds: one read of the counters,
    counted as the sampler counts them (bench.sampling.cpu)."""
    cores = psutil.cpu_times(percpu=True)
    return math.fsum(busy_and_total_seconds(core)[0] for core in cores), kernel_seconds(cores)


def cpu_quota_cores(cgroup_root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The cgroup v2 CPU limit of this process in cores (`cpu.max`), None when unlimited or unknown."""
    try:
        quota, period = (cgroup_root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def _busiest_others(own_pids: set[int], seconds: float, before: dict[int, float]) -> list[str]:
    rates = []
    for process in psutil.process_iter(["name"]):
        if process.pid in own_pids or process.pid not in before:
            continue
        try:
            times = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        pct = 100.0 * (times.user + times.system - before[process.pid]) / seconds
        if pct >= 5.0:
            rates.append((pct, f"{process.info['name']} (pid {process.pid}): {pct:.0f}% of a core"))
    return [text for _, text in sorted(rates, reverse=True)[:3]]


def _process_times() -> dict[int, float]:
    times = {}
    for process in psutil.process_iter():
        try:
            cpu = process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        times[process.pid] = cpu.user + cpu.system
    return times


def gpu_other_processes(own_pid: int) -> list[str]:
    """Compute processes on any GPU that are not this one, through NVML (empty without NVML)."""
    try:
        import pynvml
        pynvml.nvmlInit()
    except Exception as error:  # no library, no driver: no GPU to share
        log.info("no NVML for the preflight: %s", error)
        return []
    others = []
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        try:
            processes = pynvml.nvmlDeviceGetComputeRunningProcesses(handle)
        except pynvml.NVMLError as error:
            log.info("GPU %d processes not readable: %s", index, error)
            continue
        for process in processes:
            if process.pid != own_pid:
                used = getattr(process, "usedGpuMemory", None)
                memory = f"{used / 2**20:.0f} MiB" if isinstance(used, int) else "memory unknown"
                others.append(f"pid {process.pid} on GPU {index}: {memory}")
    return others


def run_preflight(seconds: float = PREFLIGHT_SECONDS, usable_cores: int | None = None,
                  pid: int | None = None) -> Preflight:
    """Read the machine for `seconds` while this process waits, and judge whether it is quiet.

    `pid`: the process whose tree counts as the sweep's own (default: this one).
    """
    me = psutil.Process(pid)
    own_pids = {me.pid, *(child.pid for child in me.children(recursive=True))}
    processes_before = _process_times()
    (machine_before, kernel_before), tree_before = _machine_seconds(), _tree_busy_seconds(me)
    started = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - started
    (machine_after, kernel_after), tree_after = _machine_seconds(), _tree_busy_seconds(me)
    steal_pct = (max(100.0 * (kernel_after[0] - kernel_before[0]) / elapsed, 0.0)
                 if kernel_before is not None and kernel_after is not None else None)
    other_pct = max(100.0 * ((machine_after - machine_before) - (tree_after - tree_before)) / elapsed, 0.0)
    busiest = _busiest_others(own_pids, elapsed, processes_before)
    gpu_others = gpu_other_processes(me.pid)
    cores = usable_cores if usable_cores is not None else len(os.sched_getaffinity(0))
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = None
    quiet = other_pct < THRESHOLDS.noisy_other_cpu_pct and not gpu_others
    if quiet:
        message = (f"preflight: the machine is quiet (other processes used {other_pct:.0f}% of a core "
                   f"over {elapsed:.1f} s); {cores} usable cores")
    else:
        parts = []
        if other_pct >= THRESHOLDS.noisy_other_cpu_pct:
            parts.append(f"other processes are using {other_pct / 100:.1f} cores"
                         + (f" ({'; '.join(busiest)})" if busiest else ""))
            if steal_pct is not None and steal_pct >= other_pct / 2:
                parts.append(f"{steal_pct / 100:.1f} cores of it are steal (the hypervisor gives this VM's "
                             "cores to other guests: another host, not fewer programs, is the fix)")
        if gpu_others:
            parts.append(f"other processes are on the GPU ({'; '.join(gpu_others)})")
        message = f"preflight: the machine is NOT quiet: {', '.join(parts)}; figures will be flagged"
    return Preflight(
        other_cpu_pct=other_pct, seconds=elapsed, usable_cores=cores, cpu_quota_cores=cpu_quota_cores(),
        load_avg_1m=load, busiest_others=busiest, gpu_other_processes=gpu_others, quiet=quiet,
        message=message, steal_cpu_pct=steal_pct,
    )
