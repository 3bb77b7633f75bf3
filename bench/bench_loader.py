"""DataLoader throughput alone: how many training images per second an input pipeline serves.

Timed: pulling batches worth `loader_round_images` images from an iterator that keeps
running across rounds (steady state; an epoch's end starts the next). Not timed: building
the data set, starting the workers and the first batch (recorded as `first_batch_seconds`,
a different cost), warm-up rounds. Nothing is copied to a device: that is the epoch's job.
The device-resident pipeline serves a batch of 16,384 in about a millisecond on an H200: its
rounds are at least the preset's `step_round_seconds` of batches (measured on one batch, as
for the train step), else three 1 ms rounds spread 92%. Host loaders keep the image count:
with workers, one batch's time is a prefetched batch's, which says nothing of the rate.
Run: pytest --benchmark -k bench_loader
"""

import math
import time

import pytest

from bench.contract import Loader
from bench.data import make_loader
from bench.timing import steps_per_round, synchronize


class BatchStream:
    """Endless batches from a DataLoader: a finished epoch starts the next one."""

    def __init__(self, batches):
        self.batches = batches
        self.iterator = iter(batches)

    def next_images(self) -> int:
        try:
            images, _ = next(self.iterator)
        except StopIteration:
            self.iterator = iter(self.batches)
            images, _ = next(self.iterator)
        return len(images)

    def close(self) -> None:
        # Dropping the iterator shuts its worker processes down now, not at garbage collection.
        shutdown = getattr(self.iterator, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()
        self.iterator = None


@pytest.mark.benchmark(group="loader")
def bench_loader(benchmark, sweep, loader, transform, batch_size, num_workers, pin_memory):
    device = sweep.accelerator() if loader == "device" else None
    batches = make_loader(
        sweep.data.train, loader, transform, batch_size, num_workers=num_workers,
        pin_memory=pin_memory, device=device or "cpu", persistent_workers=True,
    )
    sync_device = device or "cpu"
    started = time.perf_counter()
    stream = BatchStream(batches)
    stream.next_images()
    synchronize(sync_device)  # host-device sync point: the `device` pipeline cuts batches there
    first_batch_seconds = time.perf_counter() - started
    batches_per_round = math.ceil(sweep.grid.loader_round_images / batch_size)
    if device is not None:  # the device pipeline: synchronous, one batch's time is its rate
        # Sized on the case's first run; its repeats pull the same batches.
        batches_per_round = sweep.sized(lambda: max(
            batches_per_round, steps_per_round(stream.next_images, sync_device, sweep.grid.step_round_seconds)))
    served = []

    def one_round():
        served.append(sum(stream.next_images() for _ in range(batches_per_round)))

    try:
        window = sweep.measure(benchmark, one_round, sync_device, sweep.grid.rounds)
    finally:
        stream.close()
    timed = served[-sweep.rounds_done(benchmark):]
    sweep.record(benchmark, window, device, images_per_round=sum(timed) / len(timed), facts={
        Loader.first_batch_seconds: first_batch_seconds,
        Loader.batches_per_round: batches_per_round,
        Loader.data_device: str(sync_device),
        Loader.data_source: sweep.data_source,
    })
