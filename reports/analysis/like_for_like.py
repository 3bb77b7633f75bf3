"""Stage 3e, like for like: machines like for like, at the settings both measured.

Machines swept on different grids (batch sizes, workers, pipelines) cannot be compared by
their best measured epochs alone: one may simply have tried a faster setting. For each model
and device kind (a CPU's cases with a CPU's, a GPU's with a GPU's: the comparison names it) the
fastest ranked machine is the reference; every other machine is compared with it at the epoch
settings both measured (valid cases only), and the torch thread counts are named when they
differ. A ratio inside the cases' intervals (where another run would read them, repeats and
all; the rounds' spread in files without one) is not called a difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from reports.analysis.verdicts import THRESHOLDS, VerdictThresholds
from reports.reading.cases import Case

Setting = tuple  # (device kind, batch size, workers, pipeline, transform)


@dataclass(frozen=True)
class Comparison:
    """`machine` against `reference` for one model."""

    model: str | None
    device: str  # the device kind both sides' cases ran on: "cpu" or "cuda"
    reference: str
    machine: str
    best_ratio: float  # reference's best epoch images/s over the machine's
    shared: tuple[Setting, ...] = field(default_factory=tuple)
    shared_ratio: float | None = None  # geometric mean of reference/machine at the shared settings
    spread: float = 0.0  # how far apart the two may read with no measurable difference (a fraction)
    threads: tuple[int | None, int | None] = (None, None)  # reference's, machine's
    only_reference: tuple[Setting, ...] = field(default_factory=tuple)  # measured by the reference alone

    @property
    def within_spread(self) -> bool:
        return self.shared_ratio is not None and abs(math.log(self.shared_ratio)) <= math.log1p(self.spread)


def _setting(case: Case) -> Setting:
    c = case.config
    return ("cuda" if c.cuda else "cpu", c.batch_size, c.num_workers, c.loader, c.transform)


def comparisons(cases: Sequence[Case], ranked: Sequence[str],
                thresholds: VerdictThresholds = THRESHOLDS) -> list[Comparison]:
    """The like-for-like comparisons worth showing: where the grids or the thread counts differ.

    `ranked` is the machines' order in the answer (fastest first); per model the first ranked
    machine with valid epochs is the reference.
    """
    epochs: dict[tuple[str | None, str, str], dict[Setting, Case]] = {}
    for case in cases:
        if case.group == "epoch" and not case.invalid:
            kind = "cuda" if case.config.cuda else "cpu"
            grid = epochs.setdefault((case.config.model, kind, case.config.machine), {})
            setting = _setting(case)
            if setting not in grid or case.images_per_sec > grid[setting].images_per_sec:
                grid[setting] = case
    found = []
    for model, kind in dict.fromkeys((model, kind) for model, kind, _ in epochs):
        machines = [machine for machine in ranked if (model, kind, machine) in epochs]
        if len(machines) < 2:
            continue
        reference, ref_grid = machines[0], epochs[(model, kind, machines[0])]
        for machine in machines[1:]:
            grid = epochs[(model, kind, machine)]
            threads = (_threads(ref_grid), _threads(grid))
            if set(grid) == set(ref_grid) and threads[0] == threads[1]:
                continue  # same grid, same threads: the answer table already compares like for like
            shared = tuple(sorted(set(grid) & set(ref_grid), key=str))
            best_ratio = max(c.images_per_sec for c in ref_grid.values()) / max(c.images_per_sec for c in grid.values())
            ratio, spread = None, 0.0
            if shared:
                logs = [math.log(ref_grid[s].images_per_sec / grid[s].images_per_sec) for s in shared]
                ratio = math.exp(sum(logs) / len(logs))
                spread = max(_reach(ref_grid[s]) + _reach(grid[s]) for s in shared) or thresholds.same_speed
            found.append(Comparison(model, kind, reference, machine, best_ratio, shared, ratio, spread, threads,
                                    tuple(sorted(set(ref_grid) - set(grid), key=str))))
    return found


def _reach(case: Case) -> float:
    """How far another run may read the case from its figure, a fraction: its interval's wider
    side, else (older files) half its rounds' spread."""
    if case.interval is not None:
        low, high = case.interval
        return max(case.images_per_sec / low - 1, high / case.images_per_sec - 1) if low > 0 else 0.0
    return (case.rounds_spread or 0.0) / 2


def _threads(grid: dict[Setting, Case]) -> int | None:
    counts = {case.cpu_threads for case in grid.values() if case.cpu_threads is not None}
    return counts.pop() if len(counts) == 1 else None
