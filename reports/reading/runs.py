"""Stage 1b, runs: which result file is which run of which machine, before the records are tidied.

A label names a machine (`--bench-label`). Two files with the same label made on different
machines (another host, CPU or GPU) are two machines: each gets the label with its host
named, and a notice says so. Several runs of one machine are one machine: the tidy stage
shows each case's newest measurement, and `runs` lists every run, older ones included, with
how many of its cases are shown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from reports.reading.load import Record


@dataclass(frozen=True)
class Run:
    """One result file of cifarbench: a sweep on one machine."""

    machine: str
    label: str
    file: str
    started: str | None
    preset: str | None
    cases: int
    complete: bool | None
    commit: str | None  # the sweep's git commit (pytest-benchmark's commit_info), short
    dirty: bool | None


def _fingerprint(record: Record) -> tuple:
    """What tells machines apart when their labels do not: host, CPU, GPUs."""
    facts = record.facts
    gpus = tuple(str(gpu.get("name")) for gpu in facts.get("gpus") or [] if isinstance(gpu, dict))
    cpu = facts.get("cpu_brand") or (record.machine_info.get("cpu") or {}).get("brand_raw")
    return (facts.get("hostname") or record.machine_info.get("node"), cpu, facts.get("cpu_count_logical"), gpus)


def separate_machines(records: Sequence[Record]) -> tuple[list[Record], list[str]]:
    """Records whose label is shared by different machines renamed 'label (host)'; the notices saying so."""
    prints: dict[str, dict[tuple, list[str]]] = {}
    for record in records:
        if record.cifarbench:
            files = prints.setdefault(record.machine, {}).setdefault(_fingerprint(record), [])
            if record.file not in files:
                files.append(record.file)
    shared = {label: found for label, found in prints.items() if len(found) > 1}
    if not shared:
        return list(records), []
    names: dict[tuple[str, tuple], str] = {}
    notices = []
    for label, found in shared.items():
        for number, fingerprint in enumerate(found, start=1):
            host = fingerprint[0] or "unknown host"
            clash = sum(other[0] == fingerprint[0] for other in found) > 1
            names[(label, fingerprint)] = f"{label} ({host}{f' #{number}' if clash else ''})"
        described = "; ".join(f"{names[(label, fingerprint)]}: {', '.join(files)}"
                              for fingerprint, files in found.items())
        notices.append(f"The label {label!r} was used on {len(found)} different machines (another host, CPU or "
                       f"GPU); they are kept apart as {described}. Give each machine its own --bench-label.")
    renamed = [dataclasses.replace(record, machine=names[(record.machine, _fingerprint(record))])
               if record.cifarbench and record.machine in shared else record for record in records]
    return renamed, notices


def runs(records: Sequence[Record]) -> list[Run]:
    """Every cifarbench result file as a run, newest first within each machine."""
    found: dict[str, Run] = {}
    counts: dict[str, int] = {}
    for record in records:
        counts[record.file] = counts.get(record.file, 0) + 1
        if record.file in found or not record.cifarbench:
            continue
        commit = record.commit_info.get("id") if isinstance(record.commit_info, dict) else None
        found[record.file] = Run(
            machine=record.machine, label=str(record.facts.get("label") or record.machine), file=record.file,
            started=record.run.get("started") or record.datetime,
            preset=record.run.get("preset") or record.run.get("profile"), cases=0,
            complete=record.run.get("complete"),
            commit=str(commit)[:7] if commit else None,
            dirty=record.commit_info.get("dirty") if isinstance(record.commit_info, dict) else None,
        )
    listed = [dataclasses.replace(run, cases=counts[run.file]) for run in found.values()]
    return sorted(listed, key=lambda run: (run.machine, _negated(run.started)))


def _negated(started: str | None) -> tuple:
    stamp = pd.to_datetime(started, utc=True, errors="coerce", format="ISO8601") if started else pd.NaT
    return (1, 0.0) if pd.isna(stamp) else (0, -stamp.timestamp())
