"""Stage 3d, machine trust: how far each machine's measurements can be trusted.

The harness assesses every case (`extra_info["trust"]`: ok, noisy or invalid, with reasons as
records: `bench.contract.Reason`), checks the machine before the sweep (`machine_info
["cifarbench"]["preflight"]`) and measures the run-to-run noise of its repeats (the file's
`cifarbench["noise"]`). A run's level is the worst of its cases'; files older than the
assessment are "not assessed". Reasons are grouped by their code and the worst figure of each
code is kept, with how many cases gave it; the sentences are made at display time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.contract import Reason
from reports.reading.cases import Case, worst_trust

MAX_REASONS = 4


@dataclass(frozen=True)
class ReasonGroup:
    """One code's reasons on a machine: the worst of them, and how many cases gave that code."""

    worst: Reason
    cases: int


@dataclass(frozen=True)
class MachineTrust:
    """One machine's trust: its level, how many cases have each level, and the reasons."""

    machine: str
    level: str | None  # ok, noisy, invalid; None: not assessed
    counts: dict[str, int] = field(default_factory=dict)
    reasons: tuple[ReasonGroup, ...] = field(default_factory=tuple)  # one per code, the most frequent first
    preflight: str | None = None  # the preflight's message when the machine was not quiet
    epochs_all_invalid: bool = False
    cases: int = 0
    # The run-to-run noise its repeats measured: about the relative sd of one repeat's figure,
    # pooled over its cases (None: one repeat per case, or an older file).
    repeat_noise: float | None = None

    @property
    def label(self) -> str:
        return self.level or "not assessed"


def machine_trust(machine: str, cases: Sequence[Case], preflight: dict | None = None,
                  repeat_noise: float | None = None) -> MachineTrust:
    """The trust of `machine` from its cases, its preflight check and its measured repeat noise."""
    mine = [case for case in cases if case.config.machine == machine]
    counts: dict[str, int] = {}
    kinds: dict[tuple, list[Reason]] = {}
    for case in mine:
        if case.trust:
            counts[case.trust] = counts.get(case.trust, 0) + 1
        if case.trust in ("noisy", "invalid"):
            for reason in case.trust_reasons:
                kinds.setdefault(_kind(reason), []).append(reason)
    ordered = [ReasonGroup(max(found, key=_severity), len(found))
               for found in sorted(kinds.values(), key=len, reverse=True)[:MAX_REASONS]]
    message = None
    if isinstance(preflight, dict) and preflight.get("quiet") is False and preflight.get("message"):
        message = str(preflight["message"])
    epochs = [case for case in mine if case.group == "epoch"]
    return MachineTrust(machine, worst_trust([case.trust for case in mine]), counts, tuple(ordered), message,
                        bool(epochs) and all(case.invalid for case in epochs), len(mine), repeat_noise)


def _kind(reason: Reason) -> tuple:
    """Reasons of one code (and level) are one kind; a legacy sentence is its own kind."""
    return (reason.code, reason.level, reason.detail.get("text") if reason.code == "legacy" else None)


def _severity(reason: Reason) -> float:
    """How bad a reason of its kind is: the size of its figure (a drift of -30% is worse than +20%)."""
    return abs(reason.figure) if isinstance(reason.figure, int | float) else 0.0
