"""Stage 3g, time to target: which configuration trains a classifier to the target accuracy fastest.

DAWNBench and MLPerf Training rank time to a target accuracy: images/s alone misleads (the
tutorial's learning rate at batch 16,384 makes four optimizer steps an epoch). For every
machine, device and model with converge cases (bench/bench_converge.py), the configurations are
ranked by their median training seconds to the target over the seeds that reached it; one that
did not reach the target within its budget is never ranked ahead of one that did (it is listed
after them, with the best accuracy it got). Two whose intervals overlap share a rank: no
measurable difference. A time's interval is the range over its seeds, widened by how far
another run's throughput could read (its images/s interval: time scales as its inverse).

Beside the fastest to target: the tutorial's own settings (the reference), and the fastest
configuration per image (the best epoch, `reports.analysis.advice`) with its own result to
target when it was trained. Costs to target where the machine has a price; energy where NVML
counted it. Across machines, each machine's own best (the DAWNBench view), ranked the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.contract import derive, vocab
from reports.reading.cases import Case


@dataclass(frozen=True)
class ToTarget:
    """One converge case as the answer ranks it."""

    case: Case
    answer: derive.TimeToTarget
    interval: tuple[float, float] | None  # seconds to target, low to high (None: not reached)
    cost: float | None = None  # price x seconds to target
    rank: int | None = None  # 1 for the fastest; ties share it; None: not reached

    @property
    def reached(self) -> bool:
        return self.answer.seconds is not None

    @property
    def seconds(self) -> float | None:
        return self.answer.seconds


@dataclass(frozen=True)
class TargetAnswer:
    """The answer for one machine, device and model: its converge cases ranked, and the references."""

    where: tuple[str, str, str | None]  # machine, device, model
    target_accuracy: float
    ranked: tuple[ToTarget, ...]  # reached first (by seconds, ties sharing a rank), then the others
    tutorial: ToTarget | None = None
    fastest_per_image: Case | None = None  # the best epoch per image on this device and model
    fastest_per_image_to_target: ToTarget | None = None  # its converge result, when it was trained

    @property
    def fastest(self) -> ToTarget | None:
        return self.ranked[0] if self.ranked and self.ranked[0].reached else None

    @property
    def ties(self) -> tuple[ToTarget, ...]:
        """Every other configuration that shares the fastest's rank."""
        best = self.fastest
        return tuple(row for row in self.ranked[1:] if best is not None and row.rank == best.rank)

    @property
    def speedup_vs_tutorial(self) -> float | None:
        best, tutorial = self.fastest, self.tutorial
        if best is None or tutorial is None or not tutorial.reached or best is tutorial:
            return None
        return tutorial.seconds / best.seconds


def interval(case: Case, answer: derive.TimeToTarget) -> tuple[float, float] | None:
    """Seconds to target, low to high: the seeds' range, widened by the throughput's interval."""
    if answer.seconds is None:
        return None
    low, high = answer.seconds_low, answer.seconds_high
    if case.interval is not None and case.interval[0] > 0:
        low *= case.images_per_sec / case.interval[1]
        high *= case.images_per_sec / case.interval[0]
    return low, high


def rank(rows: Sequence[ToTarget]) -> tuple[ToTarget, ...]:
    """Reached first by seconds, then the rest by best accuracy; a row whose interval overlaps the
    interval of the row that opened the current rank shares that rank."""
    reached = sorted((row for row in rows if row.reached), key=lambda row: row.seconds)
    missed = sorted((row for row in rows if not row.reached), key=lambda row: -(row.answer.best_accuracy or 0.0))
    ranked, opener, number = [], None, 0
    for position, row in enumerate(reached, start=1):
        if opener is None or not derive.overlap(opener.interval, row.interval):
            opener, number = row, position
        ranked.append(ToTarget(row.case, row.answer, row.interval, row.cost, number))
    return (*ranked, *missed)


def answers(cases: Sequence[Case], best_epochs: dict[tuple, Case], prices: dict[str, float]) -> list[TargetAnswer]:
    """The answer per machine, device and model that has converge cases.

    `best_epochs`: the fastest epoch per image by (machine, device, model) (the recommendations'
    best); `prices`: price per hour by machine.
    """
    found = []
    converges = [case for case in cases if case.group == vocab.CONVERGE and case.to_target is not None]
    for where in dict.fromkeys(case.config.where() for case in converges):
        mine = [case for case in converges if case.config.where() == where and not case.invalid]
        if not mine:
            continue
        rows = rank([ToTarget(case, case.to_target, interval(case, case.to_target),
                              derive.cost(case.to_target.seconds, prices.get(where[0]))) for case in mine])
        tutorial = next((row for row in rows if _is_tutorial(row.case)), None)
        best_epoch = best_epochs.get(where)
        per_image = None
        if best_epoch is not None:
            per_image = next((row for row in rows if _same_settings(row.case, best_epoch)), None)
        found.append(TargetAnswer(where, mine[0].target_accuracy, rows, tutorial, best_epoch, per_image))
    return found


def across_machines(found: Sequence[TargetAnswer]) -> list[tuple[str, TargetAnswer]]:
    """The DAWNBench view: per model, every machine and device at its own fastest to target, ranked
    (ties share a rank as above); the model comes first in each pair."""
    rows = []
    for model in dict.fromkeys(answer.where[2] for answer in found):
        best = [answer for answer in found if answer.where[2] == model and answer.fastest is not None]
        best.sort(key=lambda answer: answer.fastest.seconds)
        rows += [(model, answer) for answer in best]
    return rows


def _is_tutorial(case: Case) -> bool:
    config = case.config
    return all(getattr(config, axis) == value for axis, value in vocab.TUTORIAL_SETTINGS.items())


def _same_settings(converge: Case, epoch: Case) -> bool:
    a, b = converge.config, epoch.config
    return (a.batch_size, a.num_workers, a.loader, a.transform, a.threads) == (
        b.batch_size, b.num_workers, b.loader, b.transform, b.threads)
