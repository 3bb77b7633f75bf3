"""The answer, the page's first screen: the answer table, the machines' cards and the notes under them.

Where converge cases were trained, the answer is the time to a trained classifier
(`to_target_table`, one row per machine, device and model: the fastest to the target against
the tutorial's own recipe and the fastest configuration per image; `across_table`, the
DAWNBench view across machines); the throughput table (`answer_table`, the fastest epoch per
machine) follows as the evidence. Without converge cases the throughput table is the answer.
Every figure carries its interval, and a rank shared where intervals overlap is written "=2".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from bench.contract import vocab
from reports.analysis.advice import Recommendation
from reports.analysis.analyse import Analysis
from reports.analysis.scaling import ScalingPoint
from reports.analysis.to_target import TargetAnswer, across_machines
from reports.page import display as show
from reports.page import target_words, words
from reports.page.columns import Cell, Table, fold, money_formats, table

ANSWER_COLUMNS = ["rank", "machine", "device", "model", "trust", "configuration", "images_per_sec_interval",
                  "full_epoch_seconds", "limit", "speedup_vs_tutorial", "cost_per_epoch"]
TO_TARGET_COLUMNS = ["rank", "where", "model", "trust", "fastest_to_target", "time_to_target", "cost_to_target",
                     "energy_to_target", "tutorial_to_target", "fastest_per_image"]
ACROSS_COLUMNS = ["rank", "model", "where", "hardware", "configuration", "lr_plan", "time_to_target",
                  "cost_to_target", "energy_to_target"]


@dataclass
class MachineSummary:
    name: str
    trust: str  # ok, noisy, invalid, unknown: the element's data-trust
    trust_line: str  # the whole trust in one text: the headline and every reason
    advice: list[str]
    facts: str
    headline: str = ""  # 'noisy: 7 noisy of 29 cases'
    reasons: list[str] = field(default_factory=list)  # each kind of reason once, the most frequent first
    preflight: str = ""  # the preflight's message where the machine was not quiet before the sweep
    noise: str = ""  # the run-to-run noise its repeats measured (words.noise_line)
    search: str = ""  # the auto preset's search: how many configurations, why it stopped
    advice_parts: list[tuple[str, str]] = field(default_factory=list)  # (what to use, why) per advice


def summaries(analysis: Analysis, machines: pd.DataFrame,
              searches: dict[str, dict] | None = None) -> list[MachineSummary]:
    """Per machine: its trust, its run-to-run noise, the advice for each device and model, its widest
    scaling, its facts; `searches`: the auto preset's search by machine, where it ran."""
    searches = searches or {}
    cores = {row.machine: row.cores_usable for row in machines.itertuples()} if not machines.empty else {}
    facts = {row.machine: _machine_facts(row) for row in machines.itertuples()} if not machines.empty else {}
    trained = {answer.where: answer for answer in analysis.to_target if answer.fastest is not None}
    found = []
    for machine in _machines(analysis):
        trust = analysis.trust[machine]
        usable = cores.get(machine)
        mine = [answer for answer in analysis.answers if answer.recommendation.where[0] == machine]
        parts = [_with_target(words.advice_parts(answer.recommendation, int(usable) if show.known(usable) else None),
                              trained.get(answer.recommendation.where)) for answer in mine]
        if len(parts) > 1:  # several devices or models: say which each sentence is for
            parts = [(f"{answer.recommendation.where[2]} on {answer.recommendation.where[1]}: {lead}", rest)
                     for answer, (lead, rest) in zip(mine, parts, strict=True)]
        parts += [("", words.scaling(point)) for point in _widest(analysis.scaling, machine)]
        advice = [" ".join(part for part in pair if part) for pair in parts]
        found.append(MachineSummary(machine, trust.level or "unknown", words.trust_line(trust), advice,
                                    facts.get(machine, ""), words.trust_headline(trust),
                                    words.trust_reasons(trust, preflight=False) if trust.level is not None else [],
                                    words.preflight(trust) if trust.level is not None else "",
                                    words.noise_line(trust),
                                    target_words.search_line(searches[machine]) if machine in searches else "", parts))
    return found


def _with_target(parts: tuple[str, str], trained: TargetAnswer | None) -> tuple[str, str]:
    """The advice by time to target where a configuration was trained to it: what to train with,
    and how soon it got there; the advice per image follows, named so ('Fastest per image: ...'),
    so that a card never says 'Use' for two different configurations."""
    if trained is None:
        return parts
    best = trained.fastest
    lead, rest = parts
    per_image = lead.replace("Use ", "Fastest per image: ", 1) if lead.startswith("Use ") else lead
    train = (f"To train: {target_words.settings(best.case)}, {target_words.lr_plan(best.case)}: "
             f"{target_words.target(trained.target_accuracy, trained.data_source)} in "
             f"{target_words.time_to_target(best)} ({target_words.seeds(best.answer)}).")
    return train, " ".join(part for part in (per_image, rest) if part)


def _machines(analysis: Analysis) -> list[str]:
    """Machines in the order the answer shows them: by time to target first, where trained."""
    ordered = [row.answer.where[0] for row in across_machines(analysis.to_target)]
    ordered += [answer.where[0] for answer in analysis.to_target]
    return list(dict.fromkeys([*ordered, *analysis.machines()]))


def _widest(points: Sequence[ScalingPoint], machine: str) -> list[ScalingPoint]:
    """Per configuration of `machine`, its data-parallel case with the most ranks (more than one); an
    invalid case gives no advice (the scaling table still lists it)."""
    widest: dict[tuple, ScalingPoint] = {}
    for point in points:
        if point.machine != machine or point.world_size < 2 or point.trust == "invalid":
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


def _shared(ranks: Sequence[int | None], rank: int | None) -> bool:
    return rank is not None and sum(1 for other in ranks if other == rank) > 1


def rate_cell(case) -> Cell:
    """A case's images/s with its interval: '12k [10k-14k]', sorted by the figure."""
    return Cell(show.with_interval(case.images_per_sec, case.interval), case.images_per_sec)


def answer_table(analysis: Analysis, id: str = "answer") -> Table:
    """The fastest epoch per machine, device and model, ranked (by cost when prices are known); ranks
    shared where the best cases' intervals overlap."""
    rows, attributes = [], []
    ranks = [answer.rank for answer in analysis.answers]
    for answer in analysis.answers:
        rec = answer.recommendation
        machine, device, model = rec.where
        trust = answer.figures_trust or ("invalid" if rec.best is None and rec.invalid_epochs else None)
        row = {"rank": Cell(show.rank(answer.rank, _shared(ranks, answer.rank)), answer.rank), "machine": machine,
               "trust": trust or "not assessed", "device": device, "model": model}
        if rec.best is None:
            row["configuration"] = "not ranked"
            row["limit"] = (f"all {show.plural(rec.epochs, 'epoch')} invalid: measure again on a quiet machine"
                            if rec.epochs else "no epoch measured")
        else:
            best = rec.best
            epoch = show.seconds(best.epoch_seconds)
            if best.full_epoch_projected:
                epoch += f" ({words.epoch_note(best)})"
            row.update(configuration=words.configuration(best), images_per_sec_interval=rate_cell(best),
                       full_epoch_seconds=Cell(epoch, best.epoch_seconds), limit=words.limit(rec.verdict),
                       speedup_vs_tutorial=speedup_cell(rec),
                       cost_per_epoch=answer.cost.cost_per_epoch if answer.cost else None)
        rows.append(row)
        attributes.append({"data-trust": trust or "unknown"})
    ranked = "cost per epoch" if analysis.ranked_by == "cost" else "seconds per epoch"
    notes = [f"Ranked by {ranked}; \"=2\": a tie (the intervals overlap). Epochs are projected to 50,000 images "
             "where fewer were timed.", *_interval_notes([answer.recommendation.best for answer in analysis.answers])]
    names = ANSWER_COLUMNS
    if all(answer.figures_trust is None for answer in analysis.answers):
        names = [name for name in names if name != "trust"]
        notes.append("Trust not assessed: these result files predate the harness's trust check.")
    shown, said = fold(rows, names, ("model",))
    result = table(rows, shown, id=id, formats=money_formats(analysis.currency), notes=[" ".join(said + notes)])
    result.row_attributes = attributes
    return result


def speedup_cell(rec: Recommendation) -> Cell | None:
    """The best's images/s over the tutorial's settings', or 'no measurable difference' inside the intervals."""
    if rec.speedup_vs_tutorial is None:
        return None
    if rec.is_tutorial:
        return Cell("the tutorial's own", 1.0)
    if words.tutorial_overlaps(rec):
        return Cell("no measurable difference", rec.speedup_vs_tutorial)
    return Cell(show.times(rec.speedup_vs_tutorial), rec.speedup_vs_tutorial)


def _interval_notes(cases) -> list[str]:
    """What the intervals cover: repeats across the run, or one run's rounds only (named)."""
    cases = [case for case in cases if case is not None and case.interval is not None]
    if not cases:
        return ["No interval: these result files predate them; a difference within the rounds' spread is not "
                "called a difference."]
    rounds = sorted({case.config.machine for case in cases if case.interval_basis == vocab.INTERVAL_FROM_ROUNDS})
    text = "[Interval]: where another run of the sweep would read the figure (90%), from the case's repeats"
    if rounds:
        text += f"; on {show.joined(rounds)} some from one run's rounds only"
    return [text + "."]


def to_target_table(analysis: Analysis) -> Table | None:
    """The answer by time to a trained classifier: per machine, device and model, the fastest to the
    target against the tutorial's recipe and the fastest per image; in the DAWNBench view's order."""
    if not analysis.to_target:
        return None
    answers = target_answers(analysis)
    ranks = _across_ranks(analysis)
    # Several targets (or data sets) on one page: each row says which it answers.
    several = len({(answer.target_accuracy, answer.data_source) for answer in answers}) > 1
    rows, attributes = [], []
    for answer in answers:
        machine, device, model = answer.where
        best = answer.fastest
        trust = best.case.trust if best is not None else "invalid" if answer.invalid and not answer.ranked else None
        question = f"to {target_words.target(answer.target_accuracy, answer.data_source)}\n" if several else ""
        row = {"rank": ranks.get(id(answer)), "where": f"{machine} · {device}", "model": model,
               "trust": trust or "not assessed", "fastest_to_target": question + target_words.fastest_to_target(answer),
               "tutorial_to_target": target_words.tutorial_to_target(answer),
               "fastest_per_image": target_words.fastest_per_image(answer)}
        if best is not None:
            row["time_to_target"] = Cell(
                f"{target_words.time_to_target(best)}\n{target_words.seeds(best.answer)}", best.seconds)
            row["cost_to_target"] = _cost_cell(best, analysis.currency)
            row["energy_to_target"] = (Cell(show.kilojoules(best.answer.energy_j), best.answer.energy_j)
                                       if best.answer.energy_j is not None else None)
        rows.append(row)
        attributes.append({"data-trust": trust or "unknown"})
    energies = [answer.fastest.answer.energy_j for answer in answers if answer.fastest is not None]
    notes = []
    if all(energy is None for energy in energies):
        notes.append("No energy to target: NVML counts it on GPUs only.")
    elif any(energy is None for energy in energies):
        notes.append("Energy to target where NVML counted it (GPUs): the median over the seeds.")
    missing = [machine for machine in analysis.machines() if machine not in {a.where[0] for a in answers}]
    if missing:
        notes.append(f"Not trained to a target: {show.joined(missing)} (the throughput table below has their "
                     "fastest epoch).")
    shown, said = fold(rows, TO_TARGET_COLUMNS, ("model", "trust"))
    result = table(rows, shown, id="answer", notes=[" ".join(said + notes)])
    result.row_attributes = attributes
    return result


def _across_ranks(analysis: Analysis) -> dict[int, Cell]:
    """Each answer's rank across machines (per question: model, target, data), by `id` of the answer."""
    rows = across_machines(analysis.to_target)
    questions = [(row.answer.where[2], row.answer.target_accuracy, row.answer.data_source) for row in rows]
    found = {}
    for row, question in zip(rows, questions, strict=True):
        shared = sum(1 for other, asked in zip(rows, questions, strict=True)
                     if asked == question and other.rank == row.rank) > 1
        found[id(row.answer)] = Cell(show.rank(row.rank, shared), row.rank)
    return found


def across_table(analysis: Analysis, machines: pd.DataFrame) -> Table | None:
    """The DAWNBench view: each machine and device at its own fastest to the target, ranked per question
    (model, target, data) with ties; shown where two or more answered the same question."""
    rows_found = across_machines(analysis.to_target)
    questions = [(row.answer.where[2], row.answer.target_accuracy, row.answer.data_source) for row in rows_found]
    if not rows_found or all(questions.count(question) < 2 for question in questions):
        return None
    hardware = {row.machine: _hardware(row) for row in machines.itertuples()} if not machines.empty else {}
    ranks = _across_ranks(analysis)
    rows = []
    for row in rows_found:
        machine, device, model = row.answer.where
        best = row.best
        rows.append({"rank": ranks[id(row.answer)],
                     "model": f"{model}, to {target_words.target(row.answer.target_accuracy, row.answer.data_source)}",
                     "where": f"{machine} · {device}", "hardware": hardware.get(machine, ""),
                     "configuration": target_words.settings(best.case), "lr_plan": target_words.lr_plan(best.case),
                     "time_to_target": Cell(f"{target_words.time_to_target(best)}\n{target_words.seeds(best.answer)}",
                                            best.seconds),
                     "cost_to_target": _cost_cell(best, analysis.currency),
                     "energy_to_target": (Cell(show.kilojoules(best.answer.energy_j), best.answer.energy_j)
                                          if best.answer.energy_j is not None else None)})
    shown, said = fold(rows, ACROSS_COLUMNS, ("model",))
    notes = [*said, "Each machine and device at its own fastest configuration to the target (the DAWNBench view); "
             "\"=2\" is a tie: their times' intervals overlap."]
    return table(rows, shown, id="across-machines", notes=notes)


def _cost_cell(best, currency: str | None) -> Cell | None:
    """The cost to target with its range over the seeds (the price scales with the seconds)."""
    if best.cost is None:
        return None
    answer = best.answer
    text = show.money(best.cost, currency)
    if answer.seeds > 1 and answer.seconds:
        low, high = (best.cost * seconds / answer.seconds for seconds in (answer.seconds_low, answer.seconds_high))
        if show.money(low) != show.money(high):
            text += f"\n[{show.spread_range(low, high, show.money)}]"
    return Cell(text, best.cost)


def _hardware(row) -> str:
    """'2 cores, no GPU' or '16 cores, 1 x NVIDIA H200 (140 GiB)': the instance's shape."""
    cores = f"{show.plural(int(row.cores_usable), 'core')}" if show.known(row.cores_usable) else ""
    return ", ".join(part for part in (cores, show.text(row.gpus) or "no GPU") if part)


def answer_notes(analysis: Analysis) -> list[str]:
    """The notes under the answer: what a low eval accuracy means when the timed epochs were short."""
    notes = []
    epochs = [case for case in analysis.cases if case.group == "epoch"]
    note = words.accuracy_note(epochs)
    if note:
        notes.append(note)
    return notes


def target_answers(analysis: Analysis) -> list[TargetAnswer]:
    """The answers by time to target, in the order the answer table shows them."""
    order = {id(row.answer): position for position, row in enumerate(across_machines(analysis.to_target))}
    return sorted(analysis.to_target, key=lambda answer: order.get(id(answer), len(order)))
