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
counted it. Across machines, each machine's own best (the DAWNBench view), ranked the same way,
only among answers to the same question (model, target accuracy and data).

Converge cases measured while the machine was busy (`invalid`) are not ranked; an answer whose
every case is invalid is still returned, with no ranked row, so that the page can say why.
Different targets or data on one machine are different questions: each gets its own answer.
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
    data_source: str | None = None  # what the accuracy was measured on: "synthetic-hard" or a folder
    invalid: tuple[Case, ...] = ()  # converge cases measured while the machine was busy: not ranked

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
    """The answer per machine, device, model, target and data that has converge cases.

    `best_epochs`: the fastest epoch per image by (machine, device, model) (the recommendations'
    best); `prices`: price per hour by machine.
    """
    found = []
    converges = [case for case in cases if case.group == vocab.CONVERGE and case.to_target is not None]
    for question in dict.fromkeys(_question(case) for case in converges):
        where, target, data_source = question
        asked = [case for case in converges if _question(case) == question]
        mine = [case for case in asked if not case.invalid]
        invalid = tuple(case for case in asked if case.invalid)
        rows = rank([ToTarget(case, case.to_target, interval(case, case.to_target),
                              derive.cost(case.to_target.seconds, prices.get(where[0]))) for case in mine])
        tutorial = next((row for row in rows if is_tutorial(row.case)), None)
        best_epoch = best_epochs.get(where)
        per_image = None
        if best_epoch is not None:
            per_image = next((row for row in rows if _same_settings(row.case, best_epoch)), None)
        found.append(TargetAnswer(where, target, rows, tutorial, best_epoch, per_image, data_source, invalid))
    return found


@dataclass(frozen=True)
class Across:
    """One row of the DAWNBench view: a machine and device at its own fastest to target."""

    answer: TargetAnswer
    rank: int  # 1 for the fastest of its question (model, target, data); ties share it

    @property
    def best(self) -> ToTarget:
        return self.answer.fastest


def across_machines(found: Sequence[TargetAnswer]) -> list[Across]:
    """The DAWNBench view: per question (model, target accuracy, data), every machine and device at
    its own fastest to target, ranked by seconds; two whose intervals overlap share a rank.
    Answers with nothing that reached the target are left out (their own rows say why)."""
    rows = []
    for question in dict.fromkeys(_asked(answer) for answer in found):
        best = sorted((answer for answer in found if _asked(answer) == question and answer.fastest is not None),
                      key=lambda answer: answer.fastest.seconds)
        opener, number = None, 0
        for position, answer in enumerate(best, start=1):
            if opener is None or not derive.overlap(opener.fastest.interval, answer.fastest.interval):
                opener, number = answer, position
            rows.append(Across(answer, number))
    return rows


def is_tutorial(case: Case) -> bool:
    """The tutorial's recipe: its batch size, workers and pipeline, at its learning rate (where recorded)."""
    config = case.config
    settings = all(getattr(config, axis) == value for axis, value in vocab.TUTORIAL_SETTINGS.items())
    return settings and (case.lr is None or abs(case.lr - vocab.TUTORIAL_LR) <= 1e-12)


def _question(case: Case) -> tuple:
    """What a converge case answers: where, to which accuracy, on which data."""
    return case.config.where(), case.target_accuracy, case.data_source


def _asked(answer: TargetAnswer) -> tuple:
    """The question shared across machines: the model, the target accuracy and the data."""
    return answer.where[2], answer.target_accuracy, answer.data_source


def _same_settings(converge: Case, epoch: Case) -> bool:
    a, b = converge.config, epoch.config
    return (a.batch_size, a.num_workers, a.loader, a.transform, a.threads) == (
        b.batch_size, b.num_workers, b.loader, b.transform, b.threads)
