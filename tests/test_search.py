"""The adaptive search (bench/search/): successive halving on a fake machine.

The fake machine knows each configuration's images/s, adds noise from a seeded RNG, and moves
a fake clock by each measurement's cost: nothing is timed, nothing sleeps.
"""

import itertools
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

import pytest

from bench.search import (
    Candidate,
    Measurement,
    OutOfMemoryBound,
    Search,
    WorkersWithoutInputWait,
    build_candidates,
    steps,
    threads_for,
)
from bench.search.candidates import search_order
from bench.search.costs import CostModel
from bench.search.records import Standing
from bench.search.standings import cut, promoted_count, standing, winners

AXES = {"device": ["cpu"], "loader": ["pil", "tensor", "device"], "batch_size": [4, 16, 64, 256],
        "num_workers": [0, 1, 2]}


@dataclass
class FakeMachine:
    """Known images/s per configuration, seeded noise, a clock moved by each measurement's cost."""

    truth: dict[Candidate, float]
    seed: int = 0
    noise: float = 0.02  # relative standard deviation of one run's figure
    half_width: float = 0.03  # relative half-width of one run's interval
    setup_seconds: float = 3.0
    compile_seconds: float = 40.0  # more setup for a compiled candidate
    oom_from_batch: dict[str, int] = field(default_factory=dict)  # device -> first batch size that runs out
    input_wait_share: Callable[[Candidate], float] = lambda candidate: 0.2
    invalid: Callable[[object], bool] = lambda trial: False
    slower_at_rung: dict[int, float] = field(default_factory=dict)  # rung -> factor on the seconds
    now: float = 0.0
    measured: list = field(default_factory=list)

    def __post_init__(self):
        self.rng = Random(self.seed)

    def clock(self) -> float:
        return self.now

    def measure(self, trial) -> Measurement:
        candidate = trial.candidate
        compiled = candidate.get("compile", "eager") != "eager"
        setup_seconds = self.setup_seconds + (self.compile_seconds if compiled else 0.0)
        seconds = (setup_seconds + trial.effort_seconds) * self.slower_at_rung.get(trial.rung, 1.0)
        self.now += seconds
        self.measured.append(trial)
        bound = self.oom_from_batch.get(candidate.get("device"))
        if bound is not None and candidate.get("batch_size") >= bound:
            return Measurement(None, None, "ok", setup_seconds, out_of_memory=True)
        figure = self.truth[candidate] * (1 + self.rng.gauss(0, self.noise))
        interval = (figure * (1 - self.half_width), figure * (1 + self.half_width))
        if self.invalid(trial):
            # A busy machine's figure: wildly off, and it must not matter.
            return Measurement(figure * 10, (figure * 9, figure * 11), "invalid", seconds,
                               input_wait_share=0.0, out_of_memory=True)
        return Measurement(figure, interval, "ok", seconds, input_wait_share=self.input_wait_share(candidate))


def grid(axes=AXES, cores=2):
    built = build_candidates(axes, cores=cores)
    return built.candidates, built.reference


def truth_with_best(candidates, seed=0, best_images_per_sec=400.0):
    """Every configuration between 100 and 200 images/s, one of them planted at `best_images_per_sec`."""
    rng = Random(seed)
    truth = {candidate: rng.uniform(100, 200) for candidate in candidates}
    best = rng.choice(sorted(candidates, key=str))
    truth[best] = best_images_per_sec
    return truth, best


def run(search, machine):
    for _ in steps(search, machine.measure):
        pass
    return search.result()


def search_for(machine, candidates, reference, budget_seconds=300.0, **options):
    return Search(candidates, reference, budget_seconds, clock=machine.clock, **options)


def records_with(result, code):
    return [record for record in result.trials if record.decision.code == code]



def test_threads_are_the_cores_the_workers_leave_and_fewer():
    assert threads_for(0, 2) == (2, 1)
    assert threads_for(1, 2) == (1,)
    assert threads_for(2, 2) == (1,)  # at least one
    assert threads_for(2, 16) == (14, 8, 4, 2, 1)
    assert threads_for(0, 16) == (16, 8, 4, 2, 1)


def test_candidates_pair_threads_with_workers_and_leave_out_impossible_combinations():
    axes = {"device": ["cpu", "cuda:0"], "loader": ["pil", "device"], "batch_size": [4],
            "num_workers": [0, 2], "pin_memory": [False, True]}
    candidates, reference = grid(axes, cores=4)
    assert reference == Candidate.of(device="cpu", loader="pil", batch_size=4, num_workers=2,
                                     threads=None, pin_memory=False)
    assert reference in candidates
    measured = [candidate for candidate in candidates if candidate != reference]
    assert all(candidate.get("threads") in threads_for(candidate.get("num_workers"), 4) for candidate in measured)
    device_pipeline = [candidate for candidate in candidates if candidate.get("loader") == "device"]
    assert device_pipeline
    assert all(candidate.get("num_workers") == 0 and not candidate.get("pin_memory") for candidate in device_pipeline)
    assert not any(candidate.get("pin_memory") and candidate.get("device") == "cpu" for candidate in candidates)
    assert any(candidate.get("pin_memory") and candidate.get("device") == "cuda:0" for candidate in candidates)
    with pytest.raises(ValueError, match="threads is derived"):
        build_candidates({**axes, "threads": [1]}, cores=4)


def test_candidates_are_hashable_keys_that_round_trip_to_dicts():
    candidate = Candidate.of({"loader": "pil", "batch_size": 4})
    assert candidate == Candidate.of(batch_size=4, loader="pil")
    assert candidate.as_dict() == {"batch_size": 4, "loader": "pil"}
    assert Candidate.of(candidate.as_dict()) == candidate
    assert candidate.replace(batch_size=8).get("batch_size") == 8
    assert len({candidate, Candidate.of(loader="pil", batch_size=4)}) == 1


def test_first_rung_order_starts_with_the_reference_and_measures_fewer_workers_first():
    candidates, reference = grid()
    order = search_order(candidates, reference, seed=3)
    assert order[0] == reference
    assert sorted(order, key=str) == sorted(candidates, key=str)
    assert order == search_order(candidates, reference, seed=3)  # seeded
    position = {candidate: index for index, candidate in enumerate(order)}
    for candidate in order[1:]:
        for other in order[1:]:
            if (other.without("num_workers") == candidate.without("num_workers")
                    and other.get("num_workers") < candidate.get("num_workers")):
                assert position[other] < position[candidate]



def make_standing(name, images_per_sec, half_width):
    return Standing(Candidate.of(name=name), 0, images_per_sec,
                    (images_per_sec - half_width, images_per_sec + half_width), "ok", 1)


def test_the_cut_keeps_a_candidate_whose_interval_reaches_the_cut_off():
    standings = [make_standing("a", 300, 5), make_standing("b", 200, 5), make_standing("c", 190, 15),
                 make_standing("d", 150, 5)]
    decided = cut(standings, keep=2)
    assert [item.candidate.get("name") for item in decided.top] == ["a", "b"]
    assert [item.candidate.get("name") for item in decided.ties] == ["c"]  # 205 reaches 195
    assert [item.candidate.get("name") for item in decided.below] == ["d"]
    assert promoted_count(9, 3) == 3
    assert promoted_count(2, 3) == 1
    assert promoted_count(0, 3) == 0


def test_a_standing_is_the_median_of_its_runs_within_their_hull_and_ignores_invalid_runs():
    runs = [Measurement(100.0, (95.0, 105.0), "ok", 5.0), Measurement(110.0, (104.0, 116.0), "noisy", 5.0),
            Measurement(900.0, (800.0, 1000.0), "invalid", 5.0)]
    found = standing(Candidate.of(name="a"), 2, runs)
    assert found.images_per_sec == pytest.approx(105.0)
    assert found.interval == (95.0, 116.0)
    assert found.trust == "noisy"
    assert found.runs == 2
    assert winners([found, make_standing("b", 200, 1)])[0].candidate.get("name") == "b"


def test_expected_cost_comes_from_the_candidate_then_alike_ones_then_all_then_the_prior():
    costs = CostModel(setup_seconds_prior=5.0)
    eager = Candidate.of(device="cpu", compile="eager", batch_size=4)
    compiled = Candidate.of(device="cpu", compile="default", batch_size=4)
    assert costs.expected_seconds(eager, 3.0) == 8.0
    costs.add(eager, 1.0, Measurement(100.0, None, "ok", seconds=4.0, timed_seconds=2.0))
    assert costs.expected_seconds(eager, 3.0) == pytest.approx(2.0 + 3.0 * 2.0)  # setup 2 s, stretch 2
    assert costs.expected_seconds(compiled, 3.0) == pytest.approx(8.0)  # no compiled sample: all samples
    costs.add(compiled.replace(batch_size=16), 1.0, Measurement(100.0, None, "ok", seconds=41.0))
    assert costs.expected_seconds(compiled, 1.0) == pytest.approx(41.0)  # alike: the compiled one
    costs.add(eager.replace(batch_size=64), 1.0, Measurement(100.0, None, "invalid", seconds=500.0))
    assert costs.expected_seconds(eager.replace(batch_size=64), 1.0) == pytest.approx(4.0)  # invalid: left out



@pytest.mark.parametrize("seed", [0, 1, 2])
def test_finds_the_known_best_within_the_budget(seed):
    candidates, reference = grid()
    truth, best = truth_with_best(candidates, seed)
    machine = FakeMachine(truth, seed=seed, setup_seconds=2.0)
    result = run(search_for(machine, candidates, reference, budget_seconds=400.0, order_seed=seed), machine)
    assert result.stages[0].measured == len(candidates)  # the budget let every candidate run once
    assert result.final
    assert result.best.candidate == best
    assert not result.tie
    assert result.stop.code == "complete"
    assert result.spent_seconds <= result.budget_seconds


def test_a_noisy_measurement_counts_with_its_interval():
    candidates, reference = grid({"device": ["cpu"], "loader": ["pil"], "batch_size": [4, 16, 64],
                                  "num_workers": [0]})
    truth = dict.fromkeys(candidates, 100.0)
    machine = FakeMachine(truth)
    search = search_for(machine, candidates, reference, budget_seconds=1_000.0)
    trial = search.next_trial()
    search.report(trial, Measurement(100.0, (50.0, 150.0), "noisy", 4.0))
    assert search.result().finalists[0].trust == "noisy"
    assert search.result().finalists[0].interval == (50.0, 150.0)


def test_out_of_memory_bounds_every_batch_size_from_it_up_on_that_device_only():
    axes = {"device": ["cpu", "cuda:0"], "loader": ["tensor"], "batch_size": [64, 256, 1024, 4096],
            "num_workers": [0, 1]}
    candidates, reference = grid(axes)
    truth, _ = truth_with_best(candidates)
    machine = FakeMachine(truth, oom_from_batch={"cuda:0": 1024})
    result = run(search_for(machine, candidates, reference, budget_seconds=2_000.0), machine)
    failed = records_with(result, "failed")
    assert failed
    assert all(record.decision.reason.code == "out_of_memory" for record in failed)
    pruned = [record for record in records_with(result, "pruned") if record.decision.reason.code == "oom_bound"]
    assert pruned
    for record in pruned:
        because = record.decision.reason.because
        assert record.candidate.get("device") == because.get("device") == "cuda:0"
        assert because.get("batch_size") <= record.candidate.get("batch_size")
        assert because in {failure.candidate for failure in failed}
    # Once a batch size ran out, nothing from it up on that device was measured again.
    first_oom = min(record.index for record in failed)
    later = [trial for trial in machine.measured[first_oom + 1:] if trial.candidate.get("device") == "cuda:0"]
    smallest = min(record.candidate.get("batch_size") for record in failed if record.index == first_oom)
    assert all(trial.candidate.get("batch_size") < smallest for trial in later)
    # The CPU's large batches are not bounded by the GPU's memory.
    assert any(trial.candidate.get("device") == "cpu" and trial.candidate.get("batch_size") == 4096
               for trial in machine.measured)
    # A failed candidate is not measured again.
    assert len({trial.candidate for trial in machine.measured if machine.oom_from_batch.get(
        trial.candidate.get("device"), 10**9) <= trial.candidate.get("batch_size")}) == len(failed)


def test_more_workers_are_pruned_where_the_epoch_barely_waits_for_input():
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    machine = FakeMachine(truth, input_wait_share=lambda candidate: 0.01)
    result = run(search_for(machine, candidates, reference, budget_seconds=2_000.0), machine)
    pruned = records_with(result, "pruned")
    assert pruned
    usable = {record.candidate for record in result.trials
              if record.measurement is not None and record.measurement.usable}
    for record in pruned:
        reason = record.decision.reason
        assert reason.code == "input_not_bottleneck"
        assert reason.figure < reason.threshold == WorkersWithoutInputWait().max_input_wait_share
        assert reason.because.get("num_workers") < record.candidate.get("num_workers")
        assert reason.because.without("num_workers") == record.candidate.without("num_workers")
        assert reason.because in usable
    assert all(record.candidate.get("num_workers") > 0 for record in pruned)
    assert reference not in {record.candidate for record in pruned}


def test_workers_are_not_pruned_where_the_epoch_waits_for_input():
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    machine = FakeMachine(truth, input_wait_share=lambda candidate: 0.4)
    result = run(search_for(machine, candidates, reference, budget_seconds=2_000.0), machine)
    assert records_with(result, "pruned") == []


def test_invalid_measurements_are_repeated_and_never_prune_or_promote():
    candidates, reference = grid()
    truth, best = truth_with_best(candidates)
    # Every first attempt is invalid: a figure 10x too high, no input wait, out of memory.
    machine = FakeMachine(truth, input_wait_share=lambda candidate: 0.4, invalid=lambda trial: trial.attempt == 0)
    result = run(search_for(machine, candidates, reference, budget_seconds=3_000.0, max_invalid_in_a_row=10**6),
                 machine)
    invalid = [record for record in result.trials
               if record.measurement is not None and record.measurement.trust == "invalid"]
    assert invalid
    assert all(record.decision.code == "repeated" for record in invalid)
    assert records_with(result, "pruned") == []  # neither the "out of memory" nor the zero wait share pruned
    for record in invalid:
        again = [other for other in result.trials if other.candidate == record.candidate
                 and other.rung == record.rung and other.repeat == record.repeat and other.attempt == 1]
        assert len(again) == 1
    assert result.best.candidate == best
    top = max(truth.values())
    assert all(item.interval[0] < top * 2 for item in result.finalists)  # no 10x figure anywhere


def test_a_candidate_invalid_at_every_attempt_is_dropped_and_never_goes_on():
    candidates, reference = grid()
    truth, best = truth_with_best(candidates)
    machine = FakeMachine(truth, invalid=lambda trial: trial.candidate == best)
    result = run(search_for(machine, candidates, reference, budget_seconds=3_000.0, max_attempts=3), machine)
    attempts = [record for record in result.trials if record.candidate == best]
    assert [record.attempt for record in attempts] == [0, 1, 2]
    assert [record.decision.code for record in attempts] == ["repeated", "repeated", "dropped"]
    assert attempts[-1].decision.reason.code == "invalid_limit"
    assert result.best.candidate != best


def test_a_busy_machine_stops_the_search():
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    machine = FakeMachine(truth, invalid=lambda trial: True)
    result = run(search_for(machine, candidates, reference, max_invalid_in_a_row=4), machine)
    assert result.stop.code == "machine_busy"
    assert result.stop.figure == 4
    assert len(machine.measured) == 4
    assert result.winners == ()


@pytest.mark.parametrize("budget_seconds", [30.0, 60.0, 120.0, 300.0])
def test_never_starts_a_measurement_it_cannot_pay_for_nor_overruns_by_more_than_one(budget_seconds):
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    # The final rung costs three times what the first rungs predict: estimates go wrong.
    machine = FakeMachine(truth, setup_seconds=4.0, slower_at_rung={2: 3.0})
    search = search_for(machine, candidates, reference, budget_seconds=budget_seconds)
    result = run(search, machine)
    started = [record for record in result.trials if record.measurement is not None]
    assert started
    for record in started:
        assert record.expected_seconds <= budget_seconds - record.started_seconds
    assert result.spent_seconds <= budget_seconds + started[-1].measurement.seconds
    assert result.stop.code in {"complete", "budget"}
    if result.stop.code == "budget":
        assert result.stop.figure > result.stop.threshold  # what the next one would cost, what was left
        assert records_with(result, "unmeasured")


def test_stops_at_the_budget_with_the_reason_when_the_final_rung_costs_more_than_planned():
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    machine = FakeMachine(truth, setup_seconds=4.0, slower_at_rung={2: 4.0})
    result = run(search_for(machine, candidates, reference, budget_seconds=300.0), machine)
    assert result.stop.code == "budget"
    assert result.spent_seconds <= 300.0
    final_runs = [record for record in result.trials if record.rung == 2 and record.measurement is not None]
    assert final_runs[0].candidate == reference  # the reference goes first: measured whatever happens
    assert result.reference is not None
    assert result.reference.rung == 2


def test_ties_are_reported_when_the_finalists_intervals_overlap():
    candidates, reference = grid()
    truth, best = truth_with_best(candidates)
    twin = next(candidate for candidate in candidates if candidate not in (best, reference))
    truth[twin] = truth[best] * 1.01
    machine = FakeMachine(truth, noise=0.0, half_width=0.05)
    result = run(search_for(machine, candidates, reference, budget_seconds=1_000.0), machine)
    assert result.tie
    assert {item.candidate for item in result.winners} == {best, twin}
    assert result.winners[0].candidate == twin  # best first
    assert result.winners[0].images_per_sec >= result.winners[1].images_per_sec
    assert result.as_dict()["tie"] is True


def test_a_candidate_tied_with_the_cut_off_is_promoted_not_dropped():
    candidates, reference = grid({"device": ["cpu"], "loader": ["pil", "tensor"], "batch_size": [4, 16, 64],
                                  "num_workers": [0]})
    truth = {candidate: 100.0 + index for index, candidate in enumerate(candidates)}
    machine = FakeMachine(truth, noise=0.0, half_width=0.2)
    result = run(search_for(machine, candidates, reference, budget_seconds=1_000.0), machine)
    ties = [record for record in records_with(result, "promoted") if record.decision.reason.code == "tie_at_cutoff"]
    assert ties
    for record in ties:
        assert record.decision.reason.figure >= record.decision.reason.threshold


def test_goes_straight_to_the_final_rung_when_the_rungs_between_cannot_be_paid_for():
    # Compiled candidates: 40 s more setup than the reference, found out only once one is measured.
    built = build_candidates({"device": ["cpu"], "loader": ["tensor"], "batch_size": [16, 64, 256],
                              "num_workers": [0], "compile": ["default"]}, cores=2, reference={"compile": "eager"})
    truth = {candidate: 1_000.0 + index for index, candidate in enumerate(built.candidates)}
    truth[built.reference] = 100.0
    machine = FakeMachine(truth)
    result = run(search_for(machine, built.candidates, built.reference, budget_seconds=180.0), machine)
    assert [stage.rung for stage in result.stages] == [0, 2]
    promoted = records_with(result, "promoted")
    assert len(promoted) == 1
    assert result.final
    assert result.best.candidate == promoted[0].candidate
    assert result.best.runs == 2
    assert result.reference.runs == 2
    assert result.stop.code == "complete"
    assert result.spent_seconds <= 180.0


@pytest.mark.parametrize("budget_seconds", [20.0, 80.0, 300.0])
def test_the_reference_is_always_measured_at_the_final_rung(budget_seconds):
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    truth[reference] = 10.0  # the slowest: it never goes on by merit
    machine = FakeMachine(truth)
    result = run(search_for(machine, candidates, reference, budget_seconds=budget_seconds), machine)
    final_runs = [record for record in result.trials
                  if record.rung == 2 and record.candidate == reference and record.measurement is not None]
    assert final_runs
    assert result.reference.rung == 2
    assert result.reference.candidate == reference
    assert result.finalists[-1].candidate == reference


def test_the_path_is_json_and_records_every_decision():
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    truth[reference] = 10.0  # carried to the final rung, not promoted
    machine = FakeMachine(truth, input_wait_share=lambda candidate: 0.01, oom_from_batch={"cpu": 256},
                          invalid=lambda trial: trial.candidate == reference and trial.attempt == 0)
    result = run(search_for(machine, candidates, reference, budget_seconds=150.0), machine)
    document = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    codes = {trial["decision"]["code"] for trial in document["trials"]}
    assert codes >= {"promoted", "dropped", "pruned", "repeated", "failed", "final", "carried"}
    assert document["scheme"]["eta"] == 3
    assert document["scheme"]["efforts_seconds"] == [1.0, 3.0, 9.0]
    assert document["scheme"]["rules"] == ["out_of_memory_bound", "workers_without_input_wait"]
    assert document["stop"]["code"] in {"complete", "budget"}
    assert [stage["rung"] for stage in document["stages"]] == [0, 1, 2]
    assert document["budget_seconds"] == 150.0
    assert document["spent_seconds"] == result.spent_seconds
    for trial in document["trials"]:
        assert set(trial) >= {"candidate", "rung", "effort_seconds", "measurement", "decision"}
    # Every candidate that entered the first rung left it with a figure, a failure, a pruning or
    # for want of budget.
    stage = document["stages"][0]
    assert stage["entered"] == len(candidates)
    assert stage["measured"] + stage["failed"] + stage["pruned"] + stage["unmeasured"] == len(candidates)


class Interrupt(KeyboardInterrupt):
    pass


@pytest.mark.parametrize("stop_after", [0, 1, 7, 25, 40])
def test_interrupting_midway_leaves_a_consistent_result(stop_after):
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    machine = FakeMachine(truth)
    search = search_for(machine, candidates, reference)

    def measure(trial):
        if len(machine.measured) == stop_after:
            raise Interrupt  # Ctrl-C while this trial runs
        return machine.measure(trial)

    with pytest.raises(Interrupt):
        for _ in steps(search, measure):
            pass
    result = search.result()
    assert result.stop.code == "interrupted"
    assert search.next_trial() is None
    assert records_with(result, "interrupted")[-1].measurement is None
    assert records_with(result, "in_flight") == []
    measured = [record for record in result.trials if record.measurement is not None]
    assert len(measured) == stop_after == len(machine.measured)
    assert [record.index for record in result.trials] == list(range(len(result.trials)))
    json.dumps(result.as_dict(), allow_nan=False)
    if stop_after:
        assert result.best is not None
        assert result.reference is not None  # measured first


def test_a_search_left_midway_describes_what_was_measured():
    candidates, reference = grid()
    truth, _ = truth_with_best(candidates)
    machine = FakeMachine(truth)
    search = search_for(machine, candidates, reference)
    for _ in range(5):
        trial = search.next_trial()
        search.report(trial, machine.measure(trial))
    pending = search.next_trial()
    result = search.result()
    assert result.stop is None
    assert result.trials[-1].index == pending.index
    assert result.trials[-1].decision.code == "in_flight"
    assert result.stages[0].trials == 5
    progress = search.progress()
    assert progress.trials == 5
    assert progress.left_seconds == pytest.approx(300.0 - machine.now)
    assert not progress.finished


def test_progress_says_the_stage_what_is_left_and_the_best_so_far():
    candidates, reference = grid()
    truth, best = truth_with_best(candidates)
    machine = FakeMachine(truth, setup_seconds=2.0)
    seen = list(steps(search_for(machine, candidates, reference, budget_seconds=400.0), machine.measure))
    assert [progress.trials for progress in seen[:-1]] == list(range(1, len(seen)))
    assert {progress.rung for progress in seen} == {0, 1, 2}
    assert all(later.spent_seconds >= earlier.spent_seconds for earlier, later in itertools.pairwise(seen))
    assert seen[-1].finished
    assert seen[-1].best.candidate == best
    assert seen[-1].left_seconds == pytest.approx(400.0 - machine.now)
    assert seen[0].in_contention >= seen[-1].in_contention


def test_a_trial_must_be_reported_before_the_next_and_only_once():
    candidates, reference = grid()
    machine = FakeMachine(dict.fromkeys(candidates, 100.0))
    search = search_for(machine, candidates, reference)
    trial = search.next_trial()
    with pytest.raises(RuntimeError, match="in flight"):
        search.next_trial()
    search.report(trial, machine.measure(trial))
    with pytest.raises(ValueError, match="not the one in flight"):
        search.report(trial, machine.measure(trial))


def test_measurements_say_why_they_have_no_figure():
    with pytest.raises(ValueError, match="must say why"):
        Measurement(None, None, "ok", 3.0)
    with pytest.raises(ValueError, match="trust"):
        Measurement(100.0, None, "fine", 3.0)
    assert Measurement(None, None, "ok", 3.0, out_of_memory=True).failed


def test_rules_only_see_measurements_that_are_not_invalid():
    seen_by_rules = []

    def spy(candidate, observations):
        seen_by_rules.extend(observations)

    candidates, reference = grid()
    machine = FakeMachine(dict.fromkeys(candidates, 100.0), invalid=lambda trial: trial.index % 3 == 0)
    run(search_for(machine, candidates, reference, rules=(spy, OutOfMemoryBound())), machine)
    assert seen_by_rules
    assert all(seen.measurement.trust != "invalid" for seen in seen_by_rules)


def test_the_search_imports_neither_torch_nor_optuna():
    # One code path, the same on the GPU image (which has no Optuna) as here.
    code = ("import sys, bench.search; "
            "assert 'torch' not in sys.modules and 'optuna' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
