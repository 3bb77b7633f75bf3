"""The answer, the page's first screen: a summary per machine, the ranked answer table and its notes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from reports.analysis.analyse import Analysis
from reports.analysis.scaling import ScalingPoint
from reports.page import display as show
from reports.page import words
from reports.page.columns import Table, money_formats, table

ANSWER_COLUMNS = ["rank", "machine", "trust", "device", "model", "configuration", "images_per_sec",
                  "images_per_sec_range", "full_epoch_seconds", "epoch_note", "limit", "speedup_vs_tutorial",
                  "cost_per_epoch"]


@dataclass
class MachineSummary:
    name: str
    trust: str  # ok, noisy, invalid, unknown: the element's data-trust
    trust_line: str
    advice: list[str]
    facts: str


def summaries(analysis: Analysis, machines: pd.DataFrame) -> list[MachineSummary]:
    """Per machine: its trust, the advice for each device and model, its widest scaling, its facts."""
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


def answer_table(analysis: Analysis) -> Table:
    """The best configuration per machine, device and model, ranked (by cost when prices are known)."""
    rows, attributes = [], []
    for answer in analysis.answers:
        rec = answer.recommendation
        machine, device, model = rec.where
        trust = answer.figures_trust
        row = {"rank": answer.rank, "machine": machine, "trust": trust or "not assessed", "device": device,
               "model": model}
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
        attributes.append({"data-trust": trust or "unknown"})
    ranked = "cost per epoch" if analysis.ranked_by == "cost" else "seconds per epoch"
    notes = [f"Ranked by {ranked}; the epoch is projected to 50,000 images from the images timed where fewer "
             "were timed."]
    names = ANSWER_COLUMNS
    if all(answer.figures_trust is None for answer in analysis.answers):
        names = [name for name in names if name != "trust"]
        notes.append("Trust not assessed: these result files predate the harness's trust check.")
    result = table(rows, names, id="answer", formats=money_formats(analysis.currency), notes=notes)
    result.row_attributes = attributes
    return result


def answer_notes(analysis: Analysis) -> list[str]:
    """The notes under the answer: what a low eval accuracy means when the timed epochs were short."""
    notes = []
    epochs = [case for case in analysis.cases if case.group == "epoch"]
    note = words.accuracy_note(epochs)
    if note:
        notes.append(note)
    return notes
