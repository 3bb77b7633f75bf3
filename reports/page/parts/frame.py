"""The page's frame around the tables: the lead, the notices, how to read it (method, facts), the footer."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bench.contract import vocab
from reports.page import display as show
from reports.page import target_words
from reports.page.parts.result_tables import GROUP_SENTENCES, GROUP_TITLES
from reports.reading import tidy as tidy_stage
from reports.reading.load import Record
from reports.reading.runs import Run


def lead(ours: pd.DataFrame, machines: pd.DataFrame) -> str:
    """The sentence under the title: how many cases, on which machines, of which models."""
    if ours.empty:
        return "No cifarbench results here: only other pytest-benchmark results, in the table at the end."
    names = list(machines["machine"]) if not machines.empty else []
    listed = f" ({show.joined(names)})" if len(names) <= 8 else ""
    models = sorted({str(value) for value in ours["model"].dropna()})
    what = ("time to a target accuracy and throughput" if (ours["group"] == vocab.CONVERGE).any()
            else "throughput")
    return (f"CIFAR-10 training {what} measured with cifarbench: {len(ours):,} cases on "
            f"{show.plural(len(names), 'machine')}{listed}"
            + (f", model {show.joined(models)}" if models else "") + ".")


def incomplete(machines: pd.DataFrame) -> list[str]:
    """A notice naming the machines whose sweep did not finish."""
    names = [str(row.machine) for row in machines.itertuples() if row.complete is False] if not machines.empty else []
    if not names:
        return []
    return [f"Incomplete sweep (interrupted or still running): {show.joined(names)}. The cases finished before the "
            "stop are shown."]



def run_notices(all_runs: list[Run], frame: pd.DataFrame) -> list[str]:
    """A notice per machine with several runs: the newest measurement of each case is shown."""
    notices = []
    per_machine: dict[str, list[Run]] = {}
    for run in all_runs:
        per_machine.setdefault(run.machine, []).append(run)
    for machine, found in per_machine.items():
        if len(found) > 1:
            notices.append(f"{machine} has {len(found)} runs: each case shows its newest measurement; every run is "
                           "listed under Runs, older ones included.")
    return notices


def method(ours: pd.DataFrame) -> list[dict]:
    """What each measured group times, with its number of cases."""
    return [{"title": GROUP_TITLES[group], "sentence": GROUP_SENTENCES[group],
             "count": int((ours["group"] == group).sum())}
            for group in (*tidy_stage.GROUPS, tidy_stage.DDP_GROUP, vocab.CONVERGE)
            if not ours.empty and (ours["group"] == group).any()]


def facts(ours: pd.DataFrame, frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The facts that hold for the whole page: data, preset, when the runs ran, how to read the numbers."""
    facts = []
    if ours.empty:
        return facts
    data = sorted({target_words.data_words(str(value)) for value in ours["data_source"].dropna()})
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


def footer(made_by: str, all_runs: list[Run], records: Sequence[Record]) -> str:
    """Who made the page from how many files, and the commit the sweeps ran."""
    commits = sorted({f"{run.commit}{' with uncommitted changes' if run.dirty else ''}" for run in all_runs
                      if run.commit})
    files = len({record.file for record in records})
    text = f"Made by {made_by} from {show.plural(files, 'result file')}"
    if commits:
        text += f"; the sweeps ran cifarbench at commit {show.joined(commits)}"
    return text + ". Figures, styles and the table-sorting script are inline; this page loads nothing else."
