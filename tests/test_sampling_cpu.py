"""The CPU side of the sampler: the process tree's descendants and their CPU, and the series statistics."""

from __future__ import annotations

import contextlib
import functools
import itertools
import subprocess
import sys
from types import SimpleNamespace

import psutil
import pytest

from bench.sampling import cpu
from bench.sampling.budget import Budget
from bench.sampling.cpu import (
    CpuCounters,
    Workers,
    descendant_pids,
    kernel_lister,
    psutil_lister,
    tick_resolution_pct,
)
from bench.sampling.stats import downsample_indices
from tests.sampler_helpers import make_sampler, run_for_samples, samples, wait_for


def busy_child_with_grandchild() -> subprocess.Popen:
    # Both loops end by themselves after 20 s should the cleanup below ever miss one.
    spin = "import time\nend = time.monotonic() + 20\nwhile time.monotonic() < end: pass\n"
    parent = f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {spin!r}])\n{spin}"
    return subprocess.Popen([sys.executable, "-c", parent])


def kill_tree(child: subprocess.Popen) -> None:
    try:
        descendants = psutil.Process(child.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        descendants = []
    for process in descendants:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    child.kill()


@pytest.mark.parametrize("lister", [
    pytest.param(kernel_lister, marks=pytest.mark.skipif(
        not cpu.PROC_CHILDREN, reason="this kernel keeps no /proc/<pid>/task/<tid>/children")),
    psutil_lister,
])
def test_workers_tracked_recursively_and_dropped_when_gone(lister):
    counters = functools.partial(CpuCounters, lister=lister, relist_cpu_share=1.0)  # list children every sample
    with busy_child_with_grandchild() as child:
        try:
            with make_sampler(cpu=counters) as sampler:
                wait_for(lambda: sampler.result().timeline.get("workers_count", [0])[-1] >= 2,
                         "child and grandchild tracked")
                wait_for(lambda: sampler.result().summary["workers_cpu_pct"]["max"] > 0, "worker CPU counted")
                kill_tree(child)
                child.wait()
                wait_for(lambda: sampler.result().timeline["workers_count"][-1] == 0, "vanished workers dropped")
                before = samples(sampler)
                wait_for(lambda: samples(sampler) >= before + 2, "sampling to go on")
        finally:
            kill_tree(child)
    assert sampler.result().summary["workers_count"]["max"] >= 2
    assert sampler.result().facts.notes == ()


def test_descendant_pids_from_the_kernels_children_lists(tmp_path):
    tree = {  # pid: {tid: children}
        100: {100: "200 201", 101: "300\n"},  # a child forked by another thread
        200: {200: "400"},
        300: {300: ""},
        400: {400: "100"},  # a loop (a reused pid) must not loop forever
    }  # 201 has exited: no /proc entry
    for pid, threads in tree.items():
        for tid, children in threads.items():
            (tmp_path / str(pid) / "task" / str(tid)).mkdir(parents=True)
            (tmp_path / str(pid) / "task" / str(tid) / "children").write_text(children)
    (tmp_path / "300" / "task" / "301").mkdir()  # a thread that exited: no children file
    assert sorted(descendant_pids(100, proc=str(tmp_path))) == [200, 201, 300, 400]
    assert descendant_pids(999, proc=str(tmp_path)) == []


class FakeProcess:
    def __init__(self, pid: int, user_s: float = 0.0, error: Exception | None = None, reaped_s: float = 0.0):
        self.pid = pid
        self.user_s = user_s
        self.reaped_s = reaped_s  # its own children's, once it waited for them
        self.error = error

    def cpu_times(self):
        if self.error is not None:
            raise self.error
        return SimpleNamespace(user=self.user_s, system=0.0, children_user=self.reaped_s, children_system=0.0)


def test_workers_are_read_whole_and_dropped_when_they_vanish_or_deny_access():
    processes = {pid: FakeProcess(pid, user_s=1.0) for pid in (11, 12, 13, 14)}
    listed = [11, 12, 13, 14, 15]  # 15 exits before it can be opened

    def open_process(pid):
        if pid not in processes:
            raise psutil.NoSuchProcess(pid)
        return processes[pid]

    workers = Workers(lambda: list(listed), open_process, budget=Budget(cpu_share=1.0))
    workers.relist_if_due(0.0)
    assert workers.read() == (4, pytest.approx(4.0))  # each one's seconds since it started

    processes[11].error = psutil.NoSuchProcess(11)
    processes[12].error = psutil.ZombieProcess(12)
    processes[13].error = psutil.AccessDenied(13)
    processes[14].user_s, processes[14].reaped_s = 1.5, 0.25  # with a child it waited for
    assert workers.read() == (1, pytest.approx(1.75))

    processes[16] = FakeProcess(16, user_s=7.0)  # listed late: its whole time counts
    listed[:] = [14, 16]
    workers.relist_if_due(2.0)
    assert workers.read() == (2, pytest.approx(8.75))


SPIN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


def test_a_worker_that_starts_and_exits_between_listings_is_ours_not_another_programs():
    """The tutorial's loaders start fresh workers every epoch; listing is budgeted. A child
    that ran and was reaped between two listings is the tree's CPU, not another program's."""
    never_again = functools.partial(CpuCounters, relist_cpu_share=1e-9)  # lists at the start only
    with make_sampler(cpu=never_again, interval_s=0.05) as sampler:
        wait_for(lambda: samples(sampler) >= 2, "2 samples")
        subprocess.run([sys.executable, "-c", SPIN.format(seconds=1.0)], check=True)  # about 1 s of one core
        before = samples(sampler)
        wait_for(lambda: samples(sampler) >= before + 2, "2 samples after the child was reaped")
    summary = sampler.result().summary
    assert sampler.result().timeline["workers_count"][-1] == 0  # never listed
    duration_s = summary["workers_cpu_pct"]["n"] * 0.05
    workers_cpu_s = summary["workers_cpu_pct"]["mean"] / 100.0 * duration_s
    assert workers_cpu_s > 0.8, summary["workers_cpu_pct"]  # the child's second of CPU, counted once reaped
    # Over the window (exact means from the counters at its ends), what the child used is not
    # another program's; the samples before it was reaped showed it as another program's.
    assert summary["other_cpu_pct"]["max"] > 50.0, summary["other_cpu_pct"]
    assert summary["other_cpu_pct"]["mean"] < 0.5 * summary["workers_cpu_pct"]["mean"], summary["other_cpu_pct"]


def test_downsample_indices():
    assert downsample_indices(0, 5) == []
    assert downsample_indices(3, 5) == [0, 1, 2]
    picks = downsample_indices(1000, 200)
    assert len(picks) == 200
    assert picks[0] == 0
    assert picks[-1] == 999
    assert {b - a for a, b in itertools.pairwise(picks)} <= {5, 6}  # evenly spread




def test_how_finely_other_cpu_is_known_from_tick_counted_cores():
    def cores(count, busy_share, seconds):
        return [(0.0, 0.0)] * count, [(busy_share * seconds, seconds)] * count

    # The H200 lease: 16 busy cores over a 10 ms loader window cannot resolve a core of "other".
    assert tick_resolution_pct(*cores(16, 1.0, 0.01), window_s=0.01, tick_s=0.01) == pytest.approx(
        200 * (16 / 6) ** 0.5)
    # Two busy cores over a second: about a percent (only the ends' rounding).
    assert tick_resolution_pct(*cores(2, 1.0, 1.0), window_s=1.0, tick_s=0.01) == pytest.approx(
        2 * (2 / 6) ** 0.5)
    # Cores busy half the time are sampled at each tick: 16 of them over a second, about 40%.
    assert tick_resolution_pct(*cores(16, 0.5, 1.0), window_s=1.0, tick_s=0.01) == pytest.approx(
        2 * (16 * (25 + 1 / 6)) ** 0.5)


def test_a_sampler_window_says_how_finely_its_other_cpu_is_known():
    short = run_for_samples(make_sampler(interval_s=0.01), count=1).result()
    long = run_for_samples(make_sampler(interval_s=0.05), count=10).result()
    assert short.other_cpu_resolution_pct > long.other_cpu_resolution_pct > 0


def test_steal_and_interrupt_time_are_summed_over_the_cores():
    core = SimpleNamespace(user=1.0, system=0.0, idle=0.0, steal=0.25, irq=0.5, softirq=0.25)
    assert cpu.kernel_seconds([core, core]) == (0.5, 1.5)
    assert cpu.kernel_seconds([SimpleNamespace(user=1.0, idle=0.0)]) is None  # not reported here
    sampled = run_for_samples(make_sampler(interval_s=0.02), count=3).result()
    assert sampled.summary["steal_cpu_pct"]["mean"] >= 0.0
    assert sampled.summary["irq_cpu_pct"]["mean"] >= 0.0
