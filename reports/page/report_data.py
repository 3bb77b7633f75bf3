"""`ReportData`: everything the page shows, display-ready; `reports.page.build` fills it and
`reports.page.html` renders it."""

from __future__ import annotations

from dataclasses import dataclass, field

from reports.page.columns import Table
from reports.page.figures import ChartView
from reports.page.parts.answer import MachineSummary
from reports.page.parts.evidence import TraceLink
from reports.page.parts.result_tables import GroupTable

DETAILS_OPEN_ROWS = 200  # longer tables start folded


@dataclass
class ReportData:
    """Everything the page shows, display-ready. `reports.page.html` renders it and nothing else."""

    title: str
    lead: str
    notices: list[str] = field(default_factory=list)
    summaries: list[MachineSummary] = field(default_factory=list)
    answer_title: str = ""
    answer_lead: str = ""  # the sentence above the answer: what it ranks by, the target and the data
    answer: Table | None = None  # id "answer": by time to target where trained, else by epoch time
    across: Table | None = None  # the DAWNBench view, where machines answered the same question
    answer_notes: list[str] = field(default_factory=list)
    curves_chart: ChartView | None = None  # accuracy against training seconds
    to_target: Table | None = None  # every configuration trained to the target
    throughput: Table | None = None  # the answer by epoch time, as the evidence, where the answer is by target
    answer_chart: ChartView | None = None
    comparisons: list[str] = field(default_factory=list)
    scaling: Table | None = None
    scaling_chart: ChartView | None = None
    method: list[dict] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    verdicts: Table | None = None
    recommendations: Table | None = None
    costs: Table | None = None
    cost_chart: ChartView | None = None
    phase_sentences: list[str] = field(default_factory=list)
    phases_chart: ChartView | None = None
    traces: list[TraceLink] = field(default_factory=list)
    compile_payoffs: Table | None = None
    machines: Table | None = None
    runs: Table | None = None
    charts: list[ChartView] = field(default_factory=list)
    groups: list[GroupTable] = field(default_factory=list)
    foreign: Table | None = None
    not_measured: Table | None = None
    footer: str = ""
    details_open_rows: int = DETAILS_OPEN_ROWS
