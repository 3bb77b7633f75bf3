"""The evidence behind the answer, display-ready: one table or list per finding of the analysis.

Scaling across devices, where the time goes (phases, profiler traces), what limits each
configuration (verdicts), recommendations, costs and the torch.compile payoff.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.contract import derive
from reports.analysis.analyse import Analysis
from reports.analysis.scaling import ScalingPoint
from reports.page import display as show
from reports.page import target_words, words
from reports.page.columns import Cell, Table, fold, money_formats, table
from reports.page.parts.answer import speedup_cell

SCALING_COLUMNS = ["machine", "model", "device", "loader", "rank_batch_size", "scaling", "backend", "world_size",
                   "nnodes", "trust", "images_per_sec", "baseline_images_per_sec", "scaling_efficiency",
                   "rank_efficiency_range", "straggler_ratio", "allreduce_share"]


def scaling_table(points: Sequence[ScalingPoint]) -> Table:
    """Data-parallel scaling: each number of ranks against one rank, same machine and configuration."""
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
    shown, said = fold(rows, SCALING_COLUMNS, ("model", "device", "loader", "rank_batch_size", "scaling", "backend",
                                                "nnodes", "trust"))
    return table(rows, shown, id="scaling-table", notes=said + notes)


def comparison_sentences(analysis: Analysis) -> list[str]:
    """The like-for-like comparisons in words, each told whether the two best epochs' intervals overlap."""
    found = []
    for comparison in analysis.comparisons:
        bests = [_best_epoch(analysis, machine, comparison.model, comparison.device)
                 for machine in (comparison.reference, comparison.machine)]
        overlap = (all(case is not None and case.interval is not None for case in bests)
                   and derive.overlap(bests[0].interval, bests[1].interval))
        found.append(words.comparison(comparison, overlap))
    return found


def _best_epoch(analysis: Analysis, machine: str, model: str | None, kind: str):
    """The fastest recommended epoch of `machine` for `model` on a device of `kind` ("cpu" or "cuda")."""
    bests = [rec.best for rec in analysis.recommendations if rec.best is not None and rec.where[0] == machine
             and rec.where[2] == model and ("cuda" if rec.best.config.cuda else "cpu") == kind]
    return max(bests, key=lambda case: case.images_per_sec, default=None)


def to_target_ranking(analysis: Analysis) -> Table | None:
    """Every configuration trained to the target, ranked per machine, device, model and target: the
    reached first (ties sharing a rank), then those that missed it, then those measured on a busy machine."""
    if not analysis.to_target:
        return None
    rows = []
    for answer in analysis.to_target:
        machine, device, model = answer.where
        ranks = [row.rank for row in answer.ranked]
        for row in answer.ranked:
            shared = row.rank is not None and ranks.count(row.rank) > 1
            rows.append({"machine": machine, "device": device, "model": model,
                         "rank": Cell(show.rank(row.rank, shared) if row.reached else "not reached",
                                      row.rank),
                         "configuration": target_words.settings(row.case), "lr_plan": target_words.lr_plan(row.case),
                         "seeds": target_words.seeds(row.answer),
                         "time_to_target": Cell(target_words.time_to_target(row), row.seconds) if row.reached else None,
                         "best_accuracy": row.answer.best_accuracy,
                         "images_per_sec_interval": Cell(show.with_interval(row.case.images_per_sec,
                                                                            row.case.interval),
                                                         row.case.images_per_sec),
                         "trust": row.case.trust or "not assessed"})
        for case in answer.invalid:
            rows.append({"machine": machine, "device": device, "model": model, "rank": Cell("not ranked: invalid"),
                         "configuration": target_words.settings(case), "lr_plan": target_words.lr_plan(case),
                         "seeds": target_words.seeds(case.to_target), "best_accuracy": case.to_target.best_accuracy,
                         "trust": "invalid"})
    targets = list(dict.fromkeys(target_words.target(answer.target_accuracy, answer.data_source)
                                 for answer in analysis.to_target))
    notes = [f"Target: {show.joined(targets, 'or')}. Time to target: training seconds until the epoch whose "
             "evaluation reached it (evaluations excluded), the median over the seeds that reached it, with their "
             "range. Ranked by it; a tie (\"=1\") where the times' intervals (the seeds' range, widened by the "
             "throughput's interval) overlap. A configuration that missed the target within its budget comes after "
             "every one that reached it."]
    shown, said = fold(rows, ["machine", "device", "model", "rank", "configuration", "lr_plan", "seeds",
                              "time_to_target", "best_accuracy", "images_per_sec_interval", "trust"],
                       ("model", "device"))
    return table(rows, shown, id="to-target", notes=said + notes)


def verdicts_table(analysis: Analysis) -> Table | None:
    """What limits each epoch configuration: the split of its steps and its share of the step ceiling
    as small bars, the ceilings' speeds in columns, and the rest of the evidence as short facts."""
    if not analysis.verdicts:
        return None
    rows = []
    for v in analysis.verdicts:
        epoch = v.epoch
        rows.append({"machine": v.config.machine, "device": v.config.device, "model": v.config.model,
                     "configuration": words.configuration(epoch), "verdict": v.verdict or "not judged",
                     "share_waiting": _share(epoch.wait_share),
                     "fraction_of_ceiling": _ceiling_cell(v) if v.verdict else None,
                     "epoch_images_per_sec": Cell(show.with_interval(epoch.images_per_sec, epoch.interval),
                                                  epoch.images_per_sec),
                     "step_images_per_sec": v.step_speed if v.verdict else None,
                     "loader_images_per_sec": v.loader_speed if v.verdict else None,
                     "evidence": "\n".join(words.evidence_facts(v, numbers=False))})
    notes = ["Waits for input: the share of each step spent waiting for its batch, measured inside the epoch (on a "
             "GPU, the GPU's idle time between steps). Of step ceiling: the epoch's images/s over its train step's "
             "alone; an epoch cannot beat it, so a reading above it is a measurement problem, not a result."]
    shown, said = fold(rows, ["machine", "device", "model", "configuration", "verdict", "share_waiting",
                              "fraction_of_ceiling", "epoch_images_per_sec", "step_images_per_sec",
                              "loader_images_per_sec", "evidence"], ("model",))
    return table(rows, shown, id="verdicts", notes=said + notes)


def _share(value: float | None) -> Cell | None:
    return Cell(show.fraction(value), value, value) if value is not None else None


def _ceiling_cell(verdict) -> Cell | None:
    """The epoch's share of its step ceiling, with a bar; above it: at its ceiling, or a measurement problem."""
    fraction = verdict.fraction_of_ceiling
    if fraction is None:
        return None
    above = words.above_ceiling(verdict)
    if above == "problem":
        return Cell("measurement problem", fraction)
    if above == "at":
        return Cell("at its ceiling", fraction, 1.0)
    return Cell(show.fraction(fraction), fraction, fraction)


def recommendations_table(analysis: Analysis) -> Table | None:
    """The advice per machine, device and model: the best configuration's speed in columns, the rest as
    short facts."""
    if not analysis.recommendations:
        return None
    rows = []
    for rec in analysis.recommendations:
        machine, device, model = rec.where
        best = rec.best
        lines = [words.advice_line(rec), *words.recommendation_facts(rec, numbers=False)]
        rows.append({"machine": machine, "device": device, "model": model,
                     "advice": "\n".join(line for line in lines if line),
                     "images_per_sec_interval": Cell(show.with_interval(best.images_per_sec, best.interval),
                                                     best.images_per_sec) if best else None,
                     "full_epoch_seconds": best.epoch_seconds if best else None,
                     "speedup_vs_tutorial": speedup_cell(rec),
                     "limit": words.limit(rec.verdict) if best else None})
    return table(rows, ["machine", "device", "model", "advice", "images_per_sec_interval", "full_epoch_seconds",
                        "speedup_vs_tutorial", "limit"], id="recommendations")


def costs_table(analysis: Analysis) -> Table | None:
    """Cost per epoch of every priced configuration, ranked by time and by cost."""
    if not analysis.costs or all(cost.price_per_hour is None for cost in analysis.costs):
        return None
    rows = [{"machine": cost.config.machine, "device": cost.config.device, "model": cost.config.model,
             "configuration": show.config(cost.config.batch_size, cost.config.num_workers, cost.config.loader),
             "full_epoch_seconds": cost.seconds, "price_per_hour": cost.price_per_hour,
             "cost_per_epoch": cost.cost_per_epoch, "time_rank": cost.time_rank, "cost_rank": cost.cost_rank}
            for cost in analysis.costs]
    notes = [] if analysis.currency else ["Amounts are in the prices' currency (the prices file names none)."]
    return table(rows, ["machine", "device", "model", "configuration", "full_epoch_seconds", "price_per_hour",
                        "cost_per_epoch", "time_rank", "cost_rank"], id="costs",
                 formats=money_formats(analysis.currency), notes=notes)


def compile_table(analysis: Analysis) -> Table | None:
    """Does torch.compile pay off: compiled against eager, compile time and break-even epochs."""
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


def phase_sentences(analysis: Analysis) -> list[str]:
    """Per machine, device and model: how much of each step waits for input, tutorial against best."""
    found = []
    for answer in analysis.answers:
        rec = answer.recommendation
        parts = []
        for role, case in (("at the tutorial's settings", rec.tutorial), ("at the best configuration", rec.best)):
            if case is not None and case.wait_share is not None and not (role.endswith("best configuration")
                                                                         and case is rec.tutorial):
                running = (f" and runs kernels {show.percent(case.gpu_util_pct_mean)} of the time"
                           if case.config.cuda and case.gpu_util_pct_mean is not None else "")
                parts.append(f"{role} {words.waiting(case)}{running}")
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


def trace_links(ours: pd.DataFrame, trace_base: Path | None) -> list[TraceLink]:
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
