"""Repeats made into one case (bench/repeats.py), its interval (bench.contract.derive), and the canary.

The entries are shaped as pytest-benchmark writes them (name, fullname, stats with the rounds'
seconds, extra_info with the harness's keys), with round seconds chosen for each rule; nothing
is timed here.
"""

import pytest

from bench.canary import Canary, Reading
from bench.contract import derive, vocab
from bench.repeats import RunFacts, merge
from bench.trust import THRESHOLDS


def entry(rounds: list[float], images: float = 1000.0, level: str = "ok", name: str = "bench_epoch[a]",
          **info) -> dict:
    return {"group": "epoch", "name": name, "fullname": f"bench/bench_epoch.py::{name}", "params": {}, "param": "a",
            "options": {}, "stats": {"data": list(rounds), "median": sorted(rounds)[len(rounds) // 2],
                                     "min": min(rounds), "max": max(rounds), "rounds": len(rounds)},
            "extra_info": {"images_per_round": images, "images_per_sec": images / sorted(rounds)[len(rounds) // 2],
                           "trust": {"level": level, "reasons": [] if level == "ok" else [
                               {"code": "other_cpu", "level": level, "figure": 80.0, "threshold": 50.0,
                                "detail": {}}], "rounds_spread": 0.01, "rounds": len(rounds)}, **info}}


def test_a_cases_repeats_become_one_case_with_every_round_and_an_interval_from_the_repeats():
    runs = [RunFacts(0.0, 3.0, 1), RunFacts(10.0, 3.0, 2), RunFacts(20.0, 3.0, 3)]
    [merged], noise = merge([entry([1.0, 1.02]), entry([1.1, 1.12]), entry([0.95, 0.97])], runs)
    info = merged["extra_info"]
    assert merged["stats"]["data"] == [1.0, 1.02, 1.1, 1.12, 0.95, 0.97]
    assert merged["stats"]["rounds"] == 6
    assert info["images_per_sec"] == pytest.approx(derive.images_per_sec(1000.0, merged["stats"]["data"]))
    assert info["images_per_sec_interval_basis"] == vocab.INTERVAL_FROM_REPEATS
    low, high = info["images_per_sec_interval"]
    assert low < info["images_per_sec"] < high
    assert [repeat["started_s"] for repeat in info["repeats"]] == [0.0, 10.0, 20.0]
    assert noise.cases == 1
    assert noise.degrees_of_freedom == 2


def test_one_repeat_has_an_interval_from_its_rounds_said_to_be_within_one_run():
    [merged], noise = merge([entry([1.0, 1.05, 0.98])], [RunFacts(0.0, 3.0, 1)])
    assert merged["extra_info"]["images_per_sec_interval_basis"] == vocab.INTERVAL_FROM_ROUNDS
    assert noise is None


def test_an_invalid_repeat_is_left_out_of_the_figure_and_said():
    runs = [RunFacts(0.0, 1.0, 1), RunFacts(5.0, 1.0, 2), RunFacts(9.0, 1.0, 3)]
    [merged], _ = merge([entry([1.0]), entry([5.0], level="invalid"), entry([1.02])], runs)
    info = merged["extra_info"]
    assert merged["stats"]["data"] == [1.0, 1.02]  # the busy repeat's slow round is not in the figure
    assert [repeat["trust_level"] for repeat in info["repeats"]] == ["ok", "invalid", "ok"]
    [left_out] = [reason for reason in info["trust"]["reasons"] if reason["code"] == "invalid_repeats"]
    assert left_out["detail"]["repeats"] == [2]
    assert info["trust"]["level"] == "noisy"


def test_every_repeat_invalid_keeps_them_all_and_the_case_is_invalid():
    [merged], _ = merge([entry([2.0], level="invalid"), entry([3.0], level="invalid")],
                        [RunFacts(0.0, 1.0, 1), RunFacts(2.0, 1.0, 2)])
    assert merged["stats"]["data"] == [2.0, 3.0]
    assert merged["extra_info"]["trust"]["level"] == "invalid"


def canary_with(*readings: tuple[float, float]) -> Canary:
    canary = Canary(threads=1)
    canary.readings = [Reading(at_s=at, before=None, images_per_sec=rate, seconds=0.1) for at, rate in readings]
    return canary


def test_a_repeat_between_canary_readings_that_moved_too_far_is_noisy_with_machine_drift():
    canary = canary_with((0.0, 1000.0), (10.0, 600.0), (20.0, 610.0))
    runs = [RunFacts(1.0, 5.0, 1), RunFacts(11.0, 5.0, 2)]
    [merged], _ = merge([entry([1.0]), entry([1.01])], runs, canary)
    reasons = merged["extra_info"]["trust"]["reasons"]
    [drift] = [reason for reason in reasons if reason["code"] == "machine_drift"]
    assert drift["figure"] == pytest.approx(-0.4)
    assert drift["detail"]["repeat"] == 1  # the first repeat ran while the machine slowed, the second did not
    assert drift["threshold"] == THRESHOLDS.noisy_machine_drift
    assert merged["extra_info"]["trust"]["level"] == "noisy"


def test_the_canary_reads_the_machine_and_says_its_drift():
    canary = Canary(threads=1)
    first = canary.read(before="bench_epoch[a]")
    canary.read(before=None)
    facts = canary.as_dict(threshold=0.15)
    assert first.images_per_sec > 0
    assert [reading["before"] for reading in facts["readings"]] == ["bench_epoch[a]", None]
    assert facts["drift"] == derive.relative_spread([reading.images_per_sec for reading in canary.readings])
    assert canary.around(first.at_s + first.seconds, canary.readings[1].at_s) == tuple(canary.readings)


def test_the_interval_weighs_a_cases_repeats_with_the_runs_pooled_noise():
    pooled = derive.PooledNoise(log_sd=0.10, degrees_of_freedom=40, cases=20)
    steady = derive.interval(100.0, [100.0, 100.5], [], pooled)
    alone = derive.interval(100.0, [100.0, 100.5], [], None)
    assert steady[1] - steady[0] > alone[1] - alone[0]  # two agreeing repeats do not make a narrow interval
    wild = derive.interval(100.0, [70.0, 130.0], [], pooled)
    assert wild[1] - wild[0] > steady[1] - steady[0]  # a case that really varies keeps its width
    assert derive.interval(100.0, [], [], None) is None
    assert derive.t95(1) == pytest.approx(6.314)
    assert derive.t95(1000) == pytest.approx(1.645)


def test_pooled_noise_counts_only_cases_with_two_repeats_or_more():
    noise = derive.pooled_noise([[100.0, 110.0], [50.0], [200.0, 200.0, 220.0]])
    assert noise.cases == 2
    assert noise.degrees_of_freedom == 3
    assert derive.pooled_noise([[1.0]]) is None
