"""Stage 3d, machine trust: how far each machine's measurements can be trusted.

The harness assesses every case (`extra_info["trust"]`: ok, noisy or invalid, with reasons in
plain sentences) and checks the machine before the sweep (`machine_info["cifarbench"]
["preflight"]`). A run's level is the worst of its cases'; files older than the assessment
are "not assessed".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from reports.reading.cases import Case, worst_trust

MAX_REASONS = 4


@dataclass(frozen=True)
class MachineTrust:
    """One machine's trust: its level, how many cases have each level, and the reasons."""

    machine: str
    level: str | None  # ok, noisy, invalid; None: not assessed
    counts: dict[str, int] = field(default_factory=dict)
    reasons: tuple[str, ...] = field(default_factory=tuple)  # one per kind, the most frequent kind first
    preflight: str | None = None  # the preflight's message when the machine was not quiet
    epochs_all_invalid: bool = False
    cases: int = 0

    @property
    def label(self) -> str:
        return self.level or "not assessed"


def machine_trust(machine: str, cases: Sequence[Case], preflight: dict | None = None) -> MachineTrust:
    """The trust of `machine` from its cases and its preflight check."""
    mine = [case for case in cases if case.config.machine == machine]
    counts: dict[str, int] = {}
    kinds: dict[str, list[str]] = {}
    for case in mine:
        if case.trust:
            counts[case.trust] = counts.get(case.trust, 0) + 1
        if case.trust in ("noisy", "invalid"):
            for reason in case.trust_reasons:
                kinds.setdefault(_kind(reason), []).append(reason)
    ordered = [_worst_of(found) for found in sorted(kinds.values(), key=len, reverse=True)[:MAX_REASONS]]
    message = None
    if isinstance(preflight, dict) and preflight.get("quiet") is False and preflight.get("message"):
        message = str(preflight["message"])
    epochs = [case for case in mine if case.group == "epoch"]
    return MachineTrust(machine, worst_trust([case.trust for case in mine]), counts, tuple(ordered), message,
                        bool(epochs) and all(case.invalid for case in epochs), len(mine))


FIGURE = re.compile(r"\d[\d,]*(?:\.\d+)?")  # 14, 1,652 or 0.5 in a reason


def _kind(reason: str) -> str:
    """A reason with its figures left out: 'the rounds spread 14% ...' and '... 17% ...' are one kind."""
    return FIGURE.sub("#", reason)


def _first_figure(reason: str) -> float:
    found = FIGURE.search(reason)
    return float(found.group().replace(",", "")) if found else 0.0


def _worst_of(reasons: list[str]) -> str:
    """One kind's reasons as one: the one with the largest first figure, and how many cases gave it."""
    worst = max(reasons, key=_first_figure).rstrip(".")
    return worst if len(reasons) == 1 else f"{worst} (the worst of {len(reasons)} cases)"
