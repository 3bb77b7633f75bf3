"""The compute ceiling: forward, and forward + backward + SGD step, on a device-resident batch.

Timed: `steps` calls on one batch already on the device (random images and labels), the
number of steps per round chosen once so a round lasts about the profile's
`step_round_seconds`; every round bracketed by device synchronizations. Not timed: building
the model and optimizer, the first steps (cuDNN autotuning, allocator), warm-up rounds.
No input pipeline: this is what the device could do if data arrived for free.
With torch.compile (`compile` axis, bench/compile.py): the compile is timed apart before
the first steps (`compile_seconds`: the first compiled step minus a warm eager one) and
excluded from every round; recompiles inside the timed rounds are counted (`recompiles`).
Run: pytest --benchmark -k "bench_forward or bench_train_step"
"""

import pytest
import torch
from torch import nn

from bench.compile import Recompiles, compile_facts, compile_model, compiled, compiling, measure_compile
from bench.contract import Forward, TrainStep
from bench.timing import steps_per_round
from bench.workload import make_optimizer, prepare_model, train_step
from models import INPUT_SHAPE, NUM_CLASSES, flops_per_image, get_model

FIRST_STEPS = 3  # untimed: cuDNN algorithm choice, allocator growth, lazy init


def device_batch(batch_size: int, device: torch.device, channels_last: bool = False):
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(batch_size, *INPUT_SHAPE, generator=generator).to(device)
    labels = torch.randint(0, NUM_CLASSES, (batch_size,), generator=generator).to(device)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, labels


def measure_steps(benchmark, sweep, step, device, batch_size: int, flops: float, threads: int,
                  recompiles: Recompiles | None = None, facts: dict | None = None):
    for _ in range(FIRST_STEPS):
        step()
    # Sized on the case's first run; its repeats time the same steps.
    steps = sweep.sized(lambda: steps_per_round(step, device, sweep.grid.step_round_seconds))

    def one_round():
        for _ in range(steps):
            step()

    window = sweep.measure(benchmark, one_round, device, sweep.grid.rounds, recompiles=recompiles)
    facts = {**(facts or {}), Forward.steps_per_round: steps}
    if recompiles is not None:
        facts[TrainStep.recompiles] = recompiles.count
    sweep.record(benchmark, window, device, images_per_round=steps * batch_size, flops_per_image=flops,
                 threads=threads, facts=facts)


@pytest.mark.benchmark(group="forward")
def bench_forward(benchmark, sweep, model, device, batch_size, threads):
    device = sweep.require(device)
    with sweep.device_errors(device, f"{model} forward at batch {batch_size}"), sweep.threads(threads) as threads:
        net = prepare_model(get_model(model), device).eval()
        images, _ = device_batch(batch_size, device)

        def step():
            with torch.no_grad():
                net(images)

        measure_steps(benchmark, sweep, step, device, batch_size, flops_per_image(model)["forward"], threads)


@pytest.mark.benchmark(group="train_step")
def bench_train_step(benchmark, sweep, model, device, batch_size, threads, amp, channels_last, compile):
    device = sweep.require(device)
    if amp and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        pytest.skip(f"{device} does not support bf16")
    what = f"{model} train step at batch {batch_size}"
    with sweep.device_errors(device, what), compiling(compile, what), sweep.threads(threads) as threads:
        eager_net = prepare_model(get_model(model), device, channels_last=channels_last).train()
        net = compile_model(eager_net, compile)  # the same module for eager; shares its parameters
        optimizer = make_optimizer(eager_net)
        criterion = nn.CrossEntropyLoss()
        images, labels = device_batch(batch_size, device, channels_last)
        losses = []

        def step():
            losses.append(train_step(net, optimizer, criterion, images, labels, amp=amp))

        compile_time = recompiles = None
        if compiled(compile):
            compile_time = measure_compile(
                step, lambda: train_step(eager_net, optimizer, criterion, images, labels, amp=amp), device,
                eager_warmup=FIRST_STEPS)
            recompiles = Recompiles()
        measure_steps(benchmark, sweep, step, device, batch_size, flops_per_image(model)["train"], threads,
                      recompiles=recompiles, facts=compile_facts(compile, compile_time))
        # .item() syncs, after timing: a loss that is not finite means the step is broken.
        last_loss = losses[-1].item()
        if not torch.isfinite(torch.tensor(last_loss)):
            pytest.fail(f"training loss is {last_loss} after {len(losses)} steps")
        benchmark.extra_info[TrainStep.train_loss] = last_loss
