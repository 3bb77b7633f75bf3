"""The training workload every benchmark shares: the tutorial's step, epoch and evaluation.

One training step is exactly the tutorial's (zero_grad, forward, CrossEntropyLoss, backward,
SGD lr 0.001 momentum 0.9). Two deliberate differences, both about measuring rather than
teaching: the running loss is summed on the device instead of calling `loss.item()` every
step (that would force a host-device synchronization per step and time the sync, not the
training), and `amp` / `channels_last` can be switched on to measure what they buy.
Device-agnostic: "cpu", "cuda", "cuda:N".
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from bench.phases import EventPhaseClock, HostPhaseClock, PhaseSeconds

LEARNING_RATE = 0.001
MOMENTUM = 0.9


def make_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=LEARNING_RATE, momentum=MOMENTUM)


def autocast(device: torch.device, amp: bool):
    """bf16 autocast on the device when `amp`, a no-op context otherwise."""
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def prepare_model(model: nn.Module, device: torch.device, channels_last: bool = False) -> nn.Module:
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def to_device(images: torch.Tensor, labels: torch.Tensor, device: torch.device,
              channels_last: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    # non_blocking only overlaps the copy when the host tensor is pinned; harmless otherwise.
    images = images.to(device, non_blocking=True)
    labels = labels.to(device, non_blocking=True)
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images, labels


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, criterion: nn.Module,
               images: torch.Tensor, labels: torch.Tensor, amp: bool = False) -> torch.Tensor:
    """One step as the tutorial does it; returns the loss tensor (no host sync)."""
    optimizer.zero_grad()
    with autocast(images.device, amp):
        outputs = model(images)
        loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    return loss.detach()


@dataclass(frozen=True)
class EpochResult:
    images: int
    batches: int
    loss_mean: float  # mean training loss over the batches
    phases: PhaseSeconds | None = None  # where the epoch's time went, when a clock was given


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable,
                device: torch.device, max_images: int | None = None, amp: bool = False,
                channels_last: bool = False, clock: HostPhaseClock | EventPhaseClock | None = None,
                on_step: Callable[[], None] | None = None) -> EpochResult:
    """One pass over `batches` (stopping after `max_images` when given).

    `on_step`: called after every optimizer step (a learning-rate schedule's `step`; the
    `converge` group's), outside the phase clock.

    With a `clock` (bench/phases.py), each step's phases are timed at their boundaries: the
    same work in the same order, a timestamp (CPU) or a pooled event (CUDA) between phases,
    nothing synchronized. `zero_grad` (setting gradients to None, microseconds) is counted
    with forward, where the tutorial calls it.
    """
    criterion = nn.CrossEntropyLoss()
    model.train()
    loss_sum = torch.zeros((), device=device)
    images_done = 0
    batches_done = 0
    iterator = iter(batches)
    if clock is not None:
        clock.start_round()
    while True:
        if clock is not None:
            clock.before_fetch()
        try:
            images, labels = next(iterator)
        except StopIteration:
            break
        if clock is None:
            images, labels = to_device(images, labels, device, channels_last)
            loss_sum += train_step(model, optimizer, criterion, images, labels, amp)
        else:
            clock.mark(0)
            images, labels = to_device(images, labels, device, channels_last)
            clock.mark(1)
            optimizer.zero_grad()
            with autocast(images.device, amp):
                loss = criterion(model(images), labels)
            clock.mark(2)
            loss.backward()
            clock.mark(3)
            optimizer.step()
            clock.mark(4)
            loss_sum += loss.detach()
        if on_step is not None:
            on_step()
        images_done += len(labels)
        batches_done += 1
        if max_images is not None and images_done >= max_images:
            break
    # .item() synchronizes with the device: once per epoch, not per step. After it, every
    # event of the round has completed and can be read.
    loss_mean = loss_sum.item() / max(batches_done, 1)
    phases = clock.finish_round() if clock is not None else None
    return EpochResult(images=images_done, batches=batches_done, loss_mean=loss_mean, phases=phases)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable, device: torch.device, amp: bool = False,
             channels_last: bool = False) -> float:
    """Top-1 accuracy (0..1) over `batches`, as the tutorial's test loop computes it."""
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=device)
    total = 0
    for images, labels in batches:
        images, labels = to_device(images, labels, device, channels_last)
        with autocast(device, amp):
            outputs = model(images)
        correct += (outputs.argmax(dim=1) == labels).sum()
        total += len(labels)
    # .item() synchronizes with the device, once per evaluation.
    return correct.item() / max(total, 1)
