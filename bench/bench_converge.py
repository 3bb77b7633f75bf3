"""Time to a trained classifier: train one configuration from a fixed seed until it reaches a target accuracy.

Timed: training epochs of the whole training set, from the first touch of the data (the first
epoch's iterator, which starts the DataLoader's workers) until the epoch whose evaluation on the
test set reaches the target accuracy, or until the preset's budget of epochs or seconds runs
out (`reached: false`, with the best accuracy). Each epoch is a round (its seconds are
pytest-benchmark's stats, so images/s is the converge run's own throughput). Not timed: the
evaluations (timed apart, `eval_seconds`), building the model and the DataLoader.

The learning rate follows the batch size (bench/recipe.py: the tutorial's 0.001 at batch 4,
scaled linearly with a warm-up and a cap; `--bench-lr` overrides), recorded with the case
(`lr`, `warmup_steps`, `lr_rule`). The target is `--bench-target-accuracy`, else the data
set's default (bench/recipe.py). Each repeat of the case is another seed (`seeds`): the
report gives the median time to target over the seeds that reached it, its spread and the
share that reached it.

Which configurations train: the sweep's loop (bench/plugin.py) runs, after every other case,
the tutorial's settings and the fastest configuration per image that the sweep measured (and,
in the standard preset, the fastest at each batch size); the auto preset trains its search's
winners and the tutorial's settings. A sweep that measured no epoch trains every converge case
selected.
Run: pytest --benchmark -k bench_converge
"""

import pytest
import torch

from bench import compat
from bench.contract import Converge, ConvergeRun
from bench.converge import train_to_target
from bench.data import make_loader
from bench.recipe import lr_plan, lr_scheduler
from bench.sampling import Sampler
from bench.sampling.nvml import NVML, nvml_handle, read_energy_mj
from bench.sweep import Window
from bench.workload import MOMENTUM, make_optimizer, prepare_model
from models import get_model

EVAL_BATCH_SIZE = 1_000  # evaluation batches: large, the evaluation's seconds are not the figure


def energy_counter(device: torch.device):
    """The device's energy counter in joules (NVML), or None where the device has none."""
    if device.type != "cuda":
        return None
    nvml = NVML.get()
    if nvml is None:
        return None
    try:
        handle = nvml_handle(nvml, device.index or 0)
        read_energy_mj(nvml, handle)
    except (LookupError, nvml.NVMLError):  # no counter on this GPU or driver: not counted
        return None
    return lambda: read_energy_mj(nvml, handle) / 1000.0


@pytest.mark.benchmark(group="converge")
def bench_converge(benchmark, sweep, model, device, loader, transform, batch_size, num_workers, threads):
    device = sweep.require(device)
    grid = sweep.grid
    pin_memory = device.type == "cuda" and loader != "device"
    seed = sweep.seed + max(sweep.repeat, 1) - 1  # each repeat of the case: another seed
    plan = lr_plan(batch_size, sweep.lr)
    target = sweep.target_accuracy
    with sweep.device_errors(device, f"{model} training to {target:.0%} at batch {batch_size}"), \
            sweep.threads(threads) as threads:
        torch.manual_seed(seed)
        net = prepare_model(get_model(model), device)
        optimizer = make_optimizer(net)
        scheduler = lr_scheduler(optimizer, plan)
        train_batches = make_loader(sweep.data.train, loader, transform, batch_size, num_workers=num_workers,
                                    pin_memory=pin_memory, device=device, persistent_workers=True, seed=seed)
        test = sweep.data.test
        eval_images = min(grid.converge_eval_images, len(test.labels))
        eval_batches = make_loader(type(test)(test.images[:eval_images], test.labels[:eval_images]), loader,
                                   "tutorial", max(batch_size, EVAL_BATCH_SIZE), num_workers=num_workers,
                                   pin_memory=pin_memory, shuffle=False, device=device)
        max_epochs = 1 if benchmark.disabled else grid.converge_max_epochs
        smoke_images = 2 * batch_size if benchmark.disabled else None  # a smoke run: two batches, once
        gpu_indices = [device.index or 0] if device.type == "cuda" else []
        with Sampler(interval_s=sweep.sample_interval_s, gpu_indices=gpu_indices) as sampler:
            result = train_to_target(net, optimizer, train_batches, eval_batches, device, target, max_epochs,
                                     sweep.converge_seconds or grid.converge_max_seconds, on_step=scheduler.step,
                                     energy_j=energy_counter(device), max_images=smoke_images)
    losses = [point.train_loss for point in result.curve]
    if not all(map(torch.isfinite, torch.tensor(losses))):
        pytest.fail(f"training loss is not finite: {losses}")
    if benchmark.disabled:
        return  # a smoke run: one epoch, untimed
    compat.record_rounds(benchmark, result.epoch_seconds, mode="cifarbench: epochs of a converge run")
    run = {ConvergeRun.seed: seed, **result.facts()}
    sweep.record(benchmark, Window(sampler=sampler), device,
                 images_per_round=result.curve[-1].images / len(result.curve), threads=threads, facts={
                     Converge.target_accuracy: target,
                     Converge.lr: plan.lr,
                     Converge.warmup_steps: plan.warmup_steps,
                     Converge.lr_rule: plan.rule,
                     Converge.momentum: MOMENTUM,
                     Converge.max_epochs: grid.converge_max_epochs,
                     Converge.max_seconds: sweep.converge_seconds or grid.converge_max_seconds,
                     Converge.eval_images: eval_images,
                     Converge.data_source: sweep.data_source,
                     Converge.seeds: [run],
                 })
