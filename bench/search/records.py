"""The values a search exchanges with its caller and keeps: trials, measurements, decisions, the result.

The caller asks the scheduler for a `Trial`, measures it, and reports a `Measurement`; the
scheduler records a `TrialRecord` with a `Decision` for each, and its `SearchResult` is the
whole path as JSON (`as_dict`, for `machine_info["cifarbench"]["search"]`). Reasons are
records (a code, the figure, the threshold, the candidate they rest on), written as sentences
only where they are shown; `REASONS`, `DECISIONS` and `STOPS` say what every code means.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.contract.vocab import TRUST_LEVELS as LEVELS
from bench.search.candidates import Candidate

# Decision codes of a trial record.
DECISIONS: dict[str, str] = {
    "measured": "measured at this rung, waiting for the rung's cut",
    "promoted": "measured and carried to the next rung (on merit, or a tie at the cut-off)",
    "carried": "the reference, carried to the final rung whatever its rank",
    "dropped": "measured (or left without a usable figure) and not carried further",
    "final": "a measurement of the final rung (the result ranks the finalists)",
    "repeated": "invalid (a busy or throttled machine): measured again, never used to prune or promote",
    "failed": "ran out of memory or raised an error: not carried further",
    "pruned": "never measured: a rule inferred from other measurements that it cannot win",
    "unmeasured": "never measured at this rung: the budget could not pay for it",
    "in_flight": "started and not yet reported",
    "interrupted": "started and never reported: the search was stopped",
}

# Reason codes, with what `figure` and `threshold` hold.
REASONS: dict[str, str] = {
    "top": "among the best floor(n/eta) at the rung (figure: images/s, threshold: the cut-off's images/s)",
    "tie_at_cutoff": "below the cut-off, but its interval reaches the cut-off's (figure: its high images/s, "
                     "threshold: the cut-off's low images/s)",
    "below_cutoff": "its interval lies below the cut-off's (figure: its high images/s, threshold: the "
                    "cut-off's low images/s)",
    "reference": "the reference: always measured at the final rung",
    "over_budget": "the rest of the search could not be paid for with it (figure: expected seconds, "
                   "threshold: seconds left)",
    "invalid": "the measurement was invalid (figure: the attempt, threshold: attempts allowed)",
    "invalid_limit": "invalid at every attempt (figure: attempts made)",
    "out_of_memory": "ran out of memory (figure: its batch size)",
    "error": "raised an error (the measurement's error says which)",
    "oom_bound": "a batch size no larger ran out of memory on the same device and model (figure: that "
                 "batch size, because: the candidate that ran out)",
    "input_not_bottleneck": "the same settings with fewer workers barely waited for input (figure: its "
                            "input wait share, threshold: the share below which workers cannot help, "
                            "because: that candidate)",
}

# Stop codes of a search.
STOPS: dict[str, str] = {
    "complete": "every planned measurement of the final rung was made",
    "budget": "the next measurement's expected cost exceeded the seconds left (figure: expected seconds, "
              "threshold: seconds left)",
    "no_candidates": "no candidate was left to measure (all pruned, failed or invalid)",
    "machine_busy": "several measurements in a row were invalid: the machine is busy or throttled "
                    "(figure: invalid in a row)",
    "interrupted": "the caller stopped the search",
}


@dataclass(frozen=True)
class Measurement:
    """What measuring one trial found; the caller builds it from the case's extra_info.

    `interval`: images/s, low to high, over what the measurement covers (its timed rounds);
    None for a single figure. `seconds`: the wall time the measurement cost, setup (workers,
    warm-up, calibration, compile) included. `timed_seconds`: of which timed rounds; None
    means "the effort asked for". `input_wait_share`: fraction of the timed epoch spent waiting
    for the next batch (extra_info["phases"]["share"]["input_wait"]).
    """

    images_per_sec: float | None
    interval: tuple[float, float] | None
    trust: str
    seconds: float
    timed_seconds: float | None = None
    input_wait_share: float | None = None
    out_of_memory: bool = False
    error: str | None = None

    def __post_init__(self):
        if self.trust not in LEVELS:
            raise ValueError(f"trust must be one of {', '.join(LEVELS)}, not {self.trust!r}")
        if not math.isfinite(self.seconds) or self.seconds < 0:
            raise ValueError(f"seconds must be finite and at least 0, not {self.seconds}")
        if self.images_per_sec is None and not (self.out_of_memory or self.error or self.trust == "invalid"):
            raise ValueError("a measurement without images_per_sec must say why (out_of_memory, error or invalid)")
        if self.interval is not None and not self.interval[0] <= self.interval[1]:
            raise ValueError(f"interval must be (low, high), not {self.interval}")

    @property
    def usable(self) -> bool:
        """A figure the search may rank, promote and prune on: not invalid, not failed."""
        return (self.trust != "invalid" and self.images_per_sec is not None
                and not self.out_of_memory and self.error is None)

    @property
    def failed(self) -> bool:
        return self.out_of_memory or self.error is not None

    @property
    def bounds(self) -> tuple[float, float]:
        """The interval, or the single figure at both ends."""
        if self.interval is not None:
            return self.interval
        if self.images_per_sec is None:
            raise ValueError("a measurement without images_per_sec has no bounds")
        return (self.images_per_sec, self.images_per_sec)

    def as_dict(self) -> dict:
        return {"images_per_sec": self.images_per_sec,
                "interval": list(self.interval) if self.interval is not None else None,
                "trust": self.trust, "seconds": self.seconds, "timed_seconds": self.timed_seconds,
                "input_wait_share": self.input_wait_share, "out_of_memory": self.out_of_memory,
                "error": self.error}


@dataclass(frozen=True)
class Trial:
    """What the caller must measure next: `candidate` for `effort_seconds` of timed rounds.

    The caller times rounds adding up to about `effort_seconds` (for epochs:
    bench.timing.rounds_to_fill(round_seconds, rounds, effort_seconds)), in a case of its own
    with its usual setup, and reports the whole cost in `Measurement.seconds`.

    `repeat`: which of the final rung's independent repeats this is (0 elsewhere); `attempt`:
    0, or n for the n-th re-measurement after an invalid one. `expected_seconds`: the cost the
    scheduler expected when it started the trial, setup included.
    """

    index: int
    candidate: Candidate
    rung: int
    effort_seconds: float
    repeat: int = 0
    attempt: int = 0
    expected_seconds: float = 0.0


@dataclass(frozen=True)
class Reason:
    """Why a decision was taken, as data (`REASONS` says what each code's figures hold)."""

    code: str
    figure: float | None = None
    threshold: float | None = None
    because: Candidate | None = None

    def __post_init__(self):
        if self.code not in REASONS:
            raise ValueError(f"unknown reason code {self.code!r}")

    def as_dict(self) -> dict:
        return {"code": self.code, "figure": self.figure, "threshold": self.threshold,
                "because": self.because.as_dict() if self.because is not None else None}


@dataclass(frozen=True)
class Decision:
    code: str
    reason: Reason | None = None

    def __post_init__(self):
        if self.code not in DECISIONS:
            raise ValueError(f"unknown decision code {self.code!r}")

    def as_dict(self) -> dict:
        return {"code": self.code, "reason": self.reason.as_dict() if self.reason is not None else None}


@dataclass(frozen=True)
class TrialRecord:
    """One step of the path: a trial with its measurement, or a candidate decided without one.

    Pruned and unmeasured candidates have no measurement and no start (`started_seconds`:
    seconds since the search started, by its clock).
    """

    index: int
    candidate: Candidate
    rung: int
    effort_seconds: float
    decision: Decision
    repeat: int = 0
    attempt: int = 0
    expected_seconds: float | None = None
    started_seconds: float | None = None
    measurement: Measurement | None = None

    def as_dict(self) -> dict:
        return {"index": self.index, "candidate": self.candidate.as_dict(), "rung": self.rung,
                "effort_seconds": self.effort_seconds, "repeat": self.repeat, "attempt": self.attempt,
                "expected_seconds": self.expected_seconds, "started_seconds": self.started_seconds,
                "measurement": self.measurement.as_dict() if self.measurement is not None else None,
                "decision": self.decision.as_dict()}


@dataclass(frozen=True)
class Standing:
    """A candidate's figure at a rung: the median of its usable runs there, and their interval.

    `interval`: the hull of the runs' intervals, so it covers the timed rounds of every run and
    the spread between runs (`runs` of them); `trust`: the worst of theirs.
    """

    candidate: Candidate
    rung: int
    images_per_sec: float
    interval: tuple[float, float]
    trust: str
    runs: int

    def overlaps(self, other: Standing) -> bool:
        """Whether the two intervals share a value: no measurable difference between them."""
        return self.interval[0] <= other.interval[1] and other.interval[0] <= self.interval[1]

    def as_dict(self) -> dict:
        return {"candidate": self.candidate.as_dict(), "rung": self.rung, "images_per_sec": self.images_per_sec,
                "interval": list(self.interval), "trust": self.trust, "runs": self.runs}


@dataclass(frozen=True)
class Stop:
    code: str
    figure: float | None = None
    threshold: float | None = None

    def __post_init__(self):
        if self.code not in STOPS:
            raise ValueError(f"unknown stop code {self.code!r}")

    def as_dict(self) -> dict:
        return {"code": self.code, "figure": self.figure, "threshold": self.threshold}


@dataclass(frozen=True)
class Scheme:
    """The search's settings, recorded with its path."""

    eta: int
    efforts_seconds: tuple[float, ...]
    final_repeats: int
    max_attempts: int
    max_invalid_in_a_row: int
    order_seed: int
    setup_seconds_prior: float
    rules: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"name": "successive_halving", "eta": self.eta, "efforts_seconds": list(self.efforts_seconds),
                "final_repeats": self.final_repeats, "max_attempts": self.max_attempts,
                "max_invalid_in_a_row": self.max_invalid_in_a_row, "order_seed": self.order_seed,
                "setup_seconds_prior": self.setup_seconds_prior, "rules": list(self.rules)}


@dataclass(frozen=True)
class Stage:
    """One rung's summary: candidates that entered it and what became of them.

    Each candidate counts once in `measured` (a usable figure here), `failed`, `pruned` or
    `unmeasured` (the budget did not reach it here; those never measured anywhere, most of a
    large grid at the first rung, have no line on the path), or in none (invalid at every
    attempt, or still waiting). `promoted` and `dropped` count the cut's decisions, `trials`
    the measurements made, `seconds` their own seconds, setup included.
    """

    rung: int
    effort_seconds: float
    entered: int
    measured: int
    promoted: int
    dropped: int
    failed: int
    pruned: int
    unmeasured: int
    trials: int
    seconds: float

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Progress:
    """Where the search stands, for a line on the terminal after each step."""

    rung: int
    rungs: int
    effort_seconds: float
    queued: int  # trials waiting at this rung
    in_contention: int  # candidates neither dropped, failed nor pruned
    best: Standing | None  # the best figure at the highest rung measured so far
    budget_seconds: float
    spent_seconds: float
    left_seconds: float
    trials: int  # measurements made so far
    last: TrialRecord | None = None
    stop: Stop | None = None

    @property
    def finished(self) -> bool:
        return self.stop is not None


@dataclass(frozen=True)
class SearchResult:
    """The answer and how it was found.

    `winners`: the best standing first, then every other whose interval overlaps the winner's
    (a tie: no measurable difference), from the final rung when `final`, else from the highest
    rung reached (an interrupted search). `finalists`: every standing of that rung, best first.
    `reference`: the reference's standing at that rung (None if it has none).
    """

    scheme: Scheme
    reference_candidate: Candidate
    candidates: int
    winners: tuple[Standing, ...]
    finalists: tuple[Standing, ...]
    reference: Standing | None
    final: bool
    stages: tuple[Stage, ...]
    trials: tuple[TrialRecord, ...]
    budget_seconds: float
    spent_seconds: float
    stop: Stop | None  # None: the search has not finished (the result of a running search)

    @property
    def tie(self) -> bool:
        return len(self.winners) > 1

    @property
    def best(self) -> Standing | None:
        return self.winners[0] if self.winners else None

    def as_dict(self) -> dict:
        return {"scheme": self.scheme.as_dict(), "reference_candidate": self.reference_candidate.as_dict(),
                "candidates": self.candidates, "winners": [standing.as_dict() for standing in self.winners],
                "tie": self.tie, "final": self.final,
                "finalists": [standing.as_dict() for standing in self.finalists],
                "reference": self.reference.as_dict() if self.reference is not None else None,
                "stages": [stage.as_dict() for stage in self.stages],
                "trials": [record.as_dict() for record in self.trials],
                "budget_seconds": self.budget_seconds, "spent_seconds": self.spent_seconds,
                "stop": self.stop.as_dict() if self.stop is not None else None}
