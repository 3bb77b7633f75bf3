"""Successive halving under a wall-clock budget: which epoch configuration to measure next, and for how long.

The scheme (Jamieson & Talwalkar 2016, successive halving; Li et al. 2017, Hyperband's inner loop):
- Rungs of effort, in seconds of timed rounds: 1, 3 and 9 by default, eta = 3 apart. The first
  rung measures many candidates briefly; after each rung the best floor(n/eta) (at least one)
  go on, plus every candidate whose interval reaches the cut-off's (a tie is kept, not decided
  by one noisy run). The final rung measures each finalist `final_repeats` times (2, as asv runs
  every benchmark in 2 processes by default), interleaved (every finalist once, then again) so
  a slow spell of the machine touches them alike; a finalist's interval covers all its runs.
- The reference (the tutorial's settings) is measured first at the first rung and always at
  the final rung, first in each pass, whatever its rank: the answer is given against it.
- Budget, in wall seconds by `clock`, from the first `next_trial`: the first rung's breadth is
  the largest the whole plan fits in: a trial starts only if its expected cost plus the
  expected cost of the rungs after it (floor(n/eta) of the candidates measured so far and this
  one, each rung in turn, and the reference's final runs) fits in what is left. Later rungs
  re-plan at each cut with the promoted candidates' own expected costs, dropping the last
  kept ones the budget cannot pay for, and going straight to the final rung when not even
  the best can be paid for through the rungs between; the final rung needs only its own
  trial to fit. No
  trial starts whose expected cost exceeds what is left, so a search overruns its budget by
  at most what one measurement cost beyond its estimate. Expected costs come from the
  measurements so far (bench/search/costs.py).
- Trust: an invalid measurement is measured again two trials later (up to `max_attempts` in
  all), and never reaches the rules, a cut or the result; `max_invalid_in_a_row` invalid
  measurements in a row stop the search ("machine_busy"). A noisy one counts with
  its interval. A measurement that ran out of memory or failed ends that candidate.
- Domain rules (bench/search/rules.py) are asked about a candidate with no figure of its own
  just before it would be measured; never about the reference. First-rung candidates the
  budget never reaches are counted in the stage, not listed (most of a large grid).

Why not Optuna's SuccessiveHalvingPruner / HyperbandPruner (optuna 5.0 read): they decide whether
one running trial stops at a step, from its intermediate value against other trials' values at
that step; here each rung is a separate, whole measurement with its own setup, decided for
candidates known in advance. Their promotion is asynchronous (a trial goes on when it is in the
top 1/eta of those that reached the rung so far, and the first ones always do), which on one
machine measuring one candidate at a time spends the budget on whichever came first; it
compares single values, so an interval, a tie or an invalid figure to repeat has no place; the
budget is `timeout` on starting trials, with no cost estimate and no reserve for the
finalists; and pruning candidates never measured (a batch size that cannot fit) is a sampler's
job there, not a pruner's. The GPU image cannot install Optuna either, and a second code path
used only where Optuna is installed would go untested there. So this module is written by
hand, in the standard library, with Optuna's promotion count (floor(n/eta), at least one) and
Hyperband's default eta = 3; the same code runs everywhere.

Use: `search.next_trial()` says what to measure (None: finished, `search.stop` says why),
`search.report(trial, measurement)` what it found; `steps(search, measure)` drives both and
yields a `Progress` after each measurement; `search.result()` is the answer and the path at
any moment, and `search.interrupt()` marks a trial cut short (Ctrl-C) and stops the search.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from bench.search.candidates import BATCH_SIZE, Candidate, search_order
from bench.search.costs import CostModel
from bench.search.records import (
    Decision,
    Measurement,
    Progress,
    Reason,
    Scheme,
    SearchResult,
    Stage,
    Standing,
    Stop,
    Trial,
    TrialRecord,
)
from bench.search.rules import DEFAULT_RULES, Observation, Rule, rule_name
from bench.search.standings import cut, promoted_count, ranked, standing, winners

# Until the first measurement says otherwise: the setup of an epoch case (model, workers starting,
# warm-up and calibration passes, evaluation) is a few seconds on a 2-core VM. A guess only; the
# first measurement replaces it.
SETUP_SECONDS_PRIOR = 5.0

# An invalid measurement is measured again after this many other trials: long enough for a short
# burst of other work on the machine to pass, soon enough to come before the rung's budget ends
# (the first rung's queue is the whole grid, and its end is never reached on a small budget).
REPEAT_GAP_TRIALS = 2


@dataclass(frozen=True)
class _Queued:
    """A trial waiting at the current rung."""

    candidate: Candidate
    repeat: int = 0
    attempt: int = 0


class Search:
    """One successive-halving search over `candidates` within `budget_seconds` (see the module docstring).

    `reference` is added to the candidates when missing. `clock` is read for the budget only
    (tests pass a fake one). The state (`result()`) describes what was measured so far at
    every moment: a trial handed out and not yet reported is recorded as in flight.
    """

    def __init__(self, candidates: Sequence[Candidate], reference: Candidate, budget_seconds: float,
                 rules: Sequence[Rule] = DEFAULT_RULES, eta: int = 3,
                 efforts_seconds: Sequence[float] = (1.0, 3.0, 9.0), final_repeats: int = 2,
                 max_attempts: int = 3, max_invalid_in_a_row: int = 5, order_seed: int = 0,
                 setup_seconds_prior: float = SETUP_SECONDS_PRIOR, clock: Callable[[], float] = time.monotonic):
        efforts_seconds = tuple(float(effort) for effort in efforts_seconds)
        if not candidates:
            raise ValueError("a search needs at least one candidate")
        if not budget_seconds > 0:
            raise ValueError(f"budget_seconds must be positive, not {budget_seconds}")
        if eta < 2:
            raise ValueError(f"eta must be at least 2, not {eta}")
        if not efforts_seconds or efforts_seconds[0] <= 0 or any(
                later <= earlier for earlier, later in itertools.pairwise(efforts_seconds)):
            raise ValueError(f"efforts_seconds must be positive and increasing, not {efforts_seconds}")
        if final_repeats < 1 or max_attempts < 1 or max_invalid_in_a_row < 1:
            raise ValueError("final_repeats, max_attempts and max_invalid_in_a_row must be at least 1")
        self.reference = reference
        self.budget_seconds = float(budget_seconds)
        self.rules = tuple(rules)
        self.eta = eta
        self.efforts_seconds = efforts_seconds
        self.final_rung = len(efforts_seconds) - 1
        self.final_repeats = final_repeats
        self.max_attempts = max_attempts
        self.max_invalid_in_a_row = max_invalid_in_a_row
        self.clock = clock
        self.scheme = Scheme(eta=eta, efforts_seconds=efforts_seconds, final_repeats=final_repeats,
                             max_attempts=max_attempts, max_invalid_in_a_row=max_invalid_in_a_row,
                             order_seed=order_seed, setup_seconds_prior=setup_seconds_prior,
                             rules=tuple(rule_name(rule) for rule in self.rules))
        self.order = search_order(candidates, reference, order_seed)
        self.costs = CostModel(setup_seconds_prior)
        self._records: list[TrialRecord] = []
        self._observations: list[Observation] = []  # every measurement that is not invalid
        self._observed: set[Candidate] = set()  # their candidates
        self._out: dict[Candidate, str] = {}  # out of contention: the decision code that put it out
        self._awaiting_cut: dict[tuple[Candidate, int], int] = {}  # (candidate, rung) -> record index
        self._rung = 0
        self._entered: dict[int, tuple[Candidate, ...]] = {}  # rung -> candidates queued there
        self._queue: list[_Queued] = []
        self._enter(0, self.order)
        self._in_flight: Trial | None = None
        self._stop: Stop | None = None
        self._started_at: float | None = None
        self._invalid_in_a_row = 0
        self._reference_carried = False
        self._unreached: dict[int, set[Candidate]] = {}  # rung -> candidates never measured, for want of budget

    @property
    def stop(self) -> Stop | None:
        """Why the search finished; None while it runs."""
        return self._stop

    def next_trial(self) -> Trial | None:
        """The next trial to measure, or None when the search has finished (`stop` says why)."""
        if self._stop is not None:
            return None
        if self._in_flight is not None:
            raise RuntimeError(f"trial {self._in_flight.index} is in flight: report it (or interrupt) first")
        if self._started_at is None:
            self._started_at = self.clock()
        while True:
            picked = self._pick()
            if picked is not None:
                return self._start(*picked)
            if not self._close_rung():
                return None

    def report(self, trial: Trial, measurement: Measurement) -> None:
        """What measuring `trial` found; decides what follows from it."""
        if self._in_flight is None or trial.index != self._in_flight.index:
            raise ValueError(f"trial {trial.index} is not the one in flight")
        trial, self._in_flight = self._in_flight, None
        candidate, rung = trial.candidate, trial.rung
        self.costs.add(candidate, trial.effort_seconds, measurement)
        record = replace(self._records[trial.index], measurement=measurement)
        if measurement.trust == "invalid":
            self._invalid_in_a_row += 1
            if trial.attempt + 1 < self.max_attempts:
                decision = Decision("repeated", Reason("invalid", figure=trial.attempt + 1,
                                                       threshold=self.max_attempts))
                self._queue.insert(REPEAT_GAP_TRIALS, _Queued(candidate, trial.repeat, trial.attempt + 1))
            else:
                decision = Decision("dropped", Reason("invalid_limit", figure=self.max_attempts))
                if rung < self.final_rung:
                    self._put_out(candidate, "dropped")
            self._records[trial.index] = replace(record, decision=decision)
            if self._invalid_in_a_row >= self.max_invalid_in_a_row:
                self._stop = Stop("machine_busy", figure=self._invalid_in_a_row)
            return
        self._invalid_in_a_row = 0
        self._observations.append(Observation(candidate, rung, measurement))
        self._observed.add(candidate)
        if measurement.failed:
            reason = (Reason("out_of_memory", figure=_number(candidate.get(BATCH_SIZE)))
                      if measurement.out_of_memory else Reason("error"))
            decision = Decision("failed", reason)
            self._put_out(candidate, "failed")
        elif rung == self.final_rung:
            decision = Decision("final")
        else:
            decision = Decision("measured")
            self._awaiting_cut[(candidate, rung)] = trial.index
        self._records[trial.index] = replace(record, decision=decision)

    def interrupt(self) -> None:
        """The caller stopped (Ctrl-C, an error while measuring): the trial in flight is recorded
        as interrupted and the search ends with what was measured."""
        if self._in_flight is not None:
            index = self._in_flight.index
            self._records[index] = replace(self._records[index], decision=Decision("interrupted"))
            self._in_flight = None
        if self._stop is None:
            self._stop = Stop("interrupted")

    def progress(self) -> Progress:
        best = self._answer()[1]
        return Progress(rung=self._rung, rungs=len(self.efforts_seconds),
                        effort_seconds=self.efforts_seconds[self._rung], queued=len(self._queue),
                        in_contention=len(self.order) - len(self._out),
                        best=best[0] if best else None, budget_seconds=self.budget_seconds,
                        spent_seconds=self._spent_seconds(), left_seconds=self._left_seconds(),
                        trials=sum(record.measurement is not None for record in self._records),
                        last=self._last_measured(), stop=self._stop)

    def result(self) -> SearchResult:
        """The answer and the path so far (complete once `stop` is set)."""
        rung, finalists = self._answer()
        return SearchResult(
            scheme=self.scheme, reference_candidate=self.reference, candidates=len(self.order),
            winners=winners(finalists), finalists=tuple(finalists), reference=self._reference_standing(),
            final=rung == self.final_rung and bool(finalists), stages=self._stages(),
            trials=tuple(self._records), budget_seconds=self.budget_seconds,
            spent_seconds=self._spent_seconds(), stop=self._stop)

    def _pick(self) -> tuple[_Queued, float] | None:
        """The first queued trial the budget pays for and the rules leave, with its expected seconds.

        Rules are asked only about trials that would otherwise start: a pruning on the path is
        a measurement saved, not a verdict on candidates the budget never reached.
        """
        left = self._left_seconds() - self._reserve_seconds()
        effort = self.efforts_seconds[self._rung]
        index = 0
        while index < len(self._queue):
            queued = self._queue[index]
            if queued.candidate in self._out:  # failed or pruned at an earlier repeat of this rung
                del self._queue[index]
                continue
            expected = self.costs.expected_seconds(queued.candidate, effort)
            if expected > left:
                index += 1
                continue
            del self._queue[index]
            if not self._prune(queued.candidate):
                return queued, expected
        return None

    def _start(self, queued: _Queued, expected_seconds: float) -> Trial:
        trial = Trial(index=len(self._records), candidate=queued.candidate, rung=self._rung,
                      effort_seconds=self.efforts_seconds[self._rung], repeat=queued.repeat,
                      attempt=queued.attempt, expected_seconds=expected_seconds)
        self._records.append(TrialRecord(index=trial.index, candidate=trial.candidate, rung=trial.rung,
                                         effort_seconds=trial.effort_seconds, decision=Decision("in_flight"),
                                         repeat=trial.repeat, attempt=trial.attempt,
                                         expected_seconds=expected_seconds, started_seconds=self._spent_seconds()))
        self._in_flight = trial
        return trial

    def _prune(self, candidate: Candidate) -> bool:
        """Ask the rules about a candidate with no figure of its own; record a pruning."""
        if candidate == self.reference or candidate in self._observed:
            return False
        for rule in self.rules:
            reason = rule(candidate, tuple(self._observations))
            if reason is not None:
                self._decide_without_trial(candidate, Decision("pruned", reason))
                self._put_out(candidate, "pruned")
                return True
        return False

    def _decide_without_trial(self, candidate: Candidate, decision: Decision, repeat: int = 0) -> None:
        self._records.append(TrialRecord(index=len(self._records), candidate=candidate, rung=self._rung,
                                         effort_seconds=self.efforts_seconds[self._rung], decision=decision,
                                         repeat=repeat))

    def _spent_seconds(self) -> float:
        return 0.0 if self._started_at is None else self.clock() - self._started_at

    def _left_seconds(self) -> float:
        return self.budget_seconds - self._spent_seconds()

    def _repeats(self, rung: int) -> int:
        return self.final_repeats if rung == self.final_rung else 1

    def _reserve_seconds(self) -> float:
        """What the rungs after this one are expected to cost if one more trial runs at this rung."""
        rung = self._rung
        if rung == self.final_rung:
            return 0.0
        if rung == 0:
            measured = sum(1 for key in self._awaiting_cut if key[1] == 0)
            going_on = promoted_count(measured + 1, self.eta)
        else:
            going_on = promoted_count(len(self._entered[rung]), self.eta)
        return self._plan_seconds(rung + 1, going_on) + self._reference_final_seconds()

    def _plan_seconds(self, rung: int, count: int) -> float:
        """The expected cost of `count` typical candidates from `rung` on, cut by eta at each rung."""
        seconds = 0.0
        for later in range(rung, self.final_rung + 1):
            seconds += count * self._repeats(later) * self.costs.typical_seconds(self.efforts_seconds[later])
            count = promoted_count(count, self.eta)
        return seconds

    def _reference_final_seconds(self) -> float:
        """The reference's runs at the final rung, kept in reserve until then (none once it failed)."""
        if self._out.get(self.reference) == "failed":
            return 0.0
        return self.final_repeats * self.costs.expected_seconds(self.reference, self.efforts_seconds[-1])

    def _affordable(self, rung: int, going_on: Sequence[Candidate]) -> bool:
        """Whether `going_on` can be measured at `rung` and the plan after it still fits."""
        effort = self.efforts_seconds[rung]
        seconds = sum(self._repeats(rung) * self.costs.expected_seconds(candidate, effort) for candidate in going_on)
        if rung < self.final_rung:
            seconds += (self._plan_seconds(rung + 1, promoted_count(len(going_on), self.eta))
                        + self._reference_final_seconds())
        elif self.reference not in going_on:
            seconds += self._reference_final_seconds()
        return seconds <= self._left_seconds()

    def _enter(self, rung: int, members: Sequence[Candidate]) -> None:
        """Queue `members` (in measuring order) at `rung`: once, or in interleaved passes at the final rung."""
        self._rung = rung
        self._entered[rung] = tuple(members)
        self._queue = [_Queued(candidate, repeat) for repeat in range(self._repeats(rung)) for candidate in members]

    def _close_rung(self) -> bool:
        """Nothing more fits or waits at this rung: record what was left, cut, and enter the next rung.

        False when the search has finished (`stop` set).
        """
        rung = self._rung
        effort = self.efforts_seconds[rung]
        left = self._left_seconds()
        first_expected = None
        for queued in self._queue:
            if queued.candidate in self._out:
                continue
            expected = self.costs.expected_seconds(queued.candidate, effort)
            first_expected = expected if first_expected is None else first_expected
            if queued.candidate in self._observed or queued.candidate == self.reference:
                # Promoted (or the reference) and not paid for: worth a line on the path.
                self._decide_without_trial(queued.candidate, Decision("unmeasured", Reason(
                    "over_budget", figure=expected, threshold=left)), repeat=queued.repeat)
            else:
                # Never measured, beyond the first rung's budget (most of a large grid): counted only.
                self._unreached.setdefault(rung, set()).add(queued.candidate)
            if rung < self.final_rung:
                self._put_out(queued.candidate, "unmeasured")
        self._queue = []
        if rung == self.final_rung:
            self._stop = (Stop("complete") if first_expected is None
                          else Stop("budget", figure=first_expected, threshold=left))
            return False
        going_on, next_rung = self._cut(rung)
        if self.reference not in going_on and self.reference not in self._out and not self._reference_carried:
            self._carry_reference(rung)
        members = [candidate for candidate in going_on if candidate != self.reference]
        if self.reference in going_on or (self._reference_carried and next_rung == self.final_rung):
            members.insert(0, self.reference)  # first: measured whatever the budget leaves for the others
        if not members and self._reference_carried:
            self._enter(self.final_rung, [self.reference])  # nothing else went on: straight to the answer
            return True
        if not members:
            self._stop = Stop("no_candidates")
            return False
        self._enter(next_rung, members)
        return True

    def _cut(self, rung: int) -> tuple[list[Candidate], int]:
        """Decide the candidates measured at `rung`: who goes on (best first), who is dropped, and why;
        and the rung they go on to.

        That is the next rung, or the final one when the budget cannot pay for even the best
        candidate through the rungs between: an answer at the final rung, measured with
        repeats, is worth more than a rung of halving.
        """
        measured = [item for item in (
            standing(candidate, rung, self._usable(candidate, rung))
            for candidate, at in self._awaiting_cut if at == rung) if item is not None]
        decided = cut(measured, promoted_count(len(measured), self.eta))
        going_on = list(decided.top) + list(decided.ties)
        next_rung = rung + 1
        if going_on and next_rung < self.final_rung and not self._affordable(next_rung, [going_on[0].candidate]):
            next_rung = self.final_rung
        over_budget: list[Standing] = []
        while len(going_on) > 1 and not self._affordable(next_rung, [item.candidate for item in going_on]):
            over_budget.append(going_on.pop())
        cutoff = decided.cutoff
        for item in decided.top:
            if item not in over_budget:
                self._decide(item, rung, Decision("promoted", Reason(
                    "top", figure=item.images_per_sec, threshold=cutoff.images_per_sec)))
        for item in decided.ties:
            if item not in over_budget:
                self._decide(item, rung, Decision("promoted", Reason(
                    "tie_at_cutoff", figure=item.interval[1], threshold=cutoff.interval[0])))
        for item in decided.below:
            self._decide(item, rung, Decision("dropped", Reason(
                "below_cutoff", figure=item.interval[1], threshold=cutoff.interval[0])))
        left = self._left_seconds()
        for item in over_budget:
            expected = self._repeats(next_rung) * self.costs.expected_seconds(
                item.candidate, self.efforts_seconds[next_rung])
            self._decide(item, rung, Decision("dropped", Reason("over_budget", figure=expected, threshold=left)))
        return [item.candidate for item in going_on], next_rung

    def _carry_reference(self, rung: int) -> None:
        """The reference did not go on by merit: it skips to the final rung (its record says so)."""
        self._reference_carried = True
        index = self._awaiting_cut.get((self.reference, rung))
        if index is not None:
            self._records[index] = replace(self._records[index], decision=Decision("carried", Reason("reference")))

    def _put_out(self, candidate: Candidate, code: str) -> None:
        """Out of contention; the reference only when it cannot be measured at all (it failed)."""
        if candidate != self.reference or code == "failed":
            self._out[candidate] = code

    def _decide(self, item: Standing, rung: int, decision: Decision) -> None:
        index = self._awaiting_cut[(item.candidate, rung)]
        self._records[index] = replace(self._records[index], decision=decision)
        if decision.code == "dropped":
            self._put_out(item.candidate, "dropped")

    def _usable(self, candidate: Candidate, rung: int) -> list[Measurement]:
        return [seen.measurement for seen in self._observations
                if seen.candidate == candidate and seen.rung == rung and seen.measurement.usable]

    def _standings(self, rung: int) -> list[Standing]:
        """Best first; a candidate that failed anywhere (out of memory at one repeat) is no answer."""
        candidates = dict.fromkeys(seen.candidate for seen in self._observations
                                   if seen.rung == rung and self._out.get(seen.candidate) != "failed")
        found = (standing(candidate, rung, self._usable(candidate, rung)) for candidate in candidates)
        return ranked([item for item in found if item is not None])

    def _answer(self) -> tuple[int, list[Standing]]:
        """The highest rung with a usable figure, and its standings best first."""
        for rung in range(self.final_rung, -1, -1):
            standings = self._standings(rung)
            if standings:
                return rung, standings
        return 0, []

    def _reference_standing(self) -> Standing | None:
        for rung in range(self.final_rung, -1, -1):
            found = standing(self.reference, rung, self._usable(self.reference, rung))
            if found is not None:
                return found
        return None

    def _last_measured(self) -> TrialRecord | None:
        return next((record for record in reversed(self._records) if record.measurement is not None), None)

    def _stages(self) -> tuple[Stage, ...]:
        stages = []
        for rung in sorted(self._entered):
            records = [record for record in self._records if record.rung == rung]
            outcomes = {candidate: self._outcome(candidate, rung, records) for candidate in self._entered[rung]}

            def count(*codes: str, records=records) -> int:
                return len({record.candidate for record in records if record.decision.code in codes})

            def having(outcome: str, outcomes=outcomes) -> int:
                return sum(found == outcome for found in outcomes.values())

            stages.append(Stage(
                rung=rung, effort_seconds=self.efforts_seconds[rung], entered=len(self._entered[rung]),
                measured=having("measured"), promoted=count("promoted", "carried"), dropped=count("dropped"),
                failed=having("failed"), pruned=having("pruned"), unmeasured=having("unmeasured"),
                trials=sum(record.measurement is not None for record in records),
                seconds=sum(record.measurement.seconds for record in records if record.measurement is not None)))
        return tuple(stages)

    def _outcome(self, candidate: Candidate, rung: int, records: Sequence[TrialRecord]) -> str | None:
        """What a candidate that entered `rung` got there: failed, measured, pruned, unmeasured, or
        None (only invalid figures, or still waiting)."""
        codes = {record.decision.code for record in records if record.candidate == candidate}
        if "failed" in codes:
            return "failed"
        if self._usable(candidate, rung):
            return "measured"
        if "pruned" in codes:
            return "pruned"
        if "unmeasured" in codes or candidate in self._unreached.get(rung, ()):
            return "unmeasured"
        return None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def steps(search: Search, measure: Callable[[Trial], Measurement]) -> Iterator[Progress]:
    """Measure every trial the search hands out, yielding its progress after each and once at the end.

    When `measure` raises (Ctrl-C included), the search is interrupted first, so its result
    describes what was measured, and the exception goes on to the caller.
    """
    while (trial := search.next_trial()) is not None:
        try:
            measurement = measure(trial)
        except BaseException:
            search.interrupt()
            raise
        search.report(trial, measurement)
        yield search.progress()
    yield search.progress()
