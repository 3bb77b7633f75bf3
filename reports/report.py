"""The pipeline, assembled in one place: records -> `ReportData` -> HTML.

    load -> runs (machines kept apart, runs listed) -> tidy (one frame) -> cases (typed)
    -> analysis (verdicts, advice, costs, trust, comparisons) -> words -> charts
    -> display tables -> `ReportData` -> html

`build_report_data` is pure: it reads no file and writes none (the command line does both).
"""

from __future__ import annotations

import base64
import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from reports import charts as charts_stage
from reports import display as show
from reports import tidy as tidy_stage
from reports import words
from reports.analysis import Analysis, analyse
from reports.cases import cases as typed_cases
from reports.columns import COLUMNS, Column, Table, table
from reports.html import render
from reports.load import Record
from reports.prices import Prices
from reports.runs import Run, runs, separate_machines
from reports.scaling import ScalingPoint, scaling_points

GROUP_TITLES = {
    "loader": "DataLoader alone",
    "forward": "Forward pass",
    "train_step": "Train step",
    "epoch": "Training epoch",
    tidy_stage.DDP_GROUP: "Data-parallel epoch",
}
GROUP_SENTENCES = {
    "loader": "images per second an input pipeline serves on its own, without training",
    "forward": "a forward pass of the model on data already on the device",
    "train_step": "forward, backward and optimizer step on data already on the device: the compute ceiling",
    "epoch": "whole training epochs through the input pipeline, as the tutorial's loop runs them",
    tidy_stage.DDP_GROUP: ("a training epoch on every rank under DistributedDataParallel, all ranks together; "
                           "images/s counts every rank's images"),
}
GPM_COLUMNS = ["sm_active_pct", "sm_occupancy_pct", "tensor_active_pct", "dram_bw_util_pct"]
GROUP_COLUMNS = {
    "loader": ["machine", "loader", "transform", "batch_size", "num_workers", "pin_memory", "device", "trust",
               "images_per_sec", "images_per_sec_range", "first_batch_seconds", "cpu_pct_mean",
               "cpu_core_pct_max_mean", "workers_cpu_pct_mean"],
    "forward": ["machine", "device", "model", "batch_size", "trust", "images_per_sec", "images_per_sec_range",
                "achieved_tflops", "fraction_of_peak", "peak_mem_mib", "gpu_util_pct_mean", *GPM_COLUMNS,
                "cpu_pct_mean", "speedup_vs_cpu"],
    "train_step": ["machine", "device", "model", "batch_size", "amp", "channels_last", "compile", "trust",
                   "images_per_sec", "images_per_sec_range", "achieved_tflops", "fraction_of_peak", "train_loss",
                   "peak_mem_mib", "gpu_util_pct_mean", *GPM_COLUMNS, "cpu_pct_mean", "speedup_vs_cpu",
                   "images_per_joule"],
    "epoch": ["machine", "device", "model", "loader", "transform", "batch_size", "num_workers", "compile", "trust",
              "verdict",
              "images_per_sec", "images_per_sec_range", "full_epoch_seconds", "epoch_note", "eval_accuracy",
              "fraction_of_peak", "gpu_util_pct_mean", *GPM_COLUMNS, "cpu_pct_mean", "workers_cpu_pct_mean",
              "other_cpu_pct", "speedup_vs_cpu", "joules_per_epoch"],
    # Efficiency and the ranks' spread are in the scaling section, derived there once.
    tidy_stage.DDP_GROUP: ["machine", "device", "model", "loader", "batch_size", "scaling", "backend", "world_size",
                           "nnodes", "trust", "images_per_sec", "images_per_sec_range", "train_loss",
                           "straggler_ratio", "allreduce_share"],
}
SCALING_COLUMNS = ["machine", "model", "device", "loader", "rank_batch_size", "scaling", "backend", "world_size",
                   "nnodes", "trust", "images_per_sec", "baseline_images_per_sec", "scaling_efficiency",
                   "rank_efficiency_range", "straggler_ratio", "allreduce_share"]
# Said once, under the table, when every row agrees.
FOLDABLE = ("transform", "pin_memory", "amp", "channels_last", "compile", "trust", "epoch_note", "backend", "scaling")
ANSWER_COLUMNS = ["rank", "machine", "trust", "device", "model", "configuration", "images_per_sec",
                  "images_per_sec_range", "full_epoch_seconds", "epoch_note", "limit", "speedup_vs_tutorial",
                  "cost_per_epoch"]
DETAILS_OPEN_ROWS = 200  # longer tables start folded


@dataclass
class ChartView:
    key: str
    title: str
    sentence: str
    src: str | None  # data URI of the SVG
    reason: str | None


@dataclass
class MachineSummary:
    name: str
    trust: str  # ok, noisy, invalid, unknown: the element's data-trust
    trust_line: str
    advice: list[str]
    facts: str


@dataclass
class GroupTable:
    group: str
    title: str
    sentence: str
    table: Table


@dataclass
class ReportData:
    """Everything the page shows, display-ready. `reports.html` renders it and nothing else."""

    title: str
    lead: str
    notices: list[str] = field(default_factory=list)
    summaries: list[MachineSummary] = field(default_factory=list)
    answer: Table | None = None
    answer_notes: list[str] = field(default_factory=list)
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
    machines = tidy_stage.machines_table(records)
    our_machines = machines[machines["cifarbench"]] if not machines.empty else machines
    prices = prices or Prices()
    run_prices = {row.machine: float(row.price_per_hour) for row in our_machines.itertuples()
                  if show.known(row.price_per_hour)}
    preflights = {row.machine: row.preflight for row in our_machines.itertuples() if isinstance(row.preflight, dict)}
    analysis = analyse(typed_cases(frame), run_prices, prices.per_hour, prices.currency, preflights,
                       scaling=scaling_points(frame))
    all_runs = runs(records)
    notices += _run_notices(all_runs, frame)
    timeline_frame = tidy_stage.timelines(records, tidy_stage.select_timeline_cases(frame))
    return ReportData(
        title=title or "cifarbench report",
        lead=_lead(ours, our_machines),
        notices=notices + _incomplete(our_machines),
        summaries=_summaries(analysis, our_machines),
        answer=_answer_table(analysis) if analysis.answers else None,
        answer_notes=_answer_notes(analysis),
        answer_chart=_chart_view(charts_stage.answer_chart(analysis)) if analysis.answers else None,
        comparisons=[words.comparison(found) for found in analysis.comparisons],
        scaling=_scaling_table(analysis.scaling) if analysis.scaling else None,
        scaling_chart=_chart_view(charts_stage.scaling(analysis.scaling)) if analysis.scaling else None,
        method=_method(ours),
        facts=_facts(ours, frame),
        verdicts=_verdicts_table(analysis),
        recommendations=_recommendations_table(analysis),
        costs=_costs_table(analysis),
        cost_chart=_chart_view(charts_stage.cost_chart(analysis)) if analysis.costs else None,
        phase_sentences=_phase_sentences(analysis),
        phases_chart=_phases_chart(analysis),
        traces=_traces(ours, trace_base),
        compile_payoffs=_compile_table(analysis),
        machines=_machines_table(our_machines) if not our_machines.empty else None,
        runs=_runs_table(all_runs, frame) if all_runs else None,
        # Compiled rows are other configurations: the charts compare eager ones (the compile table the rest).
        charts=[_chart_view(chart) for chart in charts_stage.report_charts(tidy_stage.eager(frame), timeline_frame)]
        if len(ours) else [],
        groups=_group_tables(ours, analysis),
        foreign=_foreign_table(tidy_stage.foreign(frame)),
        not_measured=_not_measured_table(tidy_stage.cases_not_measured(records)),
        footer=_footer(made_by, all_runs, records),
    )


def _phases_chart(analysis: Analysis) -> ChartView | None:
    chart = charts_stage.phases_chart(analysis)
    return _chart_view(chart) if chart.figure is not None else None


def _phase_sentences(analysis: Analysis) -> list[str]:
    """Per machine, device and model: how much of each step waits for input, tutorial against best."""
    found = []
    for answer in analysis.answers:
        rec = answer.recommendation
        parts = []
        for role, case in (("at the tutorial's settings", rec.tutorial), ("at the best configuration", rec.best)):
            if case is not None and case.wait_share is not None and not (role.endswith("best configuration")
                                                                         and case is rec.tutorial):
                parts.append(f"{role} {words.waiting(case)}")
        if parts:
            found.append(f"{' · '.join(str(part) for part in rec.where if part)}: {'; '.join(parts)}.")
    return found


@dataclass(frozen=True)
class TraceLink:
    """A profiler trace of one case: where it is (relative to the report) and its top operators."""

    machine: str
    case: str
    href: str
    top_operators: str


def _traces(ours: pd.DataFrame, trace_base: Path | None) -> list[TraceLink]:
    """Profiler traces (--bench-trace): a link per case, with its top operators by self time."""
    if "trace_file" not in ours or not ours["trace_file"].notna().any():
        return []
    found = []
    for row in ours[ours["trace_file"].notna()].itertuples(index=False):
        path = Path(row.trace_file)
        href = os.path.relpath(path, trace_base) if trace_base is not None else path.as_posix()
        top = "; ".join(f"{name} {show.seconds(seconds)} s" for name, seconds, _calls in (row.trace_top_ops or ())[:5]
                        if isinstance(seconds, int | float))
        found.append(TraceLink(row.machine, row.name, href, top))
    return found


def _chart_view(chart: charts_stage.Chart) -> ChartView:
    if chart.figure is None:
        return ChartView(chart.key, chart.title, chart.sentence, None, chart.reason or "not drawn")
    svg = charts_stage.to_svg(chart.figure)
    return ChartView(chart.key, chart.title, chart.sentence,
                     "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(), None)


# --- the answer ------------------------------------------------------------------------------------


def _summaries(analysis: Analysis, machines: pd.DataFrame) -> list[MachineSummary]:
    cores = {row.machine: row.cores_usable for row in machines.itertuples()} if not machines.empty else {}
    facts = {row.machine: _machine_facts(row) for row in machines.itertuples()} if not machines.empty else {}
    found = []
    for machine in analysis.machines():
        trust = analysis.trust[machine]
        usable = cores.get(machine)
        advice = [words.advice(answer.recommendation, int(usable) if show.known(usable) else None)
                  for answer in analysis.answers if answer.recommendation.where[0] == machine]
        if len(advice) > 1:  # several devices or models: say which each sentence is for
            advice = [f"{answer.recommendation.where[2]} on {answer.recommendation.where[1]}: {text}"
                      for answer, text in zip([a for a in analysis.answers if a.recommendation.where[0] == machine],
                                              advice, strict=True)]
        advice += [words.scaling(point) for point in _widest(analysis.scaling, machine)]
        found.append(MachineSummary(machine, trust.level or "unknown", words.trust_line(trust), advice,
                                    facts.get(machine, "")))
    return found


def _widest(points: Sequence[ScalingPoint], machine: str) -> list[ScalingPoint]:
    """Per configuration of `machine`, its data-parallel case with the most ranks (more than one)."""
    widest: dict[tuple, ScalingPoint] = {}
    for point in points:
        if point.machine != machine or point.world_size < 2:
            continue
        if point.configuration not in widest or point.world_size > widest[point.configuration].world_size:
            widest[point.configuration] = point
    return list(widest.values())


def _machine_facts(row) -> str:
    parts = [show.text(row.cpu)]
    if show.known(row.cores_usable):
        parts.append(f"{show.plural(int(row.cores_usable), 'core')} usable")
    if show.known(row.torch_threads):
        parts.append(f"{show.plural(int(row.torch_threads), 'torch thread')}")
    parts.append(show.text(row.gpus) or "no GPU")
    return ", ".join(part for part in parts if part)


def _answer_table(analysis: Analysis) -> Table:
    rows, attributes = [], []
    for answer in analysis.answers:
        rec = answer.recommendation
        machine, device, model = rec.where
        row = {"rank": answer.rank, "machine": machine, "trust": answer.trust.label, "device": device, "model": model}
        if rec.best is None:
            row["configuration"] = "not ranked"
            row["limit"] = words.advice(rec, None)
        else:
            best = rec.best
            row.update(configuration=words.configuration(best), images_per_sec=best.images_per_sec,
                       images_per_sec_range=show.spread_range(best.images_per_sec_min, best.images_per_sec_max),
                       full_epoch_seconds=best.epoch_seconds, epoch_note=words.epoch_note(best),
                       limit=words.limit(rec.verdict), speedup_vs_tutorial=rec.speedup_vs_tutorial,
                       cost_per_epoch=answer.cost.cost_per_epoch if answer.cost else None)
        rows.append(row)
        attributes.append({"data-trust": answer.trust.level or "unknown"})
    ranked = "cost per epoch" if analysis.ranked_by == "cost" else "seconds per epoch"
    notes = [f"Ranked by {ranked}; the epoch is projected to 50,000 images from the images timed where fewer "
             "were timed."]
    names = ANSWER_COLUMNS
    if all(answer.trust.level is None for answer in analysis.answers):
        names = [name for name in names if name != "trust"]
        notes.append("Trust not assessed: these result files predate the harness's trust check.")
    result = table(rows, names, id="answer", formats=_money_formats(analysis), notes=notes)
    result.row_attributes = attributes
    return result


def _answer_notes(analysis: Analysis) -> list[str]:
    notes = []
    epochs = [case for case in analysis.cases if case.group == "epoch"]
    note = words.accuracy_note(epochs)
    if note:
        notes.append(note)
    return notes


def _money_formats(analysis: Analysis) -> dict:
    return {name: (lambda value, currency=analysis.currency: show.money(value, currency))
            for name in ("cost_per_epoch", "price_per_hour")}


# --- the details -----------------------------------------------------------------------------------


def _scaling_table(points: Sequence[ScalingPoint]) -> Table:
    rows = [{**dataclasses.asdict(point), "rank_batch_size": point.batch_size, "trust": point.trust or "not assessed",
             "rank_efficiency_range": show.spread_range(point.rank_efficiency_min, point.rank_efficiency_max,
                                                        show.fraction)} for point in points]
    notes = ["Scaling efficiency: the images/s of all ranks together over the number of ranks times one rank's "
             "images/s, same machine and configuration (100% is perfect). Each rank's own images/s over one "
             "rank's gives the ranks' efficiency; the straggler ratio is the slowest rank's busy time over the "
             "median rank's; the exposed all-reduce is the share of a training step spent in the gradient "
             "all-reduce that backward does not hide."]
    unknown = sorted({point.machine for point in points if point.world_size > 1 and point.scaling_efficiency is None})
    if unknown:
        notes.append(f"No one-rank case of the same configuration on {show.joined(unknown)}: the scaling efficiency "
                     "there is not known (run world size 1 in the same sweep).")
    shown, said = _fold(rows, SCALING_COLUMNS, ("model", "device", "loader", "rank_batch_size", "scaling", "backend",
                                                "nnodes", "trust"))
    return table(rows, shown, id="scaling-table", notes=said + notes)


def _verdicts_table(analysis: Analysis) -> Table | None:
    if not analysis.verdicts:
        return None
    rows = [{"machine": v.config.machine, "device": v.config.device, "model": v.config.model,
             "configuration": words.configuration(v.epoch), "verdict": v.verdict or "not judged",
             "evidence": words.evidence(v), "fraction_of_ceiling": v.fraction_of_ceiling,
             "epoch_images_per_sec": v.epoch.images_per_sec, "step_images_per_sec": v.step_speed,
             "loader_images_per_sec": v.loader_speed} for v in analysis.verdicts]
    return table(rows, ["machine", "device", "model", "configuration", "verdict", "evidence", "fraction_of_ceiling",
                        "epoch_images_per_sec", "step_images_per_sec", "loader_images_per_sec"], id="verdicts")


def _recommendations_table(analysis: Analysis) -> Table | None:
    if not analysis.recommendations:
        return None
    rows = []
    for rec in analysis.recommendations:
        machine, device, model = rec.where
        rows.append({"machine": machine, "device": device, "model": model, "advice": words.recommendation(rec),
                     "images_per_sec": rec.best.images_per_sec if rec.best else None,
                     "full_epoch_seconds": rec.best.epoch_seconds if rec.best else None,
                     "speedup_vs_tutorial": rec.speedup_vs_tutorial})
    return table(rows, ["machine", "device", "model", "advice", "images_per_sec", "full_epoch_seconds",
                        "speedup_vs_tutorial"], id="recommendations")


def _costs_table(analysis: Analysis) -> Table | None:
    if not analysis.costs or all(cost.price_per_hour is None for cost in analysis.costs):
        return None
    rows = [{"machine": cost.config.machine, "device": cost.config.device, "model": cost.config.model,
             "configuration": show.config(cost.config.batch_size, cost.config.num_workers, cost.config.loader),
             "full_epoch_seconds": cost.seconds, "price_per_hour": cost.price_per_hour,
             "cost_per_epoch": cost.cost_per_epoch, "time_rank": cost.time_rank, "cost_rank": cost.cost_rank}
            for cost in analysis.costs]
    notes = [] if analysis.currency else ["Amounts are in the prices' currency (the prices file names none)."]
    return table(rows, ["machine", "device", "model", "configuration", "full_epoch_seconds", "price_per_hour",
                        "cost_per_epoch", "time_rank", "cost_rank"], id="costs", formats=_money_formats(analysis),
                 notes=notes)


def _compile_table(analysis: Analysis) -> Table | None:
    if not analysis.compile_payoffs:
        return None
    rows = []
    for found in analysis.compile_payoffs:
        c = found.compiled.config
        variant = [name for on, name in ((found.compiled.amp, "bf16"), (found.compiled.channels_last,
                                                                       "channels_last")) if on]
        configuration = ", ".join([show.config(c.batch_size, c.num_workers, c.loader), *variant])
        rows.append({"machine": c.machine, "device": c.device, "model": c.model,
                     "group": "epoch" if found.group == "epoch" else "train step", "configuration": configuration,
                     "compile": c.compile, "trust": found.trust or "not assessed",
                     "eager_images_per_sec": found.eager.images_per_sec if found.eager else None,
                     "compiled_images_per_sec": found.compiled.images_per_sec, "speedup_vs_eager": found.speedup,
                     "compile_seconds": found.compile_seconds, "recompiles": found.compiled.recompiles,
                     "eager_epoch_seconds": found.eager_epoch_seconds,
                     "compiled_epoch_seconds": found.compiled_epoch_seconds,
                     "break_even_epochs": found.break_even_epochs if found.outcome == "pays_off"
                     else "never" if found.outcome == "never" else None,
                     "payoff": words.compile_payoff(found)})
    notes = ["Compile time is the first compiled step (or pass) minus a warm eager one, measured before the timed "
             "rounds and kept out of them (a cold compile). Break-even: epochs of 50,000 images before the compile "
             "time is paid back, compile time / (eager epoch - compiled epoch); for a train step the epoch is "
             "50,000 images at the step's rate, the compute alone."]
    return table(rows, ["machine", "device", "model", "group", "configuration", "compile", "trust",
                        "eager_images_per_sec", "compiled_images_per_sec", "speedup_vs_eager", "compile_seconds",
                        "eager_epoch_seconds", "compiled_epoch_seconds", "break_even_epochs", "recompiles", "payoff"],
                 id="compile", notes=notes)


def _group_tables(ours: pd.DataFrame, analysis: Analysis) -> list[GroupTable]:
    verdict_of = {v.config: v.verdict or "not judged" for v in analysis.verdicts}
    tables = []
    for group in (*tidy_stage.GROUPS, tidy_stage.DDP_GROUP):
        rows = ours[ours["group"] == group]
        if rows.empty:
            continue
        names = GROUP_COLUMNS[group]
        present = [name for name in names if name in rows.columns]
        wanted = [*present, "full_epoch_projected", "epoch_images", "images_per_sec_min", "images_per_sec_max",
                  "trust_level", "batch_size", "num_workers", "model", "loader", "transform", "device",
                  "gpm_reason", "compile"]
        records = rows[[name for name in dict.fromkeys(wanted) if name in rows.columns]].to_dict("records")
        for record in records:
            record["trust"] = record["trust_level"] if show.known(record.get("trust_level")) else "not assessed"
            record["images_per_sec_range"] = show.spread_range(record.get("images_per_sec_min"),
                                                               record.get("images_per_sec_max"))
            if group == "epoch":
                record["epoch_note"] = (f"from {show.integer(record['epoch_images'])} images"
                                        if record.get("full_epoch_projected") is True and
                                        show.known(record.get("epoch_images")) else "full epoch")
                record["verdict"] = verdict_of.get(_config_of(record))
        shown, notes = _fold(records, names, FOLDABLE)
        found = table(records, shown, id=f"results-{group}-table", notes=notes + _gpm_notes(records))
        tables.append(GroupTable(group, GROUP_TITLES[group], GROUP_SENTENCES[group], found))
    for group in dict.fromkeys(ours["group"].dropna()):  # groups the report does not know: as recorded
        if group not in (*tidy_stage.GROUPS, tidy_stage.DDP_GROUP):
            rows = ours[ours["group"] == group]
            found = table(rows.to_dict("records"), ["machine", "name", "params", "median_s", "mean_s", "stddev_s",
                                                    "rounds"])
            tables.append(GroupTable(str(group), str(group), "timings as recorded", found))
    return tables


def _fold(records: list[dict], names: Sequence[str], foldable: Sequence[str]) -> tuple[list[str], list[str]]:
    """(columns to show, notes): a `foldable` column whose every row agrees is said once, in a note."""
    said, shown = [], []
    for name in names:
        values = {show.text(record.get(name)) for record in records}
        if name in foldable and len(values) == 1:
            said.append(f"{COLUMNS[name].header} {values.pop() or 'n/a'}")
        else:
            shown.append(name)
    return shown, [f"Every row: {', '.join(said)}."] if said else []


def _gpm_notes(records: list[dict]) -> list[str]:
    """Why GPM's columns are empty, once per machine, device and reason."""
    missing = dict.fromkeys((record["machine"], record["device"], record["gpm_reason"]) for record in records
                            if show.known(record.get("gpm_reason")))
    return [f"SM activity, occupancy, tensor pipes and DRAM bandwidth (GPM) not recorded on {machine} {device}: "
            f"{words.strip_prefix(reason, 'GPM not recorded: ')}." for machine, device, reason in missing]


def _config_of(record: dict):
    from reports.cases import Config

    def whole(value):
        return int(value) if show.known(value) else None

    def word(value):
        return str(value) if show.known(value) else None

    return Config(record["machine"], record["device"], word(record.get("model")), whole(record.get("batch_size")),
                  whole(record.get("num_workers")), word(record.get("loader")), word(record.get("transform")),
                  word(record.get("compile")) or "eager")


def _machines_table(machines: pd.DataFrame) -> Table:
    rows = []
    for record in machines.to_dict("records"):
        cores = show.integer(record["cores_usable"])
        if show.known(record["cores_logical"]) and show.integer(record["cores_logical"]) != cores:
            cores = f"{cores} of {show.integer(record['cores_logical'])}" if cores else show.integer(
                record["cores_logical"])
        gpu = show.known(record["gpus"]) and bool(record["gpus"])
        rows.append({**record, "cores": cores, "gpus": record["gpus"] if gpu else "none",
                     "peaks": _peaks(record["peak_tflops"]), "busbw": _busbw(record["allreduce_busbw_gb_per_s"]),
                     # CUDA and cuDNN are the torch build's; on a machine without a GPU they say nothing.
                     "cuda": record["cuda"] if gpu else None, "cudnn": record["cudnn"] if gpu else None,
                     "preset": record["preset"]})
    return table(rows, ["machine", "cpu", "cores", "torch_threads", "ram_gib", "gpus", "driver", "python", "torch",
                        "torchvision", "cuda", "cudnn", "peaks", "busbw", "price_per_hour", "preset", "files"],
                 id="machines",
                 formats={"price_per_hour": show.number})


def _peaks(peaks) -> str:
    if not isinstance(peaks, dict):
        return ""
    parts = []
    for device, per_dtype in peaks.items():
        if isinstance(per_dtype, dict):
            values = ", ".join(f"{show.number(value)} {dtype.replace('bfloat', 'bf').replace('float', 'fp')}"
                               for dtype, value in per_dtype.items() if show.known(value))
            parts.append(f"{device}: {values}")
    return "; ".join(parts)


def _busbw(busbw) -> str:
    """'gloo, 2 ranks: 0.104 at 256 KiB, 0.789 at 4 MiB'."""
    if not isinstance(busbw, dict):
        return ""
    parts = []
    for key, per_size in busbw.items():
        if not isinstance(per_size, dict):
            continue
        backend, _, ranks = str(key).partition(":ws")
        where = f"{backend}, {show.plural(int(ranks), 'rank')}" if ranks.isdigit() else str(key)
        sizes = sorted((int(size), value) for size, value in per_size.items()
                       if str(size).isdigit() and show.known(value))
        parts.append(f"{where}: " + ", ".join(f"{show.number(value)} at {show.size(size)}" for size, value in sizes))
    return "; ".join(parts)


def _run_notices(all_runs: list[Run], frame: pd.DataFrame) -> list[str]:
    notices = []
    per_machine: dict[str, list[Run]] = {}
    for run in all_runs:
        per_machine.setdefault(run.machine, []).append(run)
    for machine, found in per_machine.items():
        if len(found) > 1:
            notices.append(f"{machine} has {len(found)} runs: each case shows its newest measurement; every run is "
                           "listed under Runs, older ones included.")
    return notices


def _runs_table(all_runs: list[Run], frame: pd.DataFrame) -> Table:
    used = frame["file"].value_counts().to_dict() if not frame.empty else {}
    rows = [{"machine": run.machine, "file": Path(run.file).name, "started": _when(run.started), "preset": run.preset,
             "cases": run.cases, "used": used.get(run.file, 0),
             "params": f"{run.commit}{' (uncommitted changes)' if run.dirty else ''}" if run.commit else ""}
            for run in all_runs]
    found = table(rows, ["machine", "file", "started", "preset", "cases", "used", "params"], id="runs")
    found.columns = [Column("commit", "sweep commit") if column.name == "params" else column
                     for column in found.columns]
    return found


def _when(started: str | None) -> str:
    stamp = pd.to_datetime(started, utc=True, errors="coerce", format="ISO8601") if started else pd.NaT
    return "" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d %H:%M")


def _foreign_table(foreign: pd.DataFrame) -> Table | None:
    if foreign.empty:
        return None
    rows = [{**record, "file": Path(str(record["file"])).name} for record in foreign.to_dict("records")]
    return table(rows, ["machine", "file", "group", "name", "params", "median_s", "mean_s", "stddev_s", "min_s",
                        "rounds"], id="other-table")


def _not_measured_table(cases: pd.DataFrame) -> Table | None:
    if cases.empty:
        return None
    rows = [{**record, "name": show.text(record["nodeid"]).rpartition("::")[2]} for record in cases.to_dict("records")]
    return table(rows, ["machine", "group", "name", "outcome", "reason"], id="not-measured-table")


# --- the page's frame ------------------------------------------------------------------------------


def _lead(ours: pd.DataFrame, machines: pd.DataFrame) -> str:
    if ours.empty:
        return "No cifarbench results here: only other pytest-benchmark results, in the table at the end."
    names = list(machines["machine"]) if not machines.empty else []
    listed = f" ({show.joined(names)})" if len(names) <= 8 else ""
    models = sorted({str(value) for value in ours["model"].dropna()})
    return (f"CIFAR-10 training throughput measured with cifarbench: {len(ours):,} cases on "
            f"{show.plural(len(names), 'machine')}{listed}"
            + (f", model {show.joined(models)}" if models else "") + ".")


def _incomplete(machines: pd.DataFrame) -> list[str]:
    names = [str(row.machine) for row in machines.itertuples() if row.complete is False] if not machines.empty else []
    if not names:
        return []
    return [f"Incomplete sweep (interrupted or still running): {show.joined(names)}. The cases finished before the "
            "stop are shown."]


def _method(ours: pd.DataFrame) -> list[dict]:
    return [{"title": GROUP_TITLES[group], "sentence": GROUP_SENTENCES[group],
             "count": int((ours["group"] == group).sum())}
            for group in (*tidy_stage.GROUPS, tidy_stage.DDP_GROUP)
            if not ours.empty and (ours["group"] == group).any()]


def _facts(ours: pd.DataFrame, frame: pd.DataFrame) -> list[tuple[str, str]]:
    facts = []
    if ours.empty:
        return facts
    data = sorted({"synthetic CIFAR-10-shaped data" if value == "synthetic" else f"CIFAR-10 from {value}"
                   for value in ours["data_source"].dropna()})
    if data:
        facts.append(("Data", show.joined(data)))
    presets = sorted({str(value) for value in ours["preset"].dropna()})
    if presets:
        facts.append(("Sweep preset", show.joined(presets)))
    started = ours["run_started"].dropna()
    if not started.empty:
        first, last = started.min().strftime("%Y-%m-%d %H:%M UTC"), started.max().strftime("%Y-%m-%d %H:%M UTC")
        facts.append(("Runs", first if first == last else f"{first} to {last}"))
    facts.append(("Reading", "Throughput is images per second of the median timed round; higher is better. The "
                             "range beside it spans the slowest to the fastest round. Epoch times are for 50,000 "
                             "images; where fewer were timed the time is projected and says from how many."))
    return facts


def _footer(made_by: str, all_runs: list[Run], records: Sequence[Record]) -> str:
    commits = sorted({f"{run.commit}{' with uncommitted changes' if run.dirty else ''}" for run in all_runs
                      if run.commit})
    files = len({record.file for record in records})
    text = f"Made by {made_by} from {show.plural(files, 'result file')}"
    if commits:
        text += f"; the sweeps ran cifarbench at commit {show.joined(commits)}"
    return text + ". Figures, styles and the table-sorting script are inline; this page loads nothing else."
