"""End to end: a training epoch through the input pipeline, then the evaluation pass.

Timed: one training epoch of `--bench-epoch-images` images, or, by default, as many as last
about the profile's `epoch_round_seconds` at the rate measured on a calibration pass (at most
the profile's `epoch_images`); a subset of the 50,000 is projected to a full epoch and
labelled `projected`. The epoch runs from the DataLoader
(or the device-resident pipeline) through the copy to the device, forward, backward and the
SGD step, as the tutorial's loop does. Each round ends with a device synchronization.
Not timed: building the data set, starting the workers (they persist across rounds), the
warm-up and calibration passes, and the evaluation pass afterwards (its seconds and accuracy are recorded).
Run: pytest --benchmark -k bench_epoch
"""

import time

import pytest
import torch

from bench.data import make_loader
from bench.sweep import FULL_EPOCH_IMAGES
from bench.timing import synchronize
from bench.workload import evaluate, make_optimizer, prepare_model, train_epoch
from models import flops_per_image, get_model

# At least two batches a round: the first includes the pipeline's first fetch, the second
# runs in steady state. Only slow devices hit this floor (a batch longer than half the
# round), and there a batch's compute dwarfs its fetch.
MIN_BATCHES_PER_ROUND = 2
# Short passes that still start every worker and warm the allocator on fast configurations.
WARM_IMAGES = 512


def sized_epoch(net, optimizer, batches, device, batch_size: int, round_seconds: float, max_images: int) -> int:
    """Images for an epoch of about `round_seconds`: whole batches, at least two, at most `max_images`.

    A first pass (one batch, or 512 images) starts the workers and warms the device up; a
    second one (two batches, or 512 images) measures the rate the timed epochs are sized from.
    Both stay short on purpose: on a slow device (ResNet-18 at batch 512 on two CPU cores takes
    about 14 s a batch) longer passes cost minutes per case.
    """
    warm_images = min(max_images, max(batch_size, WARM_IMAGES))
    calibration_images = min(max_images, max(2 * batch_size, WARM_IMAGES))
    train_epoch(net, optimizer, batches, device, max_images=warm_images)
    synchronize(device)  # host-device sync point
    started = time.perf_counter()
    result = train_epoch(net, optimizer, batches, device, max_images=calibration_images)
    synchronize(device)  # host-device sync point
    images_per_sec = result.images / (time.perf_counter() - started)
    batches_wanted = max(MIN_BATCHES_PER_ROUND, round(images_per_sec * round_seconds / batch_size))
    return min(max_images, batches_wanted * batch_size)


@pytest.mark.benchmark(group="epoch")
def bench_epoch(benchmark, sweep, model, device, loader, transform, batch_size, num_workers):
    device = sweep.require(device)
    grid = sweep.grid
    # Pinned host memory lets the copy to a GPU run asynchronously; the `device` pipeline
    # has nothing to copy.
    pin_memory = device.type == "cuda" and loader != "device"
    with sweep.device_errors(device, f"{model} epoch at batch {batch_size}"):
        torch.manual_seed(sweep.seed)
        net = prepare_model(get_model(model), device)
        optimizer = make_optimizer(net)
        train_batches = make_loader(
            sweep.data.train, loader, transform, batch_size, num_workers=num_workers,
            pin_memory=pin_memory, device=device, persistent_workers=True, seed=sweep.seed,
        )
        epoch_images = min(grid.epoch_images, len(sweep.data.train.labels))
        if grid.epoch_round_seconds is not None:
            epoch_images = sized_epoch(net, optimizer, train_batches, device, batch_size,
                                       grid.epoch_round_seconds, epoch_images)
        results = []

        def one_epoch():
            results.append(train_epoch(net, optimizer, train_batches, device, max_images=epoch_images))

        sampler = sweep.measure(benchmark, one_epoch, device, grid.epoch_rounds)

        eval_split = sweep.data.test
        eval_images = min(grid.eval_images, epoch_images, len(eval_split.labels))
        eval_batches = make_loader(
            type(eval_split)(eval_split.images[:eval_images], eval_split.labels[:eval_images]),
            loader, "tutorial", batch_size, num_workers=num_workers, pin_memory=pin_memory,
            shuffle=False, device=device,
        )
        synchronize(device)  # host-device sync point
        started = time.perf_counter()
        accuracy = evaluate(net, eval_batches, device)  # ends with .item(): synchronized
        eval_seconds = time.perf_counter() - started

    timed = results[-len(benchmark.stats.stats.data):]
    images_per_round = sum(result.images for result in timed) / len(timed)
    losses = [result.loss_mean for result in timed]
    if not all(map(torch.isfinite, torch.tensor(losses))):
        pytest.fail(f"training loss is not finite: {losses}")
    median_seconds = benchmark.stats.stats.median
    projected = images_per_round < FULL_EPOCH_IMAGES
    sweep.record(
        benchmark, sampler, device,
        images_per_round=images_per_round,
        flops_per_image=flops_per_image(model)["train"],
        epoch_images=images_per_round,
        epoch_seconds=median_seconds,
        full_epoch_seconds=median_seconds * FULL_EPOCH_IMAGES / images_per_round,
        full_epoch_projected=projected,
        train_loss=losses[-1],
        train_loss_per_round=losses,
        eval_images=eval_images,
        eval_seconds=eval_seconds,
        eval_accuracy=accuracy,
        pin_memory=pin_memory,
        data_source=sweep.data_source,
    )
