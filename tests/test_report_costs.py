"""reports.analysis.costs: what an epoch costs per machine, ranked by time and by cost; and its chart."""

from __future__ import annotations

import matplotlib as mpl
import pytest
from matplotlib import pyplot

from reports.analysis.analyse import analyse
from reports.page.charts.findings import cost_chart
from reports.reading.cases import Case
from reports.reading.tidy import FULL_EPOCH_IMAGES
from tests.typed_cases import CPU, GPU, busy_cpu, epoch, loader, step

mpl.use("Agg")  # no display: figures are drawn off screen, as the report draws them


def two_machines() -> list[Case]:
    """A fast, expensive GPU machine and a slow, cheap CPU machine."""
    return [*busy_cpu(), loader(GPU, 40_000, loader="tensor", batch_size=256, num_workers=4, pin_memory=True),
            step(GPU, 50_000, batch_size=256),
            epoch(GPU, 25_000, batch_size=256, num_workers=4, loader="tensor", joules_per_epoch=600.0)]


def test_costs_rank_machines_by_time_and_by_cost_and_the_answer_by_cost():
    analysis = analyse(two_machines(), file_prices={GPU: 36.0, CPU: 0.36})
    costs = {cost.config.machine: cost for cost in analysis.costs}
    gpu, cpu = costs[GPU], costs[CPU]
    assert gpu.seconds == pytest.approx(2.0)
    assert gpu.cost_per_epoch == pytest.approx(36.0 / 3600 * 2.0)
    assert cpu.cost_per_epoch == pytest.approx(0.36 / 3600 * FULL_EPOCH_IMAGES / 1_900)
    assert (gpu.time_rank, gpu.cost_rank) == (1, 2)
    assert (cpu.time_rank, cpu.cost_rank) == (2, 1)
    assert analysis.ranked_by == "cost"
    assert [answer.recommendation.where[0] for answer in analysis.answers] == [CPU, GPU]


def test_the_prices_file_overrides_the_runs_price_and_unpriced_machines_rank_by_time():
    analysis = analyse(two_machines(), run_prices={GPU: 99.0}, file_prices={GPU: 36.0})
    gpu = next(cost for cost in analysis.costs if cost.config.machine == GPU)
    assert (gpu.price_per_hour, gpu.price_source) == (36.0, "prices file")
    analysis = analyse(two_machines(), run_prices={GPU: 99.0})
    costs = {cost.config.machine: cost for cost in analysis.costs}
    assert (costs[GPU].price_per_hour, costs[GPU].price_source) == (99.0, "run")
    assert costs[CPU].cost_per_epoch is None  # no price: timed, not costed
    assert costs[CPU].cost_rank is None
    assert analysis.ranked_by == "time"


def test_the_cost_chart_is_a_figure_when_a_price_is_known_and_says_why_not_otherwise():
    chart = cost_chart(analyse(two_machines(), file_prices={GPU: 36.0, CPU: 0.36}, currency="USD"))
    try:
        assert chart.figure is not None
        assert chart.sentence.endswith(".")
    finally:
        pyplot.close(chart.figure)
    chart = cost_chart(analyse(two_machines()))
    assert chart.figure is None
    assert "no price known" in chart.reason
