"""CPU counters: the machine's cores, one process, and its descendants (DataLoader workers).

Percents are computed here from psutil's time counters, not with `psutil.cpu_percent`: one
read of the counters per sample serves the system and every core, needs no per-thread
priming, and is not rounded (psutil rounds to 0.1). Process percents are of one core, as
`top` shows them (a process busy on 4 cores reads 400); system and per-core percents are of
their cores. `other_cpu_pct` is what processes outside the followed process tree used
(percent of one core): the evidence that another program competed with the case for the cores.
Two parts of it belong to no process and are recorded apart, in percent of one core:
`steal_cpu_pct`, time the hypervisor gave these cores to other guests (a cloud VM's noisy
neighbour), and `irq_cpu_pct`, the kernel's interrupt work (irq and softirq).

The tree's CPU is counted whole, whenever its processes are listed: the process's own time,
every listed descendant's time since it started (with its own reaped children), and the time
of descendants already reaped (the kernel adds it to the parent's `children_*` times when it
waits for them). A DataLoader worker that starts and exits between two listings (listing is
budgeted, and the tutorial's loaders start fresh workers every epoch) still counts as the
tree's, in the sample where it is reaped, not as another program's. A sample can thus lump
a worker's earlier seconds in (and the samples before it show them as another program's);
the window's means of `workers_cpu_pct` and `other_cpu_pct` (`window_means`) come from the
counters at the window's two ends and are exact.

How finely `other_cpu_pct` is known: the kernel charges each core's time by clock ticks (10 ms
at USER_HZ 100), so a core's busy time over a window is a count of ticks, off by up to a tick
at each end and, for a core busy part of the time, a sample of its state at each tick. The
process tree's own time is exact. `other_cpu_resolution_pct` is two standard deviations of
that count over all cores, in percent of one core: on the H200 lease's 16 cores, a loader case
timed over 10 ms read "other processes used 125% of a core" from this noise alone.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import psutil

from bench.sampling.budget import EXPENSIVE_READ_CPU_SHARE, Budget

MIB = 2**20
TICK_SECONDS = 1.0 / (os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100)
BUSY_CORE_PCT = 50.0  # a core counts in `cpu_cores_busy` above this
CPU_METRICS = ("cpu_pct", "cpu_core_pct_max", "cpu_core_pct_mean", "cpu_cores_busy", "proc_cpu_pct",
               "proc_rss_mib", "workers_cpu_pct", "workers_count", "other_cpu_pct", "steal_cpu_pct",
               "irq_cpu_pct")

Lister = Callable[[psutil.Process], Callable[[], list[int]]]


def busy_and_total_seconds(times) -> tuple[float, float]:
    """Busy and total seconds of one psutil CPU times tuple, counted as psutil counts them."""
    # Linux counts guest time inside user and nice already, and iowait outside idle.
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0), total


def kernel_seconds(cores) -> tuple[float, float] | None:
    """(steal, irq + softirq) seconds summed over psutil's per-core CPU times; None where the
    platform does not report them. Both count as busy, and neither belongs to a process: steal
    is time the hypervisor gave these cores to other guests (a noisy neighbour on a cloud VM),
    irq and softirq the kernel's interrupt work (devices, network, timers)."""
    if not cores or not hasattr(cores[0], "steal"):
        return None
    return (math.fsum(core.steal for core in cores),
            math.fsum(getattr(core, "irq", 0.0) + getattr(core, "softirq", 0.0) for core in cores))


def busy_pct(before: tuple[float, float], after: tuple[float, float]) -> float | None:
    """Busy percent between two (busy, total) readings; None when no time passed."""
    total_s = after[1] - before[1]
    if total_s <= 0:
        return None
    # Clamped: some kernels let single counters step backwards by a tick.
    return 100.0 * min(max(after[0] - before[0], 0.0), total_s) / total_s


def reaped_children_seconds(times) -> float:
    """User and system seconds of the children a process has waited for (0 where not reported)."""
    return getattr(times, "children_user", 0.0) + getattr(times, "children_system", 0.0)


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


def kernel_lister(process: psutil.Process) -> Callable[[], list[int]]:
    """Lists `process`'s descendants from /proc/<pid>/task/<tid>/children (Linux)."""
    return lambda: descendant_pids(process.pid)


def psutil_lister(process: psutil.Process) -> Callable[[], list[int]]:
    """Lists `process`'s descendants with psutil (every platform; slower on large machines)."""

    def psutil_descendants() -> list[int]:
        try:
            return [child.pid for child in process.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is a NoSuchProcess
            return []

    return psutil_descendants


def default_lister(process: psutil.Process) -> Callable[[], list[int]]:
    """The kernel's children lists where this kernel keeps them, else psutil."""
    return (kernel_lister if PROC_CHILDREN else psutil_lister)(process)


def tick_resolution_pct(cores_start: Sequence[tuple[float, float]], cores_end: Sequence[tuple[float, float]],
                        window_s: float, tick_s: float = TICK_SECONDS) -> float:
    """Two standard deviations of the cores' tick-counted busy seconds between two readings of
    (busy, total) seconds per core, in percent of one core over `window_s` (module docstring)."""
    variance_ticks2 = 0.0
    for (busy0, total0), (busy1, total1) in zip(cores_start, cores_end, strict=True):
        ticks = (total1 - total0) / tick_s
        busy_share = min(max((busy1 - busy0) / (total1 - total0), 0.0), 1.0) if total1 > total0 else 0.0
        # Sampling at each tick (binomial), plus a tick's rounding at each end (uniform).
        variance_ticks2 += ticks * busy_share * (1.0 - busy_share) + 2.0 / 12.0
    return 100.0 * 2.0 * math.sqrt(variance_ticks2) * tick_s / window_s


class Workers:
    """The descendants of one process (DataLoader workers), followed by pid across samples.

    Linux hands out pids in sequence: a pid seen again at the next listing is the same worker.
    """

    def __init__(self, list_pids: Callable[[], Iterable[int]],
                 open_process: Callable[[int], psutil.Process] = psutil.Process,
                 budget: Budget | None = None):
        self._list_pids = list_pids
        self._open_process = open_process
        self._tracked: dict[int, psutil.Process] = {}
        self._budget = budget or Budget()

    def relist_if_due(self, now_s: float) -> None:
        """List the descendants again, if the listing's CPU budget allows it now."""
        if not self._budget.due(now_s):
            return
        started_cpu_s = time.thread_time()
        tracked = {}
        for pid in self._list_pids():
            known = self._tracked.get(pid)
            if known is None:
                try:
                    known = self._open_process(pid)
                except (psutil.NoSuchProcess, psutil.AccessDenied):  # gone already
                    continue
            tracked[pid] = known
        self._tracked = tracked
        self._budget.spent(now_s, time.thread_time() - started_cpu_s)

    def read(self) -> tuple[int, float]:
        """(live workers, their busy seconds since each started, with their reaped children).

        A worker that has exited is dropped: its seconds are its parent's reaped-children
        seconds from now on (`CpuCounters` reads the root's; a descendant's are in its own).
        """
        busy_s = 0.0
        for pid, worker in list(self._tracked.items()):
            try:
                times = worker.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):  # exited between samples
                del self._tracked[pid]
                continue
            busy_s += times.user + times.system + reaped_children_seconds(times)
        return len(self._tracked), busy_s


class CpuCounters:
    """The machine's cores and the process tree of `pid`, read once per sample.

    `start()` takes the baselines; each `read(row)` adds the percents since the previous
    read to `row`. `lister` chooses how descendants are found; `relist_cpu_share` is the
    share of one core their listing may cost. Problems are handed to `note`, never raised.
    """

    def __init__(self, pid: int, note: Callable[[str], None], lister: Lister = default_lister,
                 relist_cpu_share: float = EXPENSIVE_READ_CPU_SHARE):
        self.pid = pid
        self._note = note
        self._lister = lister
        self._relist_cpu_share = relist_cpu_share
        self._cores_last: list[tuple[float, float]] = []
        self._process: psutil.Process | None = None
        self._process_last: tuple[float, float] = (0.0, 0.0)
        self._workers: Workers | None = None
        self._descendants_last: tuple[float, float] = (0.0, 0.0)  # (busy seconds, perf_counter)
        # At the window's start and at the latest reading: every core's (busy, total) seconds,
        # and the process's and its descendants' busy seconds with the perf_counter time. The
        # window's exact means (`window_means`) and resolution come from these two ends.
        self._window_cores: tuple[list[tuple[float, float]], list[tuple[float, float]]] | None = None
        self._window_tree: tuple[tuple[float, float, float], tuple[float, float, float]] | None = None
        self._kernel_last: tuple[float, float] | None = None

    def start(self) -> None:
        """Baselines: every core's counters, the process's, and its current workers'."""
        raw = psutil.cpu_times(percpu=True)
        self._cores_last = [busy_and_total_seconds(t) for t in raw]
        self._kernel_last = kernel_seconds(raw)
        try:
            self._process = psutil.Process(self.pid)
            times = self._process.cpu_times()
        except (psutil.NoSuchProcess, psutil.AccessDenied) as error:
            self._process = None
            self._note(f"process metrics not recorded: pid {self.pid} ({type(error).__name__})")
            return
        now_s = time.perf_counter()
        self._process_last = (times.user + times.system, now_s)
        self._workers = Workers(self._lister(self._process), budget=Budget(self._relist_cpu_share))
        self._workers.relist_if_due(now_s)  # every descendant alive now: their past is before the window
        _, workers_busy_s = self._workers.read()
        self._descendants_last = (reaped_children_seconds(times) + workers_busy_s, now_s)
        self._window_cores = (self._cores_last, self._cores_last)
        start = (self._process_last[0], self._descendants_last[0], now_s)
        self._window_tree = (start, start)

    def window_means(self) -> dict[str, float]:
        """`workers_cpu_pct` and `other_cpu_pct` over the whole window so far, from the
        counters at its two ends: exact where per-sample values lump late-counted workers."""
        if self._window_cores is None or self._window_tree is None:
            return {}
        (process0, descendants0, t0), (process1, descendants1, t1) = self._window_tree
        if t1 <= t0:
            return {}
        start, end = self._window_cores
        machine_s = math.fsum(busy for busy, _ in end) - math.fsum(busy for busy, _ in start)
        workers_pct = 100.0 * max(descendants1 - descendants0, 0.0) / (t1 - t0)
        other_pct = 100.0 * max(machine_s - (process1 - process0) - (descendants1 - descendants0), 0.0) / (t1 - t0)
        return {"workers_cpu_pct": workers_pct, "other_cpu_pct": other_pct,
                "other_cpu_resolution_pct": tick_resolution_pct(start, end, t1 - t0)}

    def read(self, row: dict[str, float]) -> float:
        """Add this sample's CPU metrics to `row`; returns the perf_counter time of the reading."""
        raw = psutil.cpu_times(percpu=True)
        cores_now = [busy_and_total_seconds(t) for t in raw]
        kernel_now = kernel_seconds(raw)
        now_s = time.perf_counter()
        # A core taken offline or brought online changes the list: no deltas this sample.
        pairs = list(zip(self._cores_last, cores_now, strict=True)) if len(cores_now) == len(self._cores_last) else []
        self._cores_last = cores_now
        core_seconds = math.fsum(b[1] - a[1] for a, b in pairs) / len(pairs) if pairs else 0.0
        if kernel_now is not None and self._kernel_last is not None and core_seconds > 0:
            # Percent of one core, as for processes: seconds on all cores over one core's seconds.
            row["steal_cpu_pct"] = 100.0 * max(kernel_now[0] - self._kernel_last[0], 0.0) / core_seconds
            row["irq_cpu_pct"] = 100.0 * max(kernel_now[1] - self._kernel_last[1], 0.0) / core_seconds
        self._kernel_last = kernel_now
        cores = [pct for pct in (busy_pct(a, b) for a, b in pairs) if pct is not None]
        system_pct = busy_pct((math.fsum(a[0] for a, _ in pairs), math.fsum(a[1] for a, _ in pairs)),
                              (math.fsum(b[0] for _, b in pairs), math.fsum(b[1] for _, b in pairs)))
        if system_pct is not None:
            row["cpu_pct"] = system_pct
        if cores:
            row["cpu_core_pct_max"] = max(cores)
            row["cpu_core_pct_mean"] = math.fsum(cores) / len(cores)
            row["cpu_cores_busy"] = float(sum(pct > BUSY_CORE_PCT for pct in cores))
        if self._process is None:
            return now_s
        try:
            times = self._process.cpu_times()
            rss_bytes = self._process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied) as error:
            self._note(f"process metrics stopped: pid {self.pid} ({type(error).__name__})")
            self._process = None
            return now_s
        busy_s = times.user + times.system
        last_busy_s, last_s = self._process_last
        if now_s > last_s:
            row["proc_cpu_pct"] = 100.0 * max(busy_s - last_busy_s, 0.0) / (now_s - last_s)
        self._process_last = (busy_s, now_s)
        row["proc_rss_mib"] = rss_bytes / MIB
        self._workers.relist_if_due(now_s)
        count, workers_busy_s = self._workers.read()
        descendants_s = reaped_children_seconds(times) + workers_busy_s
        last_descendants_s, last_s = self._descendants_last
        self._descendants_last = (descendants_s, now_s)
        row["workers_count"] = float(count)
        if now_s > last_s:
            # Below zero for a sample when a worker has exited and is not reaped yet: clamped
            # here; the window's mean (`window_means`) is exact.
            row["workers_cpu_pct"] = 100.0 * max(descendants_s - last_descendants_s, 0.0) / (now_s - last_s)
        if system_pct is not None and "proc_cpu_pct" in row and "workers_cpu_pct" in row:
            # What the rest of the machine used, in percent of one core: every core's busy
            # time less this process tree's. A worker counted late (listed or reaped after it
            # ran) shows as another program's until then: clamped here, exact over the window.
            machine_pct = system_pct * len(pairs)
            row["other_cpu_pct"] = max(machine_pct - row["proc_cpu_pct"] - row["workers_cpu_pct"], 0.0)
        if self._window_cores is not None and len(cores_now) == len(self._window_cores[0]):  # same cores
            self._window_cores = (self._window_cores[0], cores_now)
            self._window_tree = (self._window_tree[0], (busy_s, descendants_s, now_s))
        return now_s
