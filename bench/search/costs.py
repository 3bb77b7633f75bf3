"""What a measurement is expected to cost, in wall seconds, from what the measurements so far cost.

A measurement costs its setup (model, DataLoader workers starting, warm-up and calibration
passes, the evaluation pass, a compile) plus its timed rounds. The timed rounds run at least
the effort asked for, sometimes longer (an epoch round is at least 20 batches or 2 slow ones:
bench/bench_epoch.py), so each measurement gives two samples: its setup seconds (`seconds`
minus `timed_seconds`) and its stretch (`timed_seconds` over the effort; 1 when the caller
does not report the timed part). The expected cost of a candidate at an effort is
setup + effort x stretch, taken from, in order: the candidate's own last measurement (setup
barely depends on the effort); the median of candidates alike in `group_axes` (a compile costs
tens of seconds, a CUDA device its context); the median of all; the prior. Invalid
measurements are left out: a busy machine's setup says nothing about a quiet one's.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.search.candidates import DEVICE, Candidate
from bench.search.records import Measurement

GROUP_AXES = (DEVICE, "compile")


@dataclass(frozen=True)
class CostSample:
    candidate: Candidate
    setup_seconds: float
    stretch: float  # timed seconds over the effort asked for


class CostModel:
    """Setup and stretch samples, and the expected seconds of a measurement from them."""

    def __init__(self, setup_seconds_prior: float, group_axes: Sequence[str] = GROUP_AXES):
        self.setup_seconds_prior = setup_seconds_prior
        self.group_axes = tuple(group_axes)
        self._samples: list[CostSample] = []
        self._last: dict[Candidate, CostSample] = {}

    def add(self, candidate: Candidate, effort_seconds: float, measurement: Measurement) -> None:
        if measurement.trust == "invalid" or measurement.images_per_sec is None or measurement.failed:
            return
        timed_seconds = measurement.timed_seconds if measurement.timed_seconds is not None else effort_seconds
        sample = CostSample(candidate, max(0.0, measurement.seconds - timed_seconds), timed_seconds / effort_seconds)
        self._samples.append(sample)
        self._last[candidate] = sample

    def expected_seconds(self, candidate: Candidate, effort_seconds: float) -> float:
        """Setup plus the effort's timed rounds, for this candidate (the order in the module docstring)."""
        own = self._last.get(candidate)
        if own is not None:
            return own.setup_seconds + effort_seconds * own.stretch
        key = self._group(candidate)
        alike = [sample for sample in self._samples if self._group(sample.candidate) == key]
        return self._median_seconds(alike or self._samples, effort_seconds)

    def typical_seconds(self, effort_seconds: float) -> float:
        """The expected seconds of a measurement of any candidate (for the plan of later rungs)."""
        return self._median_seconds(self._samples, effort_seconds)

    def _group(self, candidate: Candidate) -> tuple:
        return tuple(candidate.get(axis) for axis in self.group_axes)

    def _median_seconds(self, samples: Sequence[CostSample], effort_seconds: float) -> float:
        if not samples:
            return self.setup_seconds_prior + effort_seconds
        setup_seconds = statistics.median(sample.setup_seconds for sample in samples)
        stretch = statistics.median(sample.stretch for sample in samples)
        return setup_seconds + effort_seconds * stretch
