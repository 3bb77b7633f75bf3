"""This process's cgroup CPU limit, its throttling counters, and the thread count that fits it.

A container's CPU limit (a Kubernetes pod limit, `docker --cpus`) is a CFS quota on a cgroup:
so many microseconds of CPU per period (100 ms by default), shared by every thread of the
cgroup. Affinity (`os.sched_getaffinity`) still shows every core, so a harness that runs one
torch thread per usable core spends the quota early in each period and then stands still,
throttled, for the rest of it: a sweep limited to half a core ran 4-5x slower and the kernel
counted it throttled in 629 of 635 periods.

Where the limit is read:
- `/proc/<pid>/cgroup` names this process's cgroup in each hierarchy: cgroup v1 lines
  `N:cpu,cpuacct:/path` (the line whose controllers include `cpu`), the v2 line `0::/path`.
  A hybrid system has both; both are read and the tightest limit wins.
- `/proc/<pid>/mountinfo` says where each hierarchy is mounted and which part of it the mount
  shows (its root). Without it: `/sys/fs/cgroup/cpu,cpuacct` or `/sys/fs/cgroup/cpu` for v1,
  `/sys/fs/cgroup` for v2.
- Every level from the process's cgroup up to the mount's root may carry a quota; the kernel
  enforces each, so the tightest one is the limit. v2: `cpu.max` (`max 100000` unlimited,
  `50000 100000` half a core). v1: `cpu.cfs_quota_us` (-1 unlimited) / `cpu.cfs_period_us`.
  Inside a container with a cgroup namespace the path reads `/` and the mount's root
  directory is the container's own cgroup; levels above the namespace are not visible.

Throttling counters (`cpu.stat`) are read for every limited level: `nr_periods` (periods in
which the cgroup had runnable threads), `nr_throttled` (of those, the periods in which it ran
out of quota) and the time it spent throttled (v2 `throttled_usec`, v1 `throttled_time` in ns).

The cpuset (`cpuset.cpus.effective`) is not read: the kernel already narrows this process's
affinity to it, and affinity is what `usable_cores` counts.

Every reader goes through `root` (default `/`), so tests lay out fake files. Nothing here
raises into the sweep: a file that is missing or unreadable reads as unknown (None).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path("/")
V1_FALLBACK_MOUNTS = ("sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpu")  # relative to `root`
V2_FALLBACK_MOUNT = "sys/fs/cgroup"


@dataclass(frozen=True)
class Cgroup:
    """One cgroup this process belongs to (or an ancestor of it), in one hierarchy."""

    version: int  # 1 or 2
    path: str  # its path in the hierarchy as /proc/<pid>/cgroup writes it ("/" at a namespace's root)
    directory: Path  # where its files are read


@dataclass(frozen=True)
class LimitedCgroup:
    """A cgroup on this process's path that carries a CPU quota."""

    cgroup: Cgroup
    limit_cores: float  # quota / period: CPU seconds its threads may use per second, together


@dataclass(frozen=True)
class Throttling:
    """One reading of a cgroup's throttling counters, or (`after - before`) the change between two."""

    periods: int  # count: enforcement periods in which the cgroup had threads ready to run
    throttled_periods: int  # count: of those, periods in which it used up its quota and was stopped
    # The time its threads were stopped for want of quota. The kernel sums it over the cgroup's
    # per-CPU run queues, so with several cores it can exceed the wall-clock time.
    throttled_seconds: float

    def __sub__(self, before: Throttling) -> Throttling:
        return Throttling(periods=self.periods - before.periods,
                          throttled_periods=self.throttled_periods - before.throttled_periods,
                          throttled_seconds=self.throttled_seconds - before.throttled_seconds)

    @property
    def throttled_fraction(self) -> float | None:
        """Throttled periods over periods (0 to 1), None when no period elapsed."""
        return self.throttled_periods / self.periods if self.periods > 0 else None


@dataclass(frozen=True)
class CpuLimit:
    """The CPU quotas on this process's cgroup path, every hierarchy read."""

    # Every level with a quota, nearest the process first (v1's hierarchy before v2's on a hybrid).
    limited: tuple[LimitedCgroup, ...]
    # count: cgroups whose limit file was read, limited or not; 0 means unknown (no file found).
    levels_read: int

    @property
    def known(self) -> bool:
        """Whether any cgroup's limit could be read (False: no limit known, not "unlimited")."""
        return self.levels_read > 0

    @property
    def setter(self) -> LimitedCgroup | None:
        """The level whose quota is the tightest (the nearest of equals), None without a quota."""
        return min(self.limited, key=lambda level: level.limit_cores, default=None)

    @property
    def limit_cores(self) -> float | None:
        """The tightest quota in cores, None when unlimited or unknown (see `known`)."""
        setter = self.setter
        return setter.limit_cores if setter is not None else None

    def read_throttling(self) -> tuple[Throttling | None, ...]:
        """The throttling counters of every limited level, in `limited`'s order (None: unreadable)."""
        return tuple(read_throttling(level.cgroup) for level in self.limited)


def read_cpu_limit(root: Path = ROOT, pid: int | str = "self") -> CpuLimit:
    """The CPU quotas on the cgroup path of process `pid`, read under `root`; never raises."""
    limited, levels_read = [], 0
    for cgroup, mount_directory in _own_cgroups(root, pid):
        for level in _ancestors(cgroup, mount_directory):
            limit_cores = read_limit_cores(level)
            if limit_cores is None:
                continue
            levels_read += 1
            if limit_cores != math.inf:
                limited.append(LimitedCgroup(level, limit_cores))
    return CpuLimit(limited=tuple(limited), levels_read=levels_read)


def own_cgroups(root: Path = ROOT, pid: int | str = "self") -> tuple[Cgroup, ...]:
    """The cgroup of process `pid` in v1's `cpu` hierarchy and in v2's, where found (v1 first)."""
    return tuple(cgroup for cgroup, _ in _own_cgroups(root, pid))


def read_limit_cores(cgroup: Cgroup) -> float | None:
    """One level's quota in cores: `math.inf` when unlimited, None when missing or unreadable."""
    try:
        if cgroup.version == 2:
            quota, period = (cgroup.directory / "cpu.max").read_text().split()
            quota_us = None if quota == "max" else int(quota)
            period_us = int(period)
        else:
            quota_us = int((cgroup.directory / "cpu.cfs_quota_us").read_text())
            period_us = int((cgroup.directory / "cpu.cfs_period_us").read_text())
            if quota_us == -1:
                quota_us = None
    except (OSError, ValueError):
        return None
    if period_us <= 0 or (quota_us is not None and quota_us <= 0):
        return None
    return math.inf if quota_us is None else quota_us / period_us


def read_throttling(cgroup: Cgroup) -> Throttling | None:
    """The cgroup's throttling counters from its `cpu.stat`, None when missing or unreadable.

    v2 writes them only where the cpu controller is enabled (never at the root); v1 in the
    cpu controller's directory.
    """
    try:
        stat = {}
        for line in (cgroup.directory / "cpu.stat").read_text().splitlines():
            key, _, value = line.partition(" ")
            stat[key] = value
        periods, throttled_periods = int(stat["nr_periods"]), int(stat["nr_throttled"])
        if cgroup.version == 2:
            throttled_seconds = int(stat["throttled_usec"]) / 1e6
        else:
            throttled_seconds = int(stat["throttled_time"]) / 1e9
    except (OSError, ValueError, KeyError):
        return None
    return Throttling(periods=periods, throttled_periods=throttled_periods, throttled_seconds=throttled_seconds)


def throttling_difference(before: Sequence[Throttling | None],
                          after: Sequence[Throttling | None]) -> tuple[Throttling | None, ...]:
    """`after - before` level by level, None where either reading is.

    Both readings come from one `CpuLimit.read_throttling` (the same levels, in the same order).
    """
    return tuple(None if first is None or last is None else last - first
                 for first, last in zip(before, after, strict=True))


def recommended_threads(limit_cores: float | None, usable_cores: int | None = None) -> int:
    """Threads for torch under a CPU quota: `max(1, floor(limit_cores))`, at most the usable cores.

    Floor, not round up: the quota is shared by all the cgroup's threads each period, so more
    busy threads than whole cores of quota spend it early and then all stand still. A 1.5-core
    quota with 2 threads uses its 150 ms in the first 75 ms of every 100 ms period and is
    throttled for the other 25 ms, every period, stopping threads mid-way through torch's
    parallel regions where the others wait for them; 1 thread is never throttled. Below one
    core, 1 thread is the least there is (it will still be throttled).
    `usable_cores`: default, this process's affinity; None `limit_cores`: no quota, every usable core.
    """
    if usable_cores is None:
        usable_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if limit_cores is None:
        return max(1, usable_cores)
    return max(1, min(usable_cores, math.floor(limit_cores)))


@dataclass(frozen=True)
class _Mount:
    version: int
    hierarchy_root: str  # the part of the hierarchy the mount shows (mountinfo's 4th field)
    mount_point: Path  # under `root`


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes (\040).
    parts = field.split("\\")
    out = [parts[0]]
    for part in parts[1:]:
        if len(part) >= 3 and all(c in "01234567" for c in part[:3]):
            out.append(chr(int(part[:3], 8)) + part[3:])
        else:
            out.append("\\" + part)
    return "".join(out)


def _cgroup_mounts(root: Path, pid: int | str) -> list[_Mount]:
    """Cgroup mounts from mountinfo: v2's, and v1's that carry the cpu controller."""
    try:
        lines = (root / "proc" / str(pid) / "mountinfo").read_text().splitlines()
    except (OSError, ValueError):
        return []
    mounts = []
    for line in lines:
        before, sep, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if not sep or len(fields) < 5 or len(tail) < 3:
            continue
        fstype, super_options = tail[0], tail[2].split(",")
        if fstype == "cgroup2":
            version = 2
        elif fstype == "cgroup" and "cpu" in super_options:
            version = 1
        else:
            continue
        mount_point = root / _unescape(fields[4]).lstrip("/")
        mounts.append(_Mount(version=version, hierarchy_root=_unescape(fields[3]), mount_point=mount_point))
    return mounts


def _relative(path: str, hierarchy_root: str) -> PurePosixPath | None:
    """`path` relative to `hierarchy_root`, None when the mount does not show it."""
    parts, root_parts = PurePosixPath(path).parts, PurePosixPath(hierarchy_root).parts
    if ".." in parts or parts[:len(root_parts)] != root_parts:
        return None
    return PurePosixPath(*parts[len(root_parts):]) if len(parts) > len(root_parts) else PurePosixPath()


def _locate(root: Path, version: int, path: str, mounts: list[_Mount]) -> tuple[Path, Path] | None:
    """Where the cgroup `path` of hierarchy `version` is and its mount's directory, None when no mount shows it."""
    # The mount showing the most of the hierarchy (the shortest root) lets the walk see the
    # most levels above the process; a bind mount of only the container's cgroup shows one.
    candidates = sorted((mount for mount in mounts if mount.version == version),
                        key=lambda mount: len(PurePosixPath(mount.hierarchy_root).parts))
    if not candidates:
        fallbacks = V1_FALLBACK_MOUNTS if version == 1 else (V2_FALLBACK_MOUNT,)
        candidates = [_Mount(version=version, hierarchy_root="/", mount_point=root / fallback)
                      for fallback in fallbacks]
    for mount in candidates:
        relative = _relative(path, mount.hierarchy_root)
        if relative is None:
            continue
        directory = mount.mount_point / relative
        if _is_dir(directory):
            return directory, mount.mount_point
    return None


def _is_dir(path: Path) -> bool:
    try:  # Path.is_dir raises on a directory above that may not be searched (PermissionError)
        return path.is_dir()
    except OSError:
        return False


def _own_cgroups(root: Path, pid: int | str) -> list[tuple[Cgroup, Path]]:
    """Each cgroup of process `pid` that holds CPU files, with the directory of its mount (the walk's top)."""
    try:
        lines = (root / "proc" / str(pid) / "cgroup").read_text().splitlines()
    except (OSError, ValueError):
        return []
    mounts = _cgroup_mounts(root, pid)
    found: dict[int, tuple[Cgroup, Path]] = {}
    for line in lines:
        hierarchy, sep, rest = line.partition(":")
        controllers, sep2, path = rest.partition(":")
        if not (sep and sep2 and path.startswith("/")):
            continue
        if hierarchy == "0" and controllers == "":
            version = 2
        elif "cpu" in controllers.split(","):
            version = 1
        else:
            continue
        located = _locate(root, version, path, mounts)
        if located is not None and version not in found:
            directory, mount_directory = located
            found[version] = (Cgroup(version=version, path=path, directory=directory), mount_directory)
    return [found[version] for version in sorted(found)]


def _ancestors(cgroup: Cgroup, mount_directory: Path) -> list[Cgroup]:
    """`cgroup` and its parents up to `mount_directory` (the highest level visible), nearest first."""
    levels, current = [], cgroup
    while True:
        levels.append(current)
        if current.directory == mount_directory or current.directory == current.directory.parent:
            return levels
        current = Cgroup(version=cgroup.version, path=str(PurePosixPath(current.path).parent),
                         directory=current.directory.parent)
