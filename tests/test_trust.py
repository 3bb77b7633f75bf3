"""The trust verdict (bench/trust.py) and the evidence it reads: the sampler and the preflight.

Reasons are records (code, level, figure, threshold, detail); their sentences are the report's
(tests/test_report_words.py). The busy process here is real (a Python busy loop outside this
process tree); what is checked is that it is seen and named, never how fast anything ran.
"""

import subprocess
import sys
import time

import pytest

from bench.contract import Reason
from bench.contract.derive import rounds_spread
from bench.preflight import run_preflight
from bench.sampling import Sampler
from bench.trust import THRESHOLDS, CpuThrottle, assess, with_reasons, worst

STEADY_ROUNDS = [1.00, 1.01, 1.02]


def test_steady_rounds_on_a_quiet_machine_are_ok():
    trust = assess(STEADY_ROUNDS, other_cpu_pct=1.0, images_timed=3_000)
    assert trust.level == "ok"
    assert trust.reasons == []
    assert trust.rounds == 3
    assert trust.rounds_spread == pytest.approx(0.02 / 1.01)
    assert trust.as_dict()["images_timed"] == 3_000


def test_a_core_taken_by_other_processes_makes_a_case_invalid_with_the_reason():
    # The rounds agree (18, 18, 18 img/s): nothing in the timings shows the contention.
    trust = assess(STEADY_ROUNDS, other_cpu_pct=131.0)
    assert trust.level == "invalid"
    assert trust.reasons[0] == Reason("other_cpu", "invalid", 131.0, THRESHOLDS.invalid_other_cpu_pct,
                                      {"resolution_pct": None, "steal_pct": None})
    assert trust.as_dict()["reasons"][0]["code"] == "other_cpu"


def test_a_little_background_load_is_noisy_not_invalid():
    trust = assess(STEADY_ROUNDS, other_cpu_pct=THRESHOLDS.noisy_other_cpu_pct + 5)
    assert trust.level == "noisy"


def test_a_spread_above_the_threshold_is_noisy():
    trust = assess([0.75, 0.82, 0.90], other_cpu_pct=0.0)
    assert trust.level == "noisy"
    assert trust.reasons[0].code == "rounds_spread"
    assert trust.reasons[0].figure == pytest.approx(0.15 / 0.82)
    assert trust.reasons[0].threshold == THRESHOLDS.noisy_rounds_spread


def test_one_round_few_projected_batches_and_gpu_slowdowns_are_noisy():
    assert assess([1.0], other_cpu_pct=0.0).level == "noisy"
    projected = assess(STEADY_ROUNDS, 0.0, projected_batches=4).reasons[0]
    assert (projected.code, projected.figure, projected.threshold) == ("projected", 4, 20)
    slowed = assess(STEADY_ROUNDS, 0.0, throttle_reasons=["sw_power_cap", "hw_thermal_slowdown"])
    assert slowed.level == "noisy"
    assert [(reason.code, reason.detail) for reason in slowed.reasons] == [
        ("gpu_slowdown", {"events": ["hw_thermal_slowdown"]})]
    assert assess(STEADY_ROUNDS, 0.0, throttle_reasons=["sw_power_cap"]).level == "ok"


def test_spread_and_worst_level():
    assert rounds_spread([2.0]) is None
    assert rounds_spread([1.0, 3.0, 2.0]) == pytest.approx(1.0)
    assert worst(["ok", "invalid", "noisy"]) == "invalid"
    assert worst([]) == "ok"


@pytest.fixture
def busy_process():
    """A busy loop in its own process, outside the tree of the process under test."""
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(0.3)
    yield busy
    busy.kill()
    busy.wait()


def test_a_sampler_that_sees_another_busy_process_yields_invalid(busy_process):
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with Sampler(interval_s=0.05, pid=idle.pid) as sampler:  # follows the idle process
            time.sleep(0.5)
    finally:
        idle.kill()
        idle.wait()
    other = sampler.result().summary["other_cpu_pct"]["mean"]
    trust = assess(STEADY_ROUNDS, other_cpu_pct=other)
    assert trust.level == "invalid", other


def preflight_beside_the_busy_loop():
    """The preflight as an idle process sees it: the busy loop is a child of this test process."""
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        return run_preflight(seconds=0.5, pid=idle.pid)
    finally:
        idle.kill()
        idle.wait()


def test_the_preflight_names_a_busy_machine(busy_process):
    preflight = preflight_beside_the_busy_loop()
    assert not preflight.quiet
    assert preflight.other_cpu_pct > THRESHOLDS.noisy_other_cpu_pct
    assert "other processes are using" in preflight.message
    assert "figures will be flagged" in preflight.message
    assert preflight.as_dict()["usable_cores"] >= 1
    assert preflight.steal_cpu_pct is not None  # Linux reports steal


def test_the_preflight_says_when_the_other_cpu_is_steal(busy_process, monkeypatch):
    """A noisy neighbour on a cloud VM: most of the busy CPU is the hypervisor's other guests."""
    import bench.preflight as preflight_module

    readings = iter([(0.0, 0.0), (10.0, 0.0)])  # steal seconds before and after: far above the loop's
    monkeypatch.setattr(preflight_module, "kernel_seconds", lambda cores: next(readings))
    preflight = preflight_beside_the_busy_loop()
    assert not preflight.quiet
    assert "cores of it are steal (the hypervisor gives this VM's cores to other guests" in preflight.message


def test_other_cpu_counts_only_beyond_how_finely_it_is_known():
    rounds = [1.0, 1.01, 1.0]
    # The H200 lease's loader case: 125% of a core read over a 10 ms window of 16 cores.
    unresolved = assess(rounds, other_cpu_pct=124.5, other_cpu_resolution_pct=327.0)
    assert unresolved.level == "ok", unresolved.reasons
    assert unresolved.other_cpu_resolution_pct == 327.0
    busy = assess(rounds, other_cpu_pct=180.0, other_cpu_resolution_pct=2.0)
    assert busy.level == "invalid"
    assert (busy.reasons[0].figure, busy.reasons[0].detail["resolution_pct"]) == (180.0, 2.0)
    edge = assess(rounds, other_cpu_pct=55.0, other_cpu_resolution_pct=10.0)
    assert edge.level == "noisy"  # at least 45%: busy, not proven invalid


def test_steal_is_named_when_it_is_most_of_the_other_cpu():
    rounds = [1.0, 1.01, 1.0]
    neighbour = assess(rounds, other_cpu_pct=80.0, other_cpu_resolution_pct=2.0, steal_cpu_pct=70.0)
    assert neighbour.level == "invalid"
    assert neighbour.reasons[0].detail["steal_pct"] == 70.0  # the report says it was steal


def test_a_throttled_cgroup_makes_the_rounds_invalid_and_a_little_throttling_noisy():
    rounds = [1.0, 1.01, 1.0]
    starved = CpuThrottle(periods=30, throttled_periods=29, throttled_seconds=14.5, limit_cores=0.5, cgroup="/pod")
    trust = assess(rounds, other_cpu_pct=0.0, cpu_throttle=starved)
    assert trust.level == "invalid"
    reason = trust.reasons[0]
    assert (reason.code, reason.figure, reason.detail["limit_cores"]) == ("throttled", pytest.approx(29 / 30), 0.5)
    once = CpuThrottle(periods=30, throttled_periods=1, throttled_seconds=0.01, limit_cores=1.5, cgroup="/pod")
    assert assess(rounds, other_cpu_pct=0.0, cpu_throttle=once).level == "noisy"
    never = CpuThrottle(periods=30, throttled_periods=0, throttled_seconds=0.0, limit_cores=1.5, cgroup="/pod")
    assert assess(rounds, other_cpu_pct=0.0, cpu_throttle=never).level == "ok"


def test_without_a_throttling_counter_threads_that_get_little_cpu_are_starved():
    rounds = [1.0, 1.01, 1.0]
    starved = assess(rounds, other_cpu_pct=0.0, cpu_share=0.25, threads=2)
    assert (starved.level, starved.reasons[0].code, starved.reasons[0].detail) == ("noisy", "starved", {"threads": 2})
    assert assess(rounds, other_cpu_pct=0.0, cpu_share=0.95, threads=2).level == "ok"
    # A counter that reads wins over the fallback.
    counted = CpuThrottle(periods=30, throttled_periods=0, throttled_seconds=0.0)
    assert assess(rounds, other_cpu_pct=0.0, cpu_throttle=counted, cpu_share=0.25, threads=2).level == "ok"


def test_reasons_added_later_raise_the_level_of_a_written_verdict():
    written = assess(STEADY_ROUNDS, other_cpu_pct=0.0).as_dict()
    drifted = with_reasons(written, [Reason("machine_drift", "noisy", -0.3, 0.15, {"before": 100.0, "after": 70.0})])
    assert drifted["level"] == "noisy"
    assert drifted["reasons"][-1]["code"] == "machine_drift"
    assert written["level"] == "ok"  # the written one is left as it was


def test_the_trust_line_names_what_made_figures_invalid_and_the_fix():
    from bench.summary import invalid_hint

    def entry(*codes):
        return {"extra_info": {"trust": {"level": "invalid", "reasons": [
            {"code": code, "level": "invalid", "figure": 1.0} for code in codes]}}}

    throttled = invalid_hint([entry("throttled")])
    assert "throttled by the container's CPU limit" in throttled
    assert "--bench-threads" in throttled
    assert "quiet machine" not in throttled
    assert "quiet machine" in invalid_hint([entry("other_cpu")])
    both = invalid_hint([entry("other_cpu"), entry("throttled")])
    assert both.index("CPU limit") < both.index("quiet machine")
    assert invalid_hint([entry("legacy")]) == "invalid figures: see each case's trust reasons"
