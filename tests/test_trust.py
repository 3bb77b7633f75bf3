"""The trust verdict (bench/trust.py) and the evidence it reads: the sampler and the preflight.

The busy process here is real (a Python busy loop outside this process tree); what is checked
is that it is seen and named, never how fast anything ran.
"""

import subprocess
import sys
import time

import pytest

from bench.preflight import run_preflight
from bench.sampling import Sampler
from bench.trust import THRESHOLDS, assess, rounds_spread, worst

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
    assert "other processes used 131% of a core" in trust.reasons[0]


def test_a_little_background_load_is_noisy_not_invalid():
    trust = assess(STEADY_ROUNDS, other_cpu_pct=THRESHOLDS.noisy_other_cpu_pct + 5)
    assert trust.level == "noisy"


def test_a_spread_above_the_threshold_is_noisy():
    trust = assess([0.75, 0.82, 0.90], other_cpu_pct=0.0)
    assert trust.level == "noisy"
    assert "the rounds spread 18% around their median" in trust.reasons[0]


def test_one_round_few_projected_batches_and_gpu_slowdowns_are_noisy():
    assert assess([1.0], other_cpu_pct=0.0).level == "noisy"
    assert "from 4 batches" in assess(STEADY_ROUNDS, 0.0, projected_batches=4).reasons[0]
    slowed = assess(STEADY_ROUNDS, 0.0, throttle_reasons=["sw_power_cap", "hw_thermal_slowdown"])
    assert slowed.level == "noisy"
    assert slowed.reasons == ["the GPU slowed its clocks: hw_thermal_slowdown"]
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
    assert "180% \u00b1 2% of a core" in busy.reasons[0]
    edge = assess(rounds, other_cpu_pct=55.0, other_cpu_resolution_pct=10.0)
    assert edge.level == "noisy"  # at least 45%: busy, not proven invalid


def test_steal_is_named_when_it_is_most_of_the_other_cpu():
    rounds = [1.0, 1.01, 1.0]
    neighbour = assess(rounds, other_cpu_pct=80.0, other_cpu_resolution_pct=2.0, steal_cpu_pct=70.0)
    assert neighbour.level == "invalid"
    assert "70% of a core was steal: the hypervisor gave these cores to other guests" in neighbour.reasons[0]
    program = assess(rounds, other_cpu_pct=80.0, other_cpu_resolution_pct=2.0, steal_cpu_pct=5.0)
    assert "steal" not in program.reasons[0]
