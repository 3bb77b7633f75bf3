"""End to end: a training epoch through the input pipeline, then the evaluation pass.

Timed: one training epoch per round. With `--bench-epoch-images N`, every round trains the
smallest whole number of batches that holds N images (fixed work: rounds compare across runs
and machines). By default a round is sized from the rate measured on a calibration pass
(`sized_epoch`): at least `MIN_BATCHES_PER_ROUND` batches and at least the preset's
`epoch_round_seconds`, at most the whole 50,000-image epoch; where 20 batches would take
longer than `MAX_ROUND_SECONDS`, whole batches for about that long instead (at least two).
Where even the whole epoch is shorter than `epoch_round_seconds` (43 ms on an H200 with the
device pipeline at batch 16,384), more rounds run instead, up to `MAX_TIMED_ROUNDS`, so that
the timed rounds add up to the preset's time: two 43 ms rounds say little about their spread,
and the sampler (every 0.1 s) would see them once.
A subset of the 50,000 is projected to a full epoch, labelled `projected`, with the images
it was projected from in `epoch_images`. The epoch runs from the DataLoader (or the
device-resident pipeline) through the copy to the device, forward, backward and the SGD
step, as the tutorial's loop does. Each round ends with a device synchronization.
Not timed: building the data set, starting the workers (they persist across rounds), the
warm-up and calibration passes, and the evaluation pass afterwards (its seconds and accuracy
are recorded). A repeat of the case (`--bench-repeats`) trains the first run's images and
rounds again, without calibrating or evaluating again.
With torch.compile (`compile` axis, bench/compile.py): compiled first, before the warm-up:
`compile_seconds` is the first compiled pass (one batch, or 512 images) minus a warm eager
pass of the same size; recompiles inside the timed rounds are counted (`recompiles`). The
last, smaller batch of the data set is dropped (`drop_last`), so the batch shape never
changes and nothing recompiles for it. The evaluation pass runs the eager module (the same
weights): compiling an eval graph would cost a second compile outside the question.
Run: pytest --benchmark -k bench_epoch
"""

import math
import time

import pytest
import torch

from bench.compile import Recompiles, compile_facts, compile_model, compiled, compiling, measure_compile
from bench.contract import Epoch, derive
from bench.contract.vocab import FULL_EPOCH_IMAGES
from bench.data import make_loader
from bench.phases import PhaseSeconds, phase_clock
from bench.timing import rounds_to_fill, synchronize
from bench.trace import record_trace
from bench.workload import evaluate, make_optimizer, prepare_model, train_epoch
from models import flops_per_image, get_model

# Enough batches that the first batch's start-up and a last partial batch weigh little in
# a figure projected to 50,000 images.
MIN_BATCHES_PER_ROUND = 20
# Unless 20 batches take longer than this (ResNet-18 at batch 512 on two CPU cores takes
# about 14 s a batch): then whole batches for about this long, which already averages well.
MAX_ROUND_SECONDS = 30.0
MIN_SLOW_BATCHES = 2
# Short passes that still start every worker and warm the allocator on fast configurations.
WARM_IMAGES = 512


def batches_for(images_per_sec: float, batch_size: int, round_seconds: float) -> int:
    """Batches a default-sized round trains at the measured rate (the rule in the docstring)."""
    batch_seconds = batch_size / images_per_sec
    if MIN_BATCHES_PER_ROUND * batch_seconds > MAX_ROUND_SECONDS:
        return max(MIN_SLOW_BATCHES, math.ceil(MAX_ROUND_SECONDS / batch_seconds))
    return max(MIN_BATCHES_PER_ROUND, math.ceil(round_seconds / batch_seconds))


def rounds_for(images_per_sec: float, images: int, round_seconds: float, rounds: int) -> int:
    """Rounds of `images` each: the preset's `rounds`, or more where a round is shorter than
    `round_seconds`, so that they add up to `rounds * round_seconds` (the rule in the docstring)."""
    return rounds_to_fill(images / images_per_sec, rounds, rounds * round_seconds)


def sized_epoch(net, optimizer, batches, device, batch_size: int, round_seconds: float, max_images: int,
                rounds: int) -> tuple[int, int]:
    """Images per default-sized epoch round (whole batches by `batches_for`, at most
    `max_images`) and how many rounds to time (`rounds_for`).

    A first pass (one batch, or 512 images) starts the workers and warms the device up; a
    second one (two batches, or 512 images) measures the rate the timed epochs are sized from.
    Both stay short on purpose: on a slow device longer passes cost minutes per case.
    """
    warm_images = min(max_images, max(batch_size, WARM_IMAGES))
    calibration_images = min(max_images, max(2 * batch_size, WARM_IMAGES))
    train_epoch(net, optimizer, batches, device, max_images=warm_images)
    synchronize(device)  # host-device sync point
    started = time.perf_counter()
    result = train_epoch(net, optimizer, batches, device, max_images=calibration_images)
    synchronize(device)  # host-device sync point
    images_per_sec = result.images / (time.perf_counter() - started)
    images = min(max_images, batches_for(images_per_sec, batch_size, round_seconds) * batch_size)
    return images, rounds_for(images_per_sec, images, round_seconds, rounds)


@pytest.mark.benchmark(group="epoch")
def bench_epoch(benchmark, request, sweep, model, device, loader, transform, batch_size, num_workers, threads,
                compile):
    device = sweep.require(device)
    grid = sweep.grid
    # Pinned host memory lets the copy to a GPU run asynchronously; the `device` pipeline
    # has nothing to copy.
    pin_memory = device.type == "cuda" and loader != "device"
    what = f"{model} epoch at batch {batch_size}"
    first_run = sweep.first_run()
    with sweep.device_errors(device, what), compiling(compile, what), sweep.threads(threads) as threads:
        torch.manual_seed(sweep.seed)
        eager_net = prepare_model(get_model(model), device)
        net = compile_model(eager_net, compile)  # the same module for eager; shares its parameters
        optimizer = make_optimizer(eager_net)
        train_batches = make_loader(
            sweep.data.train, loader, transform, batch_size, num_workers=num_workers,
            pin_memory=pin_memory, device=device, persistent_workers=True, seed=sweep.seed,
            drop_last=compiled(compile),
        )
        epoch_images = min(grid.epoch_images, len(sweep.data.train.labels))
        compile_time = recompiles = None
        if compiled(compile):
            pass_images = min(epoch_images, max(batch_size, WARM_IMAGES))
            compile_time = measure_compile(
                lambda: train_epoch(net, optimizer, train_batches, device, max_images=pass_images),
                lambda: train_epoch(eager_net, optimizer, train_batches, device, max_images=pass_images), device)
            recompiles = Recompiles()
        rounds = grid.epoch_rounds
        # The auto preset's search gives each trial its seconds of timed rounds (bench/autosweep.py).
        round_seconds = (grid.epoch_round_seconds if sweep.effort_seconds is None
                         else sweep.effort_seconds / grid.epoch_rounds)
        if benchmark.disabled:  # a smoke run: two batches, once
            epoch_images = min(epoch_images, MIN_SLOW_BATCHES * batch_size)
        elif round_seconds is not None:
            # Sized on the case's first run; its repeats time the same work.
            epoch_images, rounds = sweep.sized(lambda: sized_epoch(
                net, optimizer, train_batches, device, batch_size, round_seconds, epoch_images, rounds))
        results = []
        clock = phase_clock(device) if sweep.phases else None

        def one_epoch():
            results.append(train_epoch(net, optimizer, train_batches, device, max_images=epoch_images, clock=clock))

        window = sweep.measure(benchmark, one_epoch, device, rounds, recompiles=recompiles)
        trace = None
        if sweep.trace_dir is not None and not benchmark.disabled and first_run:
            # After the timed rounds: the profiler slows what it records.
            trace = record_trace(net, optimizer, train_batches, device,
                                 sweep.trace_dir / f"{request.node.callspec.id}.pt.trace.json.gz")

        evaluation = {}
        if first_run:  # its repeats train the same model the same way: evaluated once
            eval_split = sweep.data.test
            eval_images = min(grid.eval_images, epoch_images, len(eval_split.labels))
            eval_batches = make_loader(
                type(eval_split)(eval_split.images[:eval_images], eval_split.labels[:eval_images]),
                loader, "tutorial", batch_size, num_workers=num_workers, pin_memory=pin_memory,
                shuffle=False, device=device,
            )
            synchronize(device)  # host-device sync point
            started = time.perf_counter()
            accuracy = evaluate(eager_net, eval_batches, device)  # ends with .item(): synchronized
            evaluation = {Epoch.eval_images: eval_images, Epoch.eval_seconds: time.perf_counter() - started,
                          Epoch.eval_accuracy: accuracy}

    timed = results[-sweep.rounds_done(benchmark):]
    images_per_round = sum(result.images for result in timed) / len(timed)
    batches_per_round = sum(result.batches for result in timed) / len(timed)
    losses = [result.loss_mean for result in timed]
    if not all(map(torch.isfinite, torch.tensor(losses))):
        pytest.fail(f"training loss is not finite: {losses}")
    if benchmark.disabled:
        return  # a smoke run: the epoch ran once, untimed; nothing to record
    median_seconds = benchmark.stats.stats.median
    projected = images_per_round < FULL_EPOCH_IMAGES
    facts = {}
    if clock is not None:
        spent = PhaseSeconds()
        for result in timed:
            spent.add(result.phases)
        facts[Epoch.phases] = spent.as_extra_info(total_seconds=sum(benchmark.stats.stats.data))
    if trace is not None:
        trace_file = trace.pop("file")
        # relative to the results folder, which the report is written into
        facts[Epoch.trace] = {"path": trace_file.relative_to(sweep.trace_dir.parent.parent).as_posix(), **trace}
    if recompiles is not None:
        facts[Epoch.recompiles] = recompiles.count
    sweep.record(
        benchmark, window, device,
        images_per_round=images_per_round,
        projected_batches=round(batches_per_round) if projected else None,
        flops_per_image=flops_per_image(model)["train"],
        threads=threads,
        facts={
            Epoch.batches_per_round: batches_per_round,
            Epoch.epoch_images: images_per_round,
            Epoch.epoch_seconds: median_seconds,
            Epoch.full_epoch_seconds: derive.full_epoch_seconds(images_per_round / median_seconds),
            Epoch.full_epoch_projected: projected,
            Epoch.train_loss: losses[-1],
            Epoch.train_loss_per_round: losses,
            **evaluation,
            Epoch.pin_memory: pin_memory,
            Epoch.data_source: sweep.data_source,
            **facts,
            Epoch.drop_last: compiled(compile),
            **compile_facts(compile, compile_time),
        },
    )
