"""How often an expensive read may run: at most a fixed share of one core.

Listing a process's descendants can cost milliseconds (psutil, where the kernel does not
keep lists of children, reads /proc/<pid>/stat of every process: 1.2 ms with 76 of them),
NVML's PCIe throughput counts bytes over a 20 ms window, and a GPM sample is a driver call
of its own. Each is done at most as often as keeps it under `EXPENSIVE_READ_CPU_SHARE` of
one core; the cheap reads still run every sample.
"""

from __future__ import annotations

import math

EXPENSIVE_READ_CPU_SHARE = 0.0025


class Budget:
    """When an expensive read is next due, so that it costs at most `cpu_share` of one core."""

    def __init__(self, cpu_share: float = EXPENSIVE_READ_CPU_SHARE):
        if not cpu_share > 0:
            raise ValueError(f"cpu_share must be a positive fraction of one core, not {cpu_share}")
        self._cpu_share = cpu_share
        self._due_s = -math.inf

    def due(self, now_s: float) -> bool:
        """Whether the read may run at `now_s` (perf_counter seconds)."""
        return now_s >= self._due_s

    def spent(self, now_s: float, cpu_seconds: float) -> None:
        """The read that ran at `now_s` cost `cpu_seconds` of this thread's CPU time."""
        self._due_s = now_s + cpu_seconds / self._cpu_share
