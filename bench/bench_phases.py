"""What the in-epoch phase breakdown costs: the same epoch timed with it off and on.

Timed: `ROUNDS` rounds of one fixed epoch of the tutorial net (CPU: the tensor pipeline at
batch 128; CUDA: the device pipeline at batch 4,096), `EPOCH_IMAGES` images a round, with
the phase clock (bench/phases.py) off, then on. Not timed: building the data, the model and
the pipeline, one warm-up round (which also fills the event pool on CUDA).
Read: `extra_info["overhead_ratio"]` of the `on` case is its median round over the `off`
case's from the same run (goal: at most 1.01). On a busy machine the medians' noise can
exceed the difference: check the cases' trust first.
Run: pytest --benchmark bench/bench_phases.py
"""

import pytest
import torch

from bench.contract import PhaseOverhead
from bench.data import make_loader
from bench.phases import phase_clock
from bench.workload import make_optimizer, prepare_model, train_epoch
from models import get_model

ROUNDS = 15
EPOCH_IMAGES = 4_096
SETTINGS = {"cpu": ("tensor", 128), "cuda": ("device", 4_096)}


@pytest.fixture(scope="module")
def medians_off() -> dict:
    """The `off` case's median round per device, for the `on` case's ratio."""
    return {}


@pytest.mark.benchmark(group="phase_overhead")
@pytest.mark.parametrize("device", ["cpu", "cuda:0"])
@pytest.mark.parametrize("breakdown", ["off", "on"], ids=["phases_off", "phases_on"])
def bench_phase_overhead(benchmark, sweep, medians_off, device, breakdown):
    if device not in sweep.grid.devices:
        pytest.skip(f"{device} is not in this sweep's devices")
    device = sweep.require(device)
    loader, batch_size = SETTINGS[device.type]
    torch.manual_seed(sweep.seed)
    net = prepare_model(get_model("tutorial"), device)
    optimizer = make_optimizer(net)
    batches = make_loader(sweep.data.train, loader, "tutorial", batch_size, device=device, seed=sweep.seed)
    clock = phase_clock(device) if breakdown == "on" else None

    def one_epoch():
        train_epoch(net, optimizer, batches, device, max_images=EPOCH_IMAGES, clock=clock)

    window = sweep.measure(benchmark, one_epoch, device, ROUNDS)
    sweep.record(benchmark, window, device, images_per_round=EPOCH_IMAGES, facts={
        PhaseOverhead.breakdown: breakdown, PhaseOverhead.loader: loader, PhaseOverhead.batch_size: batch_size})
    if benchmark.disabled:
        return  # a smoke run: nothing was timed, no ratio
    median_seconds = benchmark.stats.stats.median
    if breakdown == "off":
        medians_off[str(device)] = median_seconds
    elif str(device) in medians_off:
        benchmark.extra_info[PhaseOverhead.overhead_ratio] = median_seconds / medians_off[str(device)]
