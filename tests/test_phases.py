"""The in-epoch phase breakdown (bench/phases.py, bench/workload.py `train_epoch`).

Nothing here asserts a speed: a pipeline slowed on purpose must show as input wait, a heavy
model as forward + backward, the phases must never claim more time than the round took, and
the CUDA event path is checked with fake events on a fake clock, the way the timing test
fakes an asynchronous device.
"""

import time

import pytest
import torch

from bench.data import Split, make_loader, synthetic_cifar10
from bench.phases import MARKS_PER_STEP, PHASES, EventPhaseClock, HostPhaseClock, PhaseSeconds
from bench.workload import make_optimizer, prepare_model, train_epoch
from models import get_model

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: OpenMP regions on a busy 2-core machine can get 10-100x slower, which
    would blur the proportions these tests check."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def split():
    cifar = synthetic_cifar10(0)
    return Split(cifar.train.images[:512], cifar.train.labels[:512])


class SlowPipeline:
    """Batches that take `delay_s` each to arrive, like an overloaded DataLoader."""

    def __init__(self, batches, delay_s: float):
        self.batches, self.delay_s = batches, delay_s

    def __iter__(self):
        for batch in self.batches:
            time.sleep(self.delay_s)
            yield batch


def timed_epoch(model_name, batches, max_images):
    net = prepare_model(get_model(model_name), CPU)
    clock = HostPhaseClock()
    started = time.perf_counter()
    result = train_epoch(net, make_optimizer(net), batches, CPU, max_images=max_images, clock=clock)
    total = time.perf_counter() - started
    return result, result.phases.as_extra_info(total_seconds=total), total


def test_a_slow_pipeline_makes_input_wait_dominate(split):
    # 0.25 s a batch: far longer than a batch-16 step of the tutorial net, even on a busy machine
    batches = SlowPipeline(make_loader(split, "tensor", "tutorial", 16), delay_s=0.25)
    _, phases, _ = timed_epoch("tutorial", batches, max_images=64)
    share = phases["share"]
    assert share["input_wait"] > 0.5
    assert share["input_wait"] == max(share.values())
    assert phases["device_idle_share"] is None  # a CPU run has no device timeline
    assert phases["clock"] == "host perf_counter"


def test_a_heavy_model_makes_forward_and_backward_dominate(split):
    batches = make_loader(split, "device", "tutorial", 32, device=CPU)
    _, phases, _ = timed_epoch("resnet18", batches, max_images=64)
    share = phases["share"]
    assert share["forward"] + share["backward"] > 0.6
    assert share["forward"] + share["backward"] > 4 * share["input_wait"]


def test_the_phases_add_up_to_the_round_and_never_claim_more(split):
    result, phases, total = timed_epoch("tutorial", make_loader(split, "tensor", "tutorial", 16), max_images=256)
    assert result.batches == 16
    named = sum(result.phases.seconds.values())
    assert named <= total * 1.01
    assert sum(phases["seconds"].values()) == pytest.approx(total, rel=0.01)
    assert set(phases["seconds"]) == {*PHASES, "other"}
    assert sum(phases["share"].values()) == pytest.approx(1.0, rel=0.01)


class FakeDeviceClock:
    """A device timeline: each recorded event gets the time the device would reach it."""

    def __init__(self):
        self.device_now_s = 0.0
        self.made = 0

    def event(self):
        self.made += 1
        return FakeEvent(self)


class FakeEvent:
    def __init__(self, clock):
        self.clock = clock
        self.at_s = None

    def record(self):
        self.at_s = self.clock.device_now_s

    def elapsed_time(self, end) -> float:
        return (end.at_s - self.at_s) * 1000.0  # milliseconds, as torch.cuda.Event gives


def run_fake_steps(clock, device, steps, idle_s, work_s):
    """Steps whose phases each take `work_s` on the device, with `idle_s` of device idle before each."""
    clock.start_round()
    for _ in range(steps):
        clock.before_fetch()
        device.device_now_s += idle_s  # the device waits for the next batch
        for index in range(MARKS_PER_STEP):
            if index:
                device.device_now_s += work_s
            clock.mark(index)
    return clock.finish_round()


def test_cuda_events_come_from_a_pool_and_resolve_after_the_round():
    device = FakeDeviceClock()
    clock = EventPhaseClock(event_factory=device.event)
    run_fake_steps(clock, device, steps=4, idle_s=0.0, work_s=0.001)  # warm-up: fills the pool
    made_in_warm_up = device.made
    phases = run_fake_steps(clock, device, steps=4, idle_s=0.010, work_s=0.001)
    assert made_in_warm_up == 4 * MARKS_PER_STEP
    assert device.made == made_in_warm_up  # the timed round allocated nothing
    for name in ("copy", "forward", "backward", "optimizer"):
        assert phases.seconds[name] == pytest.approx(4 * 0.001)
    # idle between steps: 3 gaps of 10 ms (before the first step is the round's start, "other")
    assert phases.device_idle == pytest.approx(3 * 0.010)
    assert phases.seconds["input_wait"] == pytest.approx(3 * 0.010)
    info = phases.as_extra_info(total_seconds=0.1)
    assert info["device_idle_share"] == pytest.approx(0.3)
    assert info["clock"] == "cuda events"


def test_phase_seconds_add_over_rounds():
    total = PhaseSeconds()
    one = PhaseSeconds()
    one.seconds["forward"] = 1.0
    total.add(one)
    total.add(one)
    assert total.seconds["forward"] == 2.0
    assert total.device_idle is None
