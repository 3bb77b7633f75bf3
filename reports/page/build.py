"""The pipeline, assembled in one place: records -> `ReportData` -> HTML.

    reading (load, runs, tidy, cases) -> analysis (verdicts, advice, costs, machine trust,
    like-for-like comparisons, compile payoff, scaling, time to target) -> words -> charts
    -> the page's parts -> `ReportData` -> html

The page's parts, each in its own module of `reports.page.parts`: `answer` (the first screen:
by time to a trained classifier where a configuration reached its target, else by epoch time;
the machines' cards), `evidence` (why), `result_tables` (every table as measured),
`machine_tables` (where it was measured), `frame` (lead, notices, method, footer);
`reports.page.figures` embeds the charts.

`build_report_data` is pure: it reads no file and writes none (the command line does both).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.contract import Machine
from reports.analysis.analyse import analyse
from reports.analysis.scaling import scaling_points
from reports.page import display as show
from reports.page import target_words
from reports.page.charts.convergence import accuracy_curves
from reports.page.charts.findings import answer_chart, cost_chart, phases_chart
from reports.page.charts.scaling import scaling_efficiency
from reports.page.figures import chart_view, drawn_view, report_charts
from reports.page.html import render
from reports.page.parts.answer import (
    across_table,
    answer_notes,
    answer_table,
    summaries,
    target_answers,
    to_target_table,
)
from reports.page.parts.evidence import (
    comparison_sentences,
    compile_table,
    costs_table,
    phase_sentences,
    recommendations_table,
    scaling_table,
    to_target_ranking,
    trace_links,
    verdicts_table,
)
from reports.page.parts.frame import facts, footer, incomplete, lead, method, run_notices
from reports.page.parts.machine_tables import machines_table, runs_table
from reports.page.parts.result_tables import foreign_table, group_tables, not_measured_table
from reports.page.report_data import ReportData
from reports.reading import tidy as tidy_stage
from reports.reading.cases import cases as typed_cases
from reports.reading.load import Record
from reports.reading.machines import machines_frame
from reports.reading.not_measured import cases_not_measured
from reports.reading.prices import Prices
from reports.reading.runs import runs, separate_machines
from reports.reading.timelines import select_timeline_cases, timelines


def build_report(records: Sequence[Record], prices: Prices | None = None, title: str | None = None,
                 made_by: str = "cifarbench", trace_base: Path | None = None) -> str:
    """The whole report for `records` as an HTML string (pure: reads no result files, writes nothing).

    `trace_base`: the folder the report will be written to, so that links to profiler traces
    are relative to it (absolute when not given).
    """
    return render(build_report_data(records, prices, title, made_by, trace_base))


def build_report_data(records: Sequence[Record], prices: Prices | None = None, title: str | None = None,
                      made_by: str = "cifarbench", trace_base: Path | None = None) -> ReportData:
    """Run the pipeline: every stage once, in order."""
    records, notices = separate_machines(records)
    frame = tidy_stage.tidy(records)
    ours = tidy_stage.ours(frame)
    machines = machines_frame(records)
    our_machines = machines[machines["cifarbench"]] if not machines.empty else machines
    prices = prices or Prices()
    run_prices = {row.machine: float(row.price_per_hour) for row in our_machines.itertuples()
                  if show.known(row.price_per_hour)}
    preflights = {row.machine: row.preflight for row in our_machines.itertuples() if isinstance(row.preflight, dict)}
    noises = {row.machine: float(row.repeat_noise) for row in our_machines.itertuples() if show.known(row.repeat_noise)}
    analysis = analyse(typed_cases(frame), run_prices, prices.per_hour, prices.currency, preflights, noises=noises,
                       scaling=scaling_points(frame))
    all_runs = runs(records)
    notices += run_notices(all_runs, frame)
    timeline_frame = timelines(records, select_timeline_cases(frame))
    # The answer is by time to target where some configuration reached it; else by epoch time, saying why.
    by_target = any(answer.fastest is not None for answer in analysis.to_target)
    epochs = answer_table(analysis, id="throughput" if by_target else "answer") if analysis.answers else None
    return ReportData(
        title=title or "cifarbench report",
        lead=lead(ours, our_machines),
        notices=notices + incomplete(our_machines),
        summaries=summaries(analysis, our_machines, _searches(records)),
        answer_title=target_words.answer_title(by_target),
        answer_lead=(target_words.to_target_headline(analysis.to_target) if by_target
                     else target_words.epoch_headline(analysis.ranked_by, analysis.to_target, bool(analysis.answers))),
        answer=to_target_table(analysis) if by_target else epochs,
        across=across_table(analysis, our_machines) if by_target else None,
        answer_notes=answer_notes(analysis),
        curves_chart=drawn_view(accuracy_curves(target_answers(analysis))),
        to_target=to_target_ranking(analysis),
        throughput=epochs if by_target else None,
        answer_chart=chart_view(answer_chart(analysis)) if analysis.answers else None,
        comparisons=comparison_sentences(analysis),
        scaling=scaling_table(analysis.scaling) if analysis.scaling else None,
        scaling_chart=chart_view(scaling_efficiency(analysis.scaling)) if analysis.scaling else None,
        method=method(ours),
        facts=facts(ours, frame),
        verdicts=verdicts_table(analysis),
        recommendations=recommendations_table(analysis),
        costs=costs_table(analysis),
        cost_chart=chart_view(cost_chart(analysis)) if analysis.costs else None,
        phase_sentences=phase_sentences(analysis),
        phases_chart=drawn_view(phases_chart(analysis)),
        traces=trace_links(ours, trace_base),
        compile_payoffs=compile_table(analysis),
        machines=machines_table(our_machines) if not our_machines.empty else None,
        runs=runs_table(all_runs, frame) if all_runs else None,
        # Compiled rows are other configurations: the charts compare eager ones (the compile table the rest).
        charts=[chart_view(chart) for chart in report_charts(tidy_stage.eager(frame), timeline_frame)]
        if len(ours) else [],
        groups=group_tables(ours, analysis),
        foreign=foreign_table(tidy_stage.foreign(frame)),
        not_measured=not_measured_table(cases_not_measured(records)),
        footer=footer(made_by, all_runs, records),
    )


def _searches(records: Sequence[Record]) -> dict[str, dict]:
    """The auto preset's search by machine (`machine_info["cifarbench"]["search"]`), the newest run's."""
    found: dict[str, tuple[str, dict]] = {}
    for record in records:
        search = record.facts.get(Machine.search)
        started = str(record.run.get("started") or record.datetime or "")
        if isinstance(search, dict) and (record.machine not in found or started >= found[record.machine][0]):
            found[record.machine] = (started, search)
    return {machine: search for machine, (_, search) in found.items()}
