"""Timing that tells the truth about asynchronous devices.

CUDA kernels run after the Python call that launched them has returned; a timer around the
call alone measures the launches (see pytorch/hub PR 121). Every timed round here starts on
an idle device and ends when the device has finished its work: a synchronization at both
ends. Warm-up rounds run before, outside the timer, and are counted explicitly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch

# Short rounds are timed more often, up to this many (`rounds_to_fill`).
MAX_TIMED_ROUNDS = 50


def rounds_to_fill(round_seconds: float, rounds: int, total_seconds: float) -> int:
    """How many rounds of `round_seconds` to time: at least `rounds`, and enough to add up to
    `total_seconds`, at most MAX_TIMED_ROUNDS. Two 43 ms rounds (an epoch at 1.16 M images/s
    on an H200) say little about their spread, and a sampler every 0.1 s sees them once."""
    if round_seconds <= 0:
        return rounds
    return min(MAX_TIMED_ROUNDS, max(rounds, math.ceil(total_seconds / round_seconds)))


def synchronize(device: torch.device | str) -> None:
    """Wait until `device` has finished all queued work (no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # host-device sync point


def warm_up(work: Callable[[], object], device: torch.device | str, rounds: int) -> None:
    """Run `work` `rounds` times and wait for the device: caches, cuDNN autotuning, allocator."""
    for _ in range(rounds):
        work()
    synchronize(device)  # host-device sync point: warm-up ends with the device idle


def timed_rounds(benchmark, work: Callable[[], object], device: torch.device | str,
                 rounds: int) -> None:
    """Time `rounds` calls of `work` with pytest-benchmark, each bracketed by device syncs.

    `setup` runs before each round outside the timer and leaves the device idle; the target
    returns only once the device has finished the round's work.
    """
    device = torch.device(device)

    def start_idle():
        synchronize(device)  # host-device sync point: nothing queued when the timer starts

    def round_until_done():
        work()
        synchronize(device)  # host-device sync point: the round ends when the device is done

    benchmark.pedantic(round_until_done, setup=start_idle, rounds=rounds, iterations=1, warmup_rounds=0)


def steps_per_round(step: Callable[[], object], device: torch.device | str, target_seconds: float,
                    max_steps: int = 10_000) -> int:
    """How many calls of `step` make a round of about `target_seconds` (at least one).

    Measured once on a warm step, so that fast steps are timed over enough work for the
    timer's resolution and the per-round synchronization to be negligible.
    """
    synchronize(device)  # host-device sync point
    started = time.perf_counter()
    step()
    synchronize(device)  # host-device sync point
    step_seconds = max(time.perf_counter() - started, 1e-7)
    return int(min(max_steps, max(1, round(target_seconds / step_seconds))))
