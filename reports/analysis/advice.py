"""Stage 3b, advice: the best measured configuration per machine, device and model, and what it gains.

Nothing that was not measured is recommended: the best configuration is the fastest epoch
case that is not invalid. Beside it: the tutorial's own settings (batch 4, 2 workers, pil)
when measured, what the worker count does to the epoch, where more DataLoader workers stop
helping the loader, and a train-step variant (bf16 autocast, channels_last) that measured
clearly faster. Numbers only; `reports.page.words` writes the sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from reports.analysis.verdicts import THRESHOLDS, Ceilings, Verdict, VerdictThresholds
from reports.reading.cases import Case, Config

# The tutorial's own DataLoader and batch settings (pytorch.org's "Training a Classifier").
TUTORIAL_SETTINGS = {"batch_size": 4, "num_workers": 2, "loader": "pil"}


@dataclass(frozen=True)
class WorkerPlateau:
    """Loader images/s per worker count at the best configuration's pipeline and batch size.

    `kind`: "too_small" (fewer than two counts), "still_gaining" (best at the largest count),
    "no_help" (the smallest count is within the plateau), "stops" (at `workers`).
    """

    kind: str
    speeds: dict[int, float]
    workers: int | None = None
    memory_note: str | None = None


@dataclass(frozen=True)
class WorkerEffect:
    """The epoch at another worker count, same batch size and pipeline: how much slower it is."""

    workers: int
    slowdown: float  # best epoch's images/s over this one's (> 1)
    spread: float  # the larger rounds' spread of the two (0 when unknown)


@dataclass(frozen=True)
class Variant:
    """A train-step variant measured clearly faster than fp32 NCHW at the best batch size."""

    name: str  # "bf16 autocast", "channels_last", or both joined with "and"
    speedup: float
    case: Case
    base: Case


@dataclass(frozen=True)
class Recommendation:
    """What to run on one machine's device for one model, and the evidence."""

    where: tuple[str, str, str | None]  # machine, device, model
    best: Case | None  # None when no valid epoch was measured
    verdict: Verdict | None = None
    tutorial: Case | None = None
    plateau: WorkerPlateau | None = None
    worker_effect: WorkerEffect | None = None
    variant: Variant | None = None
    step: Case | None = None  # the fp32 step at the best batch size
    best_step: Case | None = None  # the fastest train step, when no epoch was measured
    invalid_epochs: int = 0
    epochs: int = 0
    other_transforms: tuple[str, ...] = field(default_factory=tuple)

    @property
    def config(self) -> Config | None:
        return self.best.config if self.best else None

    @property
    def speedup_vs_tutorial(self) -> float | None:
        if self.best is None or self.tutorial is None:
            return None
        return self.best.images_per_sec / self.tutorial.images_per_sec

    @property
    def is_tutorial(self) -> bool:
        return self.best is not None and self.best is self.tutorial


def recommendations(cases: Sequence[Case], verdicts: Sequence[Verdict],
                    thresholds: VerdictThresholds = THRESHOLDS) -> list[Recommendation]:
    """One recommendation per machine, device and model with an epoch or a train step measured."""
    ceilings = Ceilings(cases)
    epochs: dict[tuple, list[Case]] = {}
    steps: dict[tuple, list[Case]] = {}
    for case in cases:
        if case.group == "epoch":
            epochs.setdefault(case.config.where(), []).append(case)
        elif case.group == "train_step":
            steps.setdefault(case.config.where(), []).append(case)
    by_config = {v.config: v for v in verdicts}
    found = [_recommend(where, candidates, ceilings, by_config, thresholds) for where, candidates in epochs.items()]
    for where, candidates in steps.items():
        if where not in epochs:
            valid = [case for case in candidates if not case.invalid]
            best_step = max(valid, key=lambda case: case.images_per_sec) if valid else None
            found.append(Recommendation(where, None, best_step=best_step))
    return sorted(found, key=lambda rec: tuple(str(part) for part in rec.where))


def _recommend(where, candidates: list[Case], ceilings: Ceilings, by_config: dict, thresholds) -> Recommendation:
    valid = [case for case in candidates if not case.invalid]
    invalid = len(candidates) - len(valid)
    if not valid:
        return Recommendation(where, None, invalid_epochs=invalid, epochs=len(candidates))
    best = max(valid, key=lambda case: case.images_per_sec)
    config = best.config
    return Recommendation(
        where=where, best=best, verdict=by_config.get(config),
        tutorial=_tutorial(valid, config.transform),
        plateau=worker_plateau(ceilings, config, thresholds),
        worker_effect=_worker_effect(valid, best),
        variant=_variant(ceilings, config, thresholds),
        step=ceilings.step(config), invalid_epochs=invalid, epochs=len(candidates),
        other_transforms=tuple(sorted({case.config.transform for case in valid
                                       if case.config.transform and case.config.transform != config.transform})),
    )


def _tutorial(candidates: list[Case], transform: str | None) -> Case | None:
    """The epoch at the tutorial's settings (same transform as the best), if measured."""
    for case in candidates:
        c = case.config
        if (c.batch_size == TUTORIAL_SETTINGS["batch_size"] and c.num_workers == TUTORIAL_SETTINGS["num_workers"]
                and c.loader == TUTORIAL_SETTINGS["loader"] and c.transform == transform):
            return case
    return None


def _worker_effect(candidates: list[Case], best: Case) -> WorkerEffect | None:
    """The slowest other worker count at the best's batch size and pipeline."""
    c = best.config
    others = [case for case in candidates if case.config.num_workers != c.num_workers
              and (case.config.batch_size, case.config.loader, case.config.transform)
              == (c.batch_size, c.loader, c.transform)]
    if not others or c.loader == "device":
        return None
    slowest = min(others, key=lambda case: case.images_per_sec)
    spread = max(best.rounds_spread or 0.0, slowest.rounds_spread or 0.0)
    return WorkerEffect(slowest.config.num_workers, best.images_per_sec / slowest.images_per_sec, spread)


def worker_plateau(ceilings: Ceilings, config: Config,
                   thresholds: VerdictThresholds = THRESHOLDS) -> WorkerPlateau | None:
    """Where more workers stop helping the loader of `config`'s pipeline and batch size."""
    if config.loader == "device":
        return None
    cases, note = ceilings.loader_cases(config)
    speeds: dict[int, float] = {}
    for case in cases:
        if case.config.num_workers is not None and not case.invalid:
            speeds[case.config.num_workers] = max(speeds.get(case.config.num_workers, 0.0), case.images_per_sec)
    if len(speeds) < 2:
        return WorkerPlateau("too_small", speeds, memory_note=note)
    best = max(speeds.values())
    plateau = min(workers for workers, speed in speeds.items() if speed >= thresholds.worker_plateau * best)
    kind = "still_gaining" if plateau == max(speeds) else "no_help" if plateau == min(speeds) else "stops"
    return WorkerPlateau(kind, dict(sorted(speeds.items())), plateau, note)


def _variant(ceilings: Ceilings, config: Config, thresholds: VerdictThresholds) -> Variant | None:
    base = ceilings.step(config)
    if base is None or base.invalid:
        return None
    faster = [case for case in ceilings.step_variants(config)
              if not case.invalid and case.images_per_sec >= thresholds.variant_gain * base.images_per_sec]
    if not faster:
        return None
    top = max(faster, key=lambda case: case.images_per_sec)
    name = " and ".join(part for on, part in ((top.amp, "bf16 autocast"), (top.channels_last, "channels_last")) if on)
    return Variant(name, top.images_per_sec / base.images_per_sec, top, base)
