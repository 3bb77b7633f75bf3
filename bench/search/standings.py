"""Figures the search compares: a candidate's standing at a rung, the cut between rungs, the ties at the end.

Comparisons are between intervals, not single figures: a candidate whose interval reaches the
cut-off's is kept rather than dropped by the luck of one noisy run, and finalists whose
intervals overlap the winner's are a tie (the house rule: a difference inside the intervals is
"no measurable difference").
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.search.candidates import Candidate
from bench.search.records import Measurement, Standing
from bench.trust import worst


def standing(candidate: Candidate, rung: int, measurements: Sequence[Measurement]) -> Standing | None:
    """The candidate's standing from its usable measurements at one rung (None without any).

    The figure is the median of the runs' figures; the interval is the hull of their
    intervals, covering every run's rounds and the spread between the runs.
    """
    usable = [measurement for measurement in measurements if measurement.usable]
    if not usable:
        return None
    figures = [measurement.images_per_sec for measurement in usable]
    lows, highs = zip(*(measurement.bounds for measurement in usable), strict=True)
    return Standing(candidate=candidate, rung=rung, images_per_sec=statistics.median(figures),
                    interval=(min(lows), max(highs)), trust=worst([m.trust for m in usable]), runs=len(usable))


def ranked(standings: Sequence[Standing]) -> list[Standing]:
    """Best first; equal figures keep their given order."""
    return sorted(standings, key=lambda item: -item.images_per_sec)


def promoted_count(measured: int, eta: int) -> int:
    """How many of `measured` go on by merit: floor(n / eta), at least one.

    Successive halving's n_{i+1} = floor(n_i / eta) (Jamieson & Talwalkar 2016; Li et al. 2017);
    "at least one" as Optuna's SuccessiveHalvingPruner promotes the best of fewer than eta.
    """
    return max(1, measured // eta) if measured else 0


@dataclass(frozen=True)
class Cut:
    """A rung's cut: the best `keep` on merit, those whose interval reaches the cut-off's, the rest."""

    top: tuple[Standing, ...]
    ties: tuple[Standing, ...]
    below: tuple[Standing, ...]
    cutoff: Standing | None


def cut(standings: Sequence[Standing], keep: int) -> Cut:
    """Keep the best `keep`; also keep every other whose interval's high reaches the cut-off's low."""
    order = ranked(standings)
    if keep <= 0 or not order:
        return Cut((), (), tuple(order), None)
    top, rest = order[:keep], order[keep:]
    cutoff = top[-1]
    ties = tuple(item for item in rest if item.interval[1] >= cutoff.interval[0])
    below = tuple(item for item in rest if item.interval[1] < cutoff.interval[0])
    return Cut(tuple(top), ties, below, cutoff)


def winners(standings: Sequence[Standing]) -> tuple[Standing, ...]:
    """The best standing, then every other whose interval overlaps it, best first."""
    order = ranked(standings)
    if not order:
        return ()
    best = order[0]
    return (best, *(item for item in order[1:] if item.overlaps(best)))
