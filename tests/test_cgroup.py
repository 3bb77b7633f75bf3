"""bench.cgroup: the CPU quota on this process's cgroup path, its throttling counters, the thread count.

Fake /proc and /sys/fs/cgroup trees under tmp_path cover both cgroup versions; one test makes a
real cgroup v1 with half a core and runs a child process in it (root and a v1 cpu controller).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cgroup import (
    Cgroup,
    Throttling,
    own_cgroups,
    read_cpu_limit,
    read_limit_cores,
    read_throttling,
    recommended_threads,
    throttling_difference,
)

REPO = Path(__file__).resolve().parents[1]
V2_MOUNT = "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate"
V1_JOINT_MOUNT = ("32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:9 "
                  "- cgroup cgroup rw,cpu,cpuacct")
V1_CPUSET_MOUNT = "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime shared:11 - cgroup cgroup rw,cpuset"
HYBRID_V2_MOUNT = "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:18 - cgroup2 cgroup2 rw,nsdelegate"
OTHER_MOUNTS = ["22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw",
                "23 22 0:21 / /sys rw,nosuid shared:2 - sysfs sysfs rw"]


def lay_out(root: Path, files: dict[str, str | None]) -> Path:
    """Write each file under `root` (None: an empty directory) and return `root`."""
    for name, text in files.items():
        path = root / name
        if text is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


def proc(cgroup_lines: list[str], mounts: list[str] | None) -> dict[str, str | None]:
    files: dict[str, str | None] = {"proc/self/cgroup": "".join(line + "\n" for line in cgroup_lines)}
    if mounts is not None:
        files["proc/self/mountinfo"] = "".join(line + "\n" for line in [*OTHER_MOUNTS, *mounts])
    return files


def v1_limit(quota_us: int, period_us: int = 100000) -> dict[str, str]:
    return {"cpu.cfs_quota_us": f"{quota_us}\n", "cpu.cfs_period_us": f"{period_us}\n"}


def under(directory: str, files: dict[str, str]) -> dict[str, str | None]:
    return {f"{directory}/{name}": text for name, text in files.items()}


# cgroup v2

def test_v2_unlimited_reads_as_known_and_unlimited(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["0::/user.slice/app.scope"], [V2_MOUNT]),
        "sys/fs/cgroup/cgroup.controllers": "cpu io memory\n",  # the root has no cpu.max
        "sys/fs/cgroup/user.slice/cpu.max": "max 100000\n",
        "sys/fs/cgroup/user.slice/app.scope/cpu.max": "max 100000\n",
    })
    limit = read_cpu_limit(root)
    assert limit.known
    assert limit.levels_read == 2
    assert limit.limited == ()
    assert limit.limit_cores is None
    assert limit.setter is None
    assert limit.read_throttling() == ()


def test_v2_limit_at_the_process_level(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["0::/kubepods/pod1/c1"], [V2_MOUNT]),
        "sys/fs/cgroup/kubepods/cpu.max": "max 100000\n",
        "sys/fs/cgroup/kubepods/pod1/cpu.max": "max 100000\n",
        "sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "50000 100000\n",
    })
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 0.5
    assert limit.setter is not None
    assert limit.setter.cgroup == Cgroup(version=2, path="/kubepods/pod1/c1",
                                         directory=root / "sys/fs/cgroup/kubepods/pod1/c1")
    assert limit.levels_read == 3


def test_v2_tighter_parent_sets_the_limit_and_every_limited_level_is_kept(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["0::/kubepods/pod1/c1"], [V2_MOUNT]),
        "sys/fs/cgroup/kubepods/cpu.max": "max 100000\n",
        "sys/fs/cgroup/kubepods/pod1/cpu.max": "150000 100000\n",
        "sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "200000 100000\n",
    })
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 1.5
    assert limit.setter.cgroup.path == "/kubepods/pod1"
    assert limit.setter.cgroup.directory == root / "sys/fs/cgroup/kubepods/pod1"
    assert [(level.cgroup.path, level.limit_cores) for level in limit.limited] == [
        ("/kubepods/pod1/c1", 2.0), ("/kubepods/pod1", 1.5)]
    assert recommended_threads(limit.limit_cores, usable_cores=8) == 1


def test_equal_limits_name_the_level_nearest_the_process(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["0::/pod/c1"], [V2_MOUNT]),
        "sys/fs/cgroup/pod/cpu.max": "100000 100000\n",
        "sys/fs/cgroup/pod/c1/cpu.max": "50000 50000\n",
    })
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 1.0
    assert limit.setter.cgroup.path == "/pod/c1"


def test_v2_namespaced_root_path_reads_the_mount_root(tmp_path):
    # Inside a container with a cgroup namespace: the own path is "/" and the mount's root
    # directory is the container's cgroup, with its cpu.max (a host's true root has none).
    root = lay_out(tmp_path, {
        **proc(["0::/"], [V2_MOUNT]),
        "sys/fs/cgroup/cpu.max": "50000 100000\n",
        "sys/fs/cgroup/cpu.stat": "usage_usec 10\nnr_periods 635\nnr_throttled 629\nthrottled_usec 2500000\n",
    })
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 0.5
    assert limit.setter.cgroup == Cgroup(version=2, path="/", directory=root / "sys/fs/cgroup")
    assert limit.read_throttling() == (Throttling(periods=635, throttled_periods=629, throttled_seconds=2.5),)


def test_v2_without_mountinfo_falls_back_to_sys_fs_cgroup(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["0::/app"], mounts=None),
        "sys/fs/cgroup/app/cpu.max": "25000 100000\n",
    })
    assert read_cpu_limit(root).limit_cores == 0.25


# cgroup v1

def test_v1_joint_cpu_cpuacct_mount(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["5:cpuset:/", "4:cpu,cpuacct:/docker/abc", "1:name=systemd:/docker/abc"],
               [V1_CPUSET_MOUNT, V1_JOINT_MOUNT]),
        **under("sys/fs/cgroup/cpu,cpuacct", v1_limit(-1)),
        **under("sys/fs/cgroup/cpu,cpuacct/docker", v1_limit(-1)),
        **under("sys/fs/cgroup/cpu,cpuacct/docker/abc", v1_limit(50000)),
    })
    assert own_cgroups(root) == (
        Cgroup(version=1, path="/docker/abc", directory=root / "sys/fs/cgroup/cpu,cpuacct/docker/abc"),)
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 0.5
    assert limit.setter.cgroup.version == 1
    assert limit.setter.cgroup.path == "/docker/abc"
    assert limit.levels_read == 3


def test_v1_tighter_parent_with_its_own_period(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["3:cpu:/batch/job"], ["32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu"]),
        **under("sys/fs/cgroup/cpu", v1_limit(-1)),
        **under("sys/fs/cgroup/cpu/batch", v1_limit(75000, period_us=50000)),
        **under("sys/fs/cgroup/cpu/batch/job", v1_limit(400000)),
    })
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 1.5
    assert limit.setter.cgroup.path == "/batch"
    assert [level.limit_cores for level in limit.limited] == [4.0, 1.5]


def test_v1_mount_of_only_the_containers_cgroup(tmp_path):
    # Docker on v1 without a cgroup namespace: /proc/self/cgroup names the host's path and the
    # container's mount shows only that cgroup (mountinfo's root field), so it is the walk's top.
    root = lay_out(tmp_path, {
        **proc(["4:cpu,cpuacct:/docker/abc"],
               ["32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct"]),
        **under("sys/fs/cgroup/cpu,cpuacct", v1_limit(200000)),
    })
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 2.0
    assert limit.setter.cgroup == Cgroup(version=1, path="/docker/abc", directory=root / "sys/fs/cgroup/cpu,cpuacct")
    assert limit.levels_read == 1


@pytest.mark.parametrize("mount_dir", ["cpu,cpuacct", "cpu"])
def test_v1_without_mountinfo_falls_back(tmp_path, mount_dir):
    root = lay_out(tmp_path, {
        **proc(["4:cpu,cpuacct:/app"], mounts=None),
        **under(f"sys/fs/cgroup/{mount_dir}", v1_limit(-1)),
        **under(f"sys/fs/cgroup/{mount_dir}/app", v1_limit(30000)),
    })
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 0.3
    assert limit.setter.cgroup.directory == root / f"sys/fs/cgroup/{mount_dir}/app"


def test_mount_point_with_an_escaped_space(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["0::/app"], [r"30 23 0:26 / /mnt/my\040cgroups rw - cgroup2 cgroup2 rw"]),
        "mnt/my cgroups/app/cpu.max": "50000 100000\n",
    })
    assert read_cpu_limit(root).limit_cores == 0.5


def test_another_process_by_pid(tmp_path):
    root = lay_out(tmp_path, {
        "proc/4242/cgroup": "0::/app\n",
        "proc/4242/mountinfo": V2_MOUNT + "\n",
        "sys/fs/cgroup/app/cpu.max": "300000 100000\n",
    })
    assert read_cpu_limit(root, pid=4242).limit_cores == 3.0
    assert not read_cpu_limit(root).known  # no proc/self here


# Hybrid: v1 controllers and a v2 hierarchy mounted beside them

def test_hybrid_reads_both_and_the_v1_cpu_controller_sets_the_limit(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["4:cpu,cpuacct:/app", "1:name=systemd:/app", "0::/app"], [V1_JOINT_MOUNT, HYBRID_V2_MOUNT]),
        **under("sys/fs/cgroup/cpu,cpuacct", v1_limit(-1)),
        **under("sys/fs/cgroup/cpu,cpuacct/app", v1_limit(100000)),
        # The unified hierarchy holds no cpu controller on a hybrid: no cpu.max anywhere.
        "sys/fs/cgroup/unified/app/cgroup.procs": "1\n",
    })
    assert [cgroup.version for cgroup in own_cgroups(root)] == [1, 2]
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 1.0
    assert limit.setter.cgroup.version == 1
    assert limit.levels_read == 2


def test_hybrid_takes_the_tighter_of_both_hierarchies(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["4:cpu,cpuacct:/app", "0::/app"], [V1_JOINT_MOUNT, HYBRID_V2_MOUNT]),
        **under("sys/fs/cgroup/cpu,cpuacct/app", v1_limit(300000)),
        "sys/fs/cgroup/unified/app/cpu.max": "120000 100000\n",
    })
    limit = read_cpu_limit(root)
    assert limit.limit_cores == 1.2
    assert limit.setter.cgroup.version == 2
    assert [level.cgroup.version for level in limit.limited] == [1, 2]


# Missing and malformed files read as unknown

@pytest.mark.parametrize("cpu_max", ["", "garbage\n", "50000\n", "max\n", "half 100000\n", "0 100000\n",
                                     "50000 0\n", "50000 100000 extra\n", "-5 100000\n"])
def test_v2_malformed_cpu_max_is_unknown(tmp_path, cpu_max):
    root = lay_out(tmp_path, {**proc(["0::/app"], [V2_MOUNT]), "sys/fs/cgroup/app/cpu.max": cpu_max})
    limit = read_cpu_limit(root)
    assert not limit.known
    assert limit.limit_cores is None


@pytest.mark.parametrize(("quota", "period"), [("abc\n", "100000\n"), ("50000\n", ""), ("50000\n", "0\n"),
                                               ("0\n", "100000\n"), ("-2\n", "100000\n"), (None, "100000\n"),
                                               ("50000\n", None)])
def test_v1_malformed_or_missing_quota_is_unknown(tmp_path, quota, period):
    files = {"cpu.cfs_quota_us": quota, "cpu.cfs_period_us": period}
    root = lay_out(tmp_path, {
        **proc(["4:cpu,cpuacct:/"], [V1_JOINT_MOUNT]),
        **under("sys/fs/cgroup/cpu,cpuacct", {name: text for name, text in files.items() if text is not None}),
    })
    cgroup = Cgroup(version=1, path="/", directory=root / "sys/fs/cgroup/cpu,cpuacct")
    assert read_limit_cores(cgroup) is None
    assert not read_cpu_limit(root).known


def test_unlimited_levels_read_as_infinite_cores(tmp_path):
    v1 = Cgroup(version=1, path="/", directory=lay_out(tmp_path / "v1", v1_limit(-1)))
    v2 = Cgroup(version=2, path="/", directory=lay_out(tmp_path / "v2", {"cpu.max": "max 100000\n"}))
    assert read_limit_cores(v1) == math.inf
    assert read_limit_cores(v2) == math.inf


def test_a_malformed_level_is_skipped_and_the_others_still_count(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["0::/pod/c1"], [V2_MOUNT]),
        "sys/fs/cgroup/pod/cpu.max": "80000 100000\n",
        "sys/fs/cgroup/pod/c1/cpu.max": "garbage\n",
    })
    limit = read_cpu_limit(root)
    assert limit.levels_read == 1
    assert limit.limit_cores == 0.8


@pytest.mark.parametrize("files", [
    pytest.param({}, id="no-proc-self-cgroup"),
    pytest.param(proc([], [V2_MOUNT]), id="empty-proc-self-cgroup"),
    pytest.param(proc(["not a cgroup line", "4:cpu,cpuacct", "0::relative"], [V2_MOUNT]), id="garbled-lines"),
    pytest.param(proc(["2:memory:/app"], [V2_MOUNT]), id="no-cpu-hierarchy"),
    pytest.param(proc(["0::/app"], [V2_MOUNT]), id="cgroup-directory-missing"),
    pytest.param({**proc(["0::/../elsewhere"], [V2_MOUNT]), "sys/fs/cgroup/cpu.max": "50000 100000\n"},
                 id="path-outside-the-namespace"),
    pytest.param({**proc(["4:cpu,cpuacct:/docker/other"],
                         ["32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro - cgroup cgroup rw,cpu,cpuacct"]),
                  **under("sys/fs/cgroup/cpu,cpuacct", v1_limit(50000))},
                 id="path-not-under-the-mount-root"),
])
def test_no_readable_cgroup_is_unknown(tmp_path, files):
    root = lay_out(tmp_path, files)
    limit = read_cpu_limit(root)
    assert not limit.known
    assert limit.limit_cores is None
    assert recommended_threads(limit.limit_cores, usable_cores=3) == 3


def test_cpu_max_that_is_a_directory_is_unknown_not_an_error(tmp_path):
    root = lay_out(tmp_path, {**proc(["0::/app"], [V2_MOUNT]), "sys/fs/cgroup/app/cpu.max": None})
    assert not read_cpu_limit(root).known


# Throttling counters

V1_STAT = "nr_periods 635\nnr_throttled 629\nthrottled_time 31450000000\nnr_bursts 0\nburst_time 0\n"
V2_STAT = ("usage_usec 800000\nuser_usec 700000\nsystem_usec 100000\nnr_periods 635\nnr_throttled 629\n"
           "throttled_usec 31450000\nnr_bursts 0\nburst_usec 0\n")


@pytest.mark.parametrize(("version", "stat"), [(1, V1_STAT), (2, V2_STAT)])
def test_throttling_counters_and_their_units(tmp_path, version, stat):
    cgroup = Cgroup(version=version, path="/app", directory=lay_out(tmp_path, {"cpu.stat": stat}))
    reading = read_throttling(cgroup)
    assert reading == Throttling(periods=635, throttled_periods=629, throttled_seconds=31.45)
    assert reading.throttled_fraction == pytest.approx(629 / 635)


@pytest.mark.parametrize("stat", [
    pytest.param("usage_usec 800000\nuser_usec 700000\nsystem_usec 100000\n", id="v2-without-cpu-controller"),
    pytest.param("nr_periods 10\nnr_throttled x\nthrottled_usec 5\n", id="not-a-number"),
    pytest.param("nr_periods 10\nnr_throttled 2\nthrottled_time 5\n", id="v1-key-in-a-v2-file"),
    pytest.param("", id="empty"),
])
def test_unreadable_counters_are_none(tmp_path, stat):
    cgroup = Cgroup(version=2, path="/app", directory=lay_out(tmp_path, {"cpu.stat": stat}))
    assert read_throttling(cgroup) is None
    assert read_throttling(Cgroup(version=1, path="/", directory=tmp_path / "missing")) is None


def test_counter_difference():
    before = Throttling(periods=100, throttled_periods=10, throttled_seconds=0.5)
    after = Throttling(periods=735, throttled_periods=639, throttled_seconds=31.95)
    change = after - before
    assert change.periods == 635
    assert change.throttled_periods == 629
    assert change.throttled_seconds == pytest.approx(31.45)
    assert (before - before).throttled_fraction is None  # no period elapsed: no fraction
    assert throttling_difference([before, None, before], [after, after, None]) == (change, None, None)


def test_counters_of_every_limited_level_before_and_after(tmp_path):
    root = lay_out(tmp_path, {
        **proc(["0::/pod/c1"], [V2_MOUNT]),
        "sys/fs/cgroup/pod/cpu.max": "100000 100000\n",
        "sys/fs/cgroup/pod/cpu.stat": "nr_periods 50\nnr_throttled 5\nthrottled_usec 1000\n",
        "sys/fs/cgroup/pod/c1/cpu.max": "50000 100000\n",  # its cpu.stat is missing: unknown
    })
    limit = read_cpu_limit(root)
    before = limit.read_throttling()
    assert before == (None, Throttling(periods=50, throttled_periods=5, throttled_seconds=0.001))
    (root / "sys/fs/cgroup/pod/cpu.stat").write_text("nr_periods 80\nnr_throttled 35\nthrottled_usec 501000\n")
    assert throttling_difference(before, limit.read_throttling()) == (
        None, Throttling(periods=30, throttled_periods=30, throttled_seconds=0.5))


# The thread count under a limit

@pytest.mark.parametrize(("limit_cores", "usable_cores", "threads"), [
    (None, 8, 8),  # no quota: every usable core
    (0.5, 8, 1),   # below a core: one thread, the least there is
    (1.0, 8, 1),
    (1.5, 8, 1),   # floor: 2 threads would be throttled every period
    (2.0, 8, 2),
    (3.99, 8, 3),
    (16.0, 8, 8),  # a quota above the usable cores: the cores bound it
    (4.0, 1, 1),
])
def test_recommended_threads(limit_cores, usable_cores, threads):
    assert recommended_threads(limit_cores, usable_cores) == threads


def test_recommended_threads_defaults_to_affinity():
    assert recommended_threads(None) == len(os.sched_getaffinity(0))
    assert recommended_threads(0.5) == 1


# A real cgroup v1 with half a core

CHILD = """
import dataclasses, json, sys, threading, time
from bench.cgroup import read_cpu_limit, throttling_difference

sys.stdin.readline()  # the parent has moved this process into the cgroup
limit = read_cpu_limit()
before = limit.read_throttling()
# Two busy threads until the process has used 0.4 s of CPU: at half a core that spans about
# eight 100 ms periods, each spent by its 50 ms of quota. The wall-clock bound only guards
# against a machine too busy to give it the CPU.
target, deadline = time.process_time() + 0.4, time.monotonic() + 20


def burn():
    while time.process_time() < target and time.monotonic() < deadline:
        sum(range(1000))


threads = [threading.Thread(target=burn) for _ in range(2)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
setter = limit.setter
change = throttling_difference(before, limit.read_throttling())[limit.limited.index(setter)]
print(json.dumps({"limit_cores": limit.limit_cores, "version": setter.cgroup.version, "path": setter.cgroup.path,
                  "directory": str(setter.cgroup.directory), "change": change and dataclasses.asdict(change)}))
"""


@pytest.fixture
def half_core_cgroup():
    """A real cgroup v1 below this process's cpu cgroup, with a quota of 50 ms per 100 ms; removed after."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("creating a cgroup needs root")
    v1 = [cgroup for cgroup in own_cgroups() if cgroup.version == 1]
    if not v1 or not (v1[0].directory / "cpu.cfs_quota_us").exists():
        pytest.skip("no cgroup v1 cpu controller on this machine (a cgroup v2 machine is covered by fake files)")
    parent = v1[0]
    own = read_cpu_limit().limit_cores
    if own is not None and own < 0.5:
        pytest.skip(f"this process is already limited to {own} cores, below the test's half core")
    directory = parent.directory / f"cifarbench-test-{os.getpid()}"
    try:
        directory.mkdir()
    except OSError as error:
        pytest.skip(f"cannot create a cgroup under {parent.directory}: {error}")
    try:
        try:
            (directory / "cpu.cfs_period_us").write_text("100000")
            (directory / "cpu.cfs_quota_us").write_text("50000")
            # Ten times the weight of a process outside it: on a busy machine the child still gets
            # its half core each period, so it reaches the quota (the quota caps what it takes).
            (directory / "cpu.shares").write_text("10240")
        except OSError as error:
            pytest.skip(f"cannot set a quota on {directory}: {error}")
        yield directory
    finally:
        # Any process left inside goes back to the parent, or rmdir fails with EBUSY.
        for pid in (directory / "cgroup.procs").read_text().split():
            (parent.directory / "cgroup.procs").write_text(pid)
        directory.rmdir()


def test_real_v1_cgroup_limit_and_throttling(half_core_cgroup):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with subprocess.Popen([sys.executable, "-c", CHILD], cwd=REPO, env=env, text=True,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        try:
            (half_core_cgroup / "cgroup.procs").write_text(str(child.pid))
            seen_from_outside = read_cpu_limit(pid=child.pid)  # the same limit, read through /proc/<pid>
            out, err = child.communicate("go\n", timeout=60)
        finally:
            child.kill()
    assert child.returncode == 0, err
    report = json.loads(out)
    print("real cgroup v1, half a core:", report)
    assert seen_from_outside.limit_cores == 0.5
    assert seen_from_outside.setter.cgroup.directory == half_core_cgroup
    assert report["limit_cores"] == 0.5
    assert report["version"] == 1
    assert report["directory"] == str(half_core_cgroup)
    assert report["path"].endswith(f"/cifarbench-test-{os.getpid()}")
    change = report["change"]  # the setter's counters over the burn
    assert change["periods"] > 0
    assert change["throttled_periods"] > 0
    assert change["throttled_seconds"] > 0
    assert recommended_threads(report["limit_cores"], usable_cores=2) == 1
