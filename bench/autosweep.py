"""The auto preset in pytest: the search (bench/search) decides which epoch case runs next, and for how long.

Collection makes one epoch case per configuration the search may choose from
(`bench.grid.with_candidates`); `run` then drives them: the search hands out a trial (a
configuration, its rung and the seconds of timed rounds it gets), the trial's case runs as
any case does (its warm-up, its sampler, its trust, its record in the results file, marked
with `extra_info["search"]`), and what it measured goes back to the search as a
`Measurement`. A line after each trial says where the search stands. Cases the search never
ran are listed in the file's `cases` with the reason (pruned, not reached in the budget). The
search's path, stopping reason and budget go into `machine_info["cifarbench"]["search"]`.

The budget is the whole run's: the seconds pytest has already spent starting (torch, the data
set, the machine's facts) and a reserve for the report at the end come off it. Where the run
has converge cases (bench/bench_converge.py), `CONVERGE_SHARE` of what is left goes to training
the search's winners and the tutorial's settings to the target accuracy after the search, each
with an equal part of it as its budget: the answer then ranks them by time to target.
"""

from __future__ import annotations

import time

from bench.contract import Case, Machine, derive
from bench.contract.vocab import OK, TRUST_LEVELS
from bench.search import Candidate, Measurement, Progress, Search, steps

# Seconds kept for what follows the search: the last save and the report's build.
REPORT_RESERVE_SECONDS = 10.0
# The part of the budget kept for training the winners and the tutorial's settings to the target.
CONVERGE_SHARE = 0.4
# Seconds of timed rounds per rung (eta 3) for a 10-minute budget; smaller budgets scale them
# down (to a third at most), so that a short search still measures every candidate briefly
# rather than the reference alone: on two CPU cores a trial's setup (workers, warm-up,
# calibration) costs 1-5 s besides its rounds, and 33 candidates share a 5-minute budget.
RUNG_SECONDS = (1.0, 3.0, 9.0)
FULL_BUDGET_SECONDS = 600.0
MIN_RUNG_SCALE = 1 / 3


def rung_seconds(budget_seconds: float) -> tuple[float, ...]:
    """The rungs' seconds of timed rounds for a budget (`RUNG_SECONDS` at `FULL_BUDGET_SECONDS` and above)."""
    scale = min(1.0, max(MIN_RUNG_SCALE, budget_seconds / FULL_BUDGET_SECONDS))
    return tuple(seconds * scale for seconds in RUNG_SECONDS)
# The process's start, near enough: when this module was first imported (with the plugin).
PROCESS_STARTED = time.monotonic()


def candidate_of(case: dict) -> Candidate:
    """The search's configuration of an epoch case (its axes that the search varies)."""
    return Candidate.of({axis: case[axis] for axis in ("device", "loader", "batch_size", "num_workers", "threads")})


def run(session, state, write_line, converges: list | None = None, run_converge=None) -> None:
    """Drive the auto preset's epoch cases by the search until it stops (or Ctrl-C), then train
    its winners and the tutorial's settings to the target (`converges`: the converge items;
    `run_converge(items, seconds_each)`: the plugin runs them)."""
    grid = state.sweep.grid
    items = {candidate_of(item.callspec.params): item for item in session.items
             if hasattr(item, "callspec") and "compile" in item.callspec.params}
    reference = candidate_of(grid.reference)
    spent_starting = time.monotonic() - PROCESS_STARTED
    left = max(grid.budget_seconds - spent_starting - REPORT_RESERVE_SECONDS, 1.0)
    budget = left * (1 - CONVERGE_SHARE) if converges else left
    search = Search(list(items), reference, budget_seconds=budget, efforts_seconds=rung_seconds(budget))
    state.search = search

    def measure(trial) -> Measurement:
        item = items[trial.candidate]
        state.read_canary(before=item.nodeid)
        state.sweep.effort_seconds = trial.effort_seconds
        state.sweep.search_facts = {"rung": trial.rung, "effort_seconds": trial.effort_seconds,
                                    "repeat": trial.repeat, "attempt": trial.attempt}
        started = time.monotonic()
        kept_before = len(state.measurements())
        state.start_run(item.nodeid, trial.repeat + 1)
        try:
            item.config.hook.pytest_runtest_protocol(item=item, nextitem=None)
        finally:
            state.sweep.effort_seconds = state.sweep.search_facts = None
        seconds = time.monotonic() - started
        if session.shouldfail or session.shouldstop:
            raise KeyboardInterrupt  # the search stops like any sweep stops
        kept = state.measurements()[kept_before:]
        return measurement(kept[-1] if kept else None, state.sweep.outcomes, item.nodeid, seconds)

    try:
        for progress in steps(search, measure):
            write_line(progress_line(progress))
    finally:
        result = search.result()
        state.sweep.machine_facts[Machine.search] = result.as_dict()
        tried = {record.candidate for record in result.trials if record.measurement is not None}
        for candidate, item in items.items():
            if candidate not in tried:
                state.sweep.outcomes.append({
                    "nodeid": item.nodeid, "group": "epoch", "params": dict(item.callspec.params), "when": "call",
                    "outcome": "not tried", "reason": _why_not_tried(result, candidate), "duration_s": None})
    if converges and run_converge is not None:
        winners = [{**{axis: grid.reference[axis] for axis in ("model", "transform")}, **standing.candidate.as_dict()}
                   for standing in result.winners]
        left = grid.budget_seconds - (time.monotonic() - PROCESS_STARTED) - REPORT_RESERVE_SECONDS
        write_line(f"search: training its {len(winners)} winner{'s' if len(winners) != 1 else ''} and the "
                   f"tutorial's settings to the target accuracy ({left:.0f} s left)")
        run_converge(winners, max(left, 1.0))
    state.read_canary(before=None)


def measurement(bench, outcomes: list[dict], nodeid: str, seconds: float) -> Measurement:
    """What the search learns from one run of a case: its figure, interval, trust and cost."""
    if bench is None:
        reason = next((case["reason"] for case in reversed(outcomes) if case["nodeid"] == nodeid), None) or "no result"
        out_of_memory = "out of memory" in reason
        return Measurement(images_per_sec=None, interval=None, trust=OK, seconds=seconds,
                           out_of_memory=out_of_memory, error=None if out_of_memory else reason)
    info = bench.extra_info
    rounds = list(bench.stats.data)
    figure = info[Case.images_per_sec]
    interval = derive.interval(figure, [], derive.round_images_per_sec(info[Case.images_per_round], rounds), None)
    level = (info.get(Case.trust) or {}).get("level")
    phases = info.get("phases") or {}
    wait = phases.get("device_idle_share")
    if wait is None:
        wait = (phases.get("share") or {}).get("input_wait")
    return Measurement(images_per_sec=figure, interval=interval, trust=level if level in TRUST_LEVELS else OK,
                       seconds=seconds, timed_seconds=sum(rounds), input_wait_share=wait)


def progress_line(progress: Progress) -> str:
    """'search: rung 2/3 (3 s rounds), 4 trials queued, 9 in contention; best 15k images/s (...); 140 s left'."""
    best = progress.best
    told = (f"best {best.images_per_sec:,.0f} images/s ({_settings(best.candidate)})" if best is not None
            else "no figure yet")
    if progress.finished:
        return (f"search: stopped ({progress.stop.code}) after {progress.trials} trials in "
                f"{progress.spent_seconds:.0f} s; {told}")
    return (f"search: rung {progress.rung + 1}/{progress.rungs} ({progress.effort_seconds:.2g} s of rounds), "
            f"{progress.queued} queued, {progress.in_contention} in contention; {told}; "
            f"{progress.left_seconds:.0f} s left")


def _settings(candidate: Candidate) -> str:
    settings = candidate.as_dict()
    return (f"{settings['loader']}, batch {settings['batch_size']}, {settings['num_workers']} workers, "
            f"{settings['threads']} thread{'' if settings['threads'] == 1 else 's'}")


def _why_not_tried(result, candidate: Candidate) -> str:
    for record in reversed(result.trials):
        if record.candidate == candidate and record.decision.reason is not None:
            return f"not tried by the search: {record.decision.code} ({record.decision.reason.code})"
    return "not tried by the search: not reached within the budget"

