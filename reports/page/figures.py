"""Figures as the page embeds them: a drawn chart as an SVG data URI, or the reason it was not drawn;
and `report_charts`, the charts of the report's figures section, in reading order."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pandas as pd

from reports.page.charts import base as charts_stage
from reports.page.charts.base import Chart
from reports.page.charts.throughput import epoch_time, gpu_speedup, loader_throughput, training_throughput
from reports.page.charts.utilization import utilization_by_machine, utilization_heatmap, utilization_timelines


@dataclass
class ChartView:
    key: str
    title: str
    sentence: str
    src: str | None  # data URI of the SVG
    reason: str | None


def chart_view(chart: charts_stage.Chart) -> ChartView:
    """The chart's view: its SVG as a data URI, or the reason it was not drawn."""
    if chart.figure is None:
        return ChartView(chart.key, chart.title, chart.sentence, None, chart.reason or "not drawn")
    svg = charts_stage.to_svg(chart.figure)
    return ChartView(chart.key, chart.title, chart.sentence,
                     "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(), None)


def drawn_view(chart: charts_stage.Chart) -> ChartView | None:
    """The chart's view when it was drawn; None when it was not (the page then leaves it out)."""
    return chart_view(chart) if chart.figure is not None else None


def report_charts(frame: pd.DataFrame, timeline_frame: pd.DataFrame | None = None) -> list[Chart]:
    """Every chart of the report, in reading order."""
    return [
        training_throughput(frame),
        loader_throughput(frame),
        epoch_time(frame),
        gpu_speedup(frame),
        utilization_heatmap(frame, "gpu_util_pct_mean"),
        utilization_heatmap(frame, "cpu_pct_mean"),
        utilization_by_machine(frame),
        utilization_timelines(timeline_frame if timeline_frame is not None else pd.DataFrame()),
    ]
