"""Stage 3c, costs: what an epoch of each recommended configuration costs, and the ranks.

Prices per hour come from the runs (`--bench-price-per-hour`) or a prices file, which
overrides them. Time and cost ranks are per model, across machine-device pairs; a pair
without a valid epoch is not ranked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.contract import derive
from reports.analysis.advice import Recommendation
from reports.reading.cases import Config


@dataclass(frozen=True)
class Cost:
    """The fastest valid epoch of one machine, device and model: its time and cost."""

    config: Config
    seconds: float
    projected: bool
    price_per_hour: float | None
    price_source: str | None  # "run" or "prices file"
    time_rank: int | None = None
    cost_rank: int | None = None

    @property
    def cost_per_epoch(self) -> float | None:
        return derive.cost(self.seconds, self.price_per_hour)


def machine_prices(run_prices: dict[str, float], file_prices: dict[str, float] | None) -> dict[str, tuple[float, str]]:
    """machine -> (price per hour, where it came from): the prices file overrides the run's."""
    found = {machine: (price, "run") for machine, price in run_prices.items()}
    for machine, price in (file_prices or {}).items():
        found[machine] = (price, "prices file")
    return found


def costs(recommendations: Sequence[Recommendation], prices: dict[str, tuple[float, str]]) -> list[Cost]:
    """A `Cost` per recommendation with a best epoch, ranked by time and by cost within each model."""
    found = []
    for rec in recommendations:
        if rec.best is None:
            continue
        price, source = prices.get(rec.best.config.machine, (None, None))
        found.append(Cost(rec.best.config, rec.best.epoch_seconds, rec.best.full_epoch_projected, price, source))
    ranked = []
    for model in dict.fromkeys(cost.config.model for cost in found):
        same = [cost for cost in found if cost.config.model == model]
        time_rank = _ranks([cost.seconds for cost in same])
        cost_rank = _ranks([cost.cost_per_epoch for cost in same])
        ranked += [Cost(cost.config, cost.seconds, cost.projected, cost.price_per_hour, cost.price_source,
                        time, money) for cost, time, money in zip(same, time_rank, cost_rank, strict=True)]
    return ranked


def _ranks(values: list[float | None]) -> list[int | None]:
    """1 for the smallest; ties share the lower rank; None stays unranked."""
    known = sorted(value for value in values if value is not None)
    return [None if value is None else known.index(value) + 1 for value in values]
