"""The machine's own speed through a sweep: one small fixed workload, timed between the cases.

On a cloud VM the host's load is invisible to the guest: the same workload runs slower for a
while and nothing in the guest's counters says why (the sweep's rounds still agree with each
other). A canary times the same small job at the start of the sweep, whenever the group
changes (and between repeats), and at the end. How far its readings move is how far the
machine's own speed moved: a case between two readings that differ by more than the
threshold is `noisy` with reason `machine_drift` (bench/repeats.py applies it), and a figure
that later reads above its own ceiling can be told for what it is: a measurement problem.

The workload: the tutorial net's training step at batch 32 on random data, on the CPU with
the sweep's torch threads: the same kernels, threads and memory traffic as the CPU cases, in
about a tenth of a second. Its number of steps is fixed at the first reading (about
`SLICE_SECONDS`), and each reading is the median of `SLICES` slices of those steps, so every
reading times the same work.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from bench.contract import Canary as CanaryKeys
from bench.contract import derive

BATCH_SIZE = 32
SLICE_SECONDS = 0.04
SLICES = 3
WARM_SECONDS = 0.2
WORKLOAD = (f"the tutorial net's training step at batch {BATCH_SIZE} on random CPU data, torch's sweep threads; "
            f"the median of {SLICES} slices of a fixed number of steps")


@dataclass(frozen=True)
class Reading:
    at_s: float  # seconds since the sweep began, when the reading started
    before: str | None  # the node id of the case that runs next; None at the end
    images_per_sec: float
    seconds: float  # how long the reading took


@dataclass
class Canary:
    """The sweep's canary: `read()` between cases; `readings` in order."""

    threads: int
    started: float = field(default_factory=time.perf_counter)  # the sweep's start, perf_counter seconds
    clock: Callable[[], float] = time.perf_counter
    readings: list[Reading] = field(default_factory=list)
    _step: Callable[[], None] | None = None
    _steps: int = 0

    def read(self, before: str | None) -> Reading:
        """Time the workload now; `before`: the case that runs next (None at the end)."""
        began = self.clock()
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            if self._step is None:
                self._step, self._steps = self._prepare()
            rates = []
            for _ in range(SLICES):
                slice_began = self.clock()
                for _ in range(self._steps):
                    self._step()
                rates.append(self._steps * BATCH_SIZE / max(self.clock() - slice_began, 1e-9))
        finally:
            torch.set_num_threads(previous)
        reading = Reading(at_s=began - self.started, before=before, images_per_sec=statistics.median(rates),
                          seconds=self.clock() - began)
        self.readings.append(reading)
        return reading

    def _prepare(self) -> tuple[Callable[[], None], int]:
        from bench.workload import make_optimizer, train_step
        from models import get_model

        generator = torch.Generator().manual_seed(0)
        net = get_model("tutorial").train()
        optimizer = make_optimizer(net)
        criterion = nn.CrossEntropyLoss()
        images = torch.randn(BATCH_SIZE, 3, 32, 32, generator=generator)
        labels = torch.randint(0, 10, (BATCH_SIZE,), generator=generator)

        def step():
            train_step(net, optimizer, criterion, images, labels)

        # Warm for a while, not a few steps: the first calls start torch's thread pool and fill
        # the allocator, and on a busy machine one slow step would size every later reading.
        warm_until = self.clock() + WARM_SECONDS
        while self.clock() < warm_until:
            step()
        began, steps = self.clock(), 0
        while self.clock() - began < SLICE_SECONDS:
            step()
            steps += 1
        return step, steps

    def around(self, started_s: float, ended_s: float) -> tuple[Reading, Reading] | None:
        """The last reading before `started_s` and the first after `ended_s` (sweep seconds), or None."""
        before = [reading for reading in self.readings if reading.at_s + reading.seconds <= started_s]
        after = [reading for reading in self.readings if reading.at_s >= ended_s]
        if not before or not after:
            return None
        return before[-1], after[0]

    def as_dict(self, threshold: float) -> dict:
        """machine_info["cifarbench"]["canary"] (keys: bench.contract.Canary)."""
        return {
            CanaryKeys.workload: WORKLOAD,
            CanaryKeys.readings: [{"at_s": reading.at_s, "before": reading.before,
                                   "images_per_sec": reading.images_per_sec, "seconds": reading.seconds}
                                  for reading in self.readings],
            CanaryKeys.drift: derive.relative_spread([reading.images_per_sec for reading in self.readings]),
            CanaryKeys.threshold: threshold,
        }
