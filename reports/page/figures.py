"""Figures as the page embeds them: a drawn chart as an SVG data URI, or the reason it was not drawn."""

from __future__ import annotations

import base64
from dataclasses import dataclass

from reports.page.charts import base as charts_stage


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
