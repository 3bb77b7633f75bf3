"""Training to a target accuracy: the loop a `converge` case times (bench/bench_converge.py).

MLPerf Training and DAWNBench rank time to a target accuracy, not images/s: a configuration
that pushes images through fastest may learn least per image (the tutorial's learning rate at
batch 16,384 makes four optimizer steps an epoch). `train_to_target` trains epoch after epoch,
evaluates after each, and stops when the evaluation accuracy reaches the target, or when a
budget of epochs or seconds runs out.

- The clock starts when the training data is first touched, as MLPerf's does: the first
  epoch's iterator (which starts the DataLoader's workers) is inside it; building the model,
  the data set in memory and the DataLoader object are not.
- Training seconds and evaluation seconds are kept apart: `seconds_to_target` is the training
  alone, summed over the epochs up to the one whose evaluation reached the target; the
  evaluations' seconds are beside it (`eval_seconds`). Every epoch and every evaluation ends
  with a device synchronization (`.item()`).
- Energy: the GPU's energy counter (NVML) read at both ends of every training epoch, where
  the case's device has one; the evaluations' joules are left out like their seconds.
- The accuracy curve is every epoch's point: cumulative training seconds, images, optimizer
  steps and joules, and the evaluation's accuracy and seconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from bench.timing import synchronize
from bench.workload import evaluate, train_epoch

REACHED, MAX_EPOCHS, MAX_SECONDS = "reached", "max_epochs", "max_seconds"


@dataclass(frozen=True)
class EpochPoint:
    """The curve after one epoch: cumulative training figures and this epoch's evaluation."""

    epoch: int  # 1 for the first
    train_seconds: float  # cumulative, evaluations excluded
    images: int  # cumulative
    steps: int  # cumulative optimizer steps
    accuracy: float  # this epoch's evaluation, 0..1
    eval_seconds: float  # this evaluation
    energy_j: float | None = None  # cumulative training joules (GPU), None where not counted
    train_loss: float | None = None  # this epoch's mean training loss


@dataclass(frozen=True)
class ConvergeResult:
    target_accuracy: float
    reached: bool
    stop: str  # reached, max_epochs or max_seconds
    curve: tuple[EpochPoint, ...] = field(default_factory=tuple)

    @property
    def at_target(self) -> EpochPoint | None:
        """The first point at or above the target (None when never reached)."""
        return next((point for point in self.curve if point.accuracy >= self.target_accuracy), None)

    @property
    def best_accuracy(self) -> float | None:
        return max((point.accuracy for point in self.curve), default=None)

    @property
    def epoch_seconds(self) -> list[float]:
        """Each epoch's own training seconds (the case's rounds)."""
        cumulative = [point.train_seconds for point in self.curve]
        return [after - before for before, after in zip([0.0, *cumulative], cumulative, strict=False)]

    def facts(self) -> dict:
        """The run's facts as the results file holds them (keys: bench.contract.ConvergeRun)."""
        point = self.at_target
        last = self.curve[-1] if self.curve else None
        return {
            "reached": self.reached,
            "stop": self.stop,
            "seconds_to_target": point.train_seconds if point else None,
            "eval_seconds_to_target": (sum(p.eval_seconds for p in self.curve[:point.epoch]) if point else None),
            "epochs_to_target": point.epoch if point else None,
            "images_to_target": point.images if point else None,
            "steps_to_target": point.steps if point else None,
            "energy_j_to_target": point.energy_j if point else None,
            "best_accuracy": self.best_accuracy,
            "train_seconds": last.train_seconds if last else 0.0,
            "eval_seconds": sum(p.eval_seconds for p in self.curve),
            "curve": [asdict(p) for p in self.curve],
        }


def train_to_target(net: nn.Module, optimizer: torch.optim.Optimizer, train_batches: Iterable,
                    eval_batches: Iterable, device: torch.device, target_accuracy: float, max_epochs: int,
                    max_seconds: float | None = None, on_step: Callable[[], None] | None = None,
                    energy_j: Callable[[], float | None] | None = None,
                    clock: Callable[[], float] = time.perf_counter, max_images: int | None = None) -> ConvergeResult:
    """Train epochs of `train_batches` until `eval_batches`' accuracy reaches `target_accuracy`.

    `on_step`: called after every optimizer step (the learning-rate schedule's `step`).
    `max_seconds`: the budget of training and evaluation seconds together; no epoch starts
    after it is spent. `energy_j`: the device's energy counter in joules (None: not counted).
    `max_images`: stop each epoch after this many images (a smoke run's few batches).
    """
    curve: list[EpochPoint] = []
    train_seconds, images, steps = 0.0, 0, 0
    energy_start = energy_j() if energy_j is not None else None
    spent = 0.0
    for epoch in range(1, max_epochs + 1):
        synchronize(device)  # host-device sync point: the epoch's clock starts on an idle device
        started = clock()
        result = train_epoch(net, optimizer, train_batches, device, max_images=max_images,
                             on_step=on_step)  # ends with .item()
        epoch_seconds = clock() - started
        energy = energy_j() if energy_j is not None else None
        eval_started = clock()
        accuracy = evaluate(net, eval_batches, device)  # ends with .item(): synchronized
        eval_seconds = clock() - eval_started
        train_seconds += epoch_seconds
        images += result.images
        steps += result.batches
        spent += epoch_seconds + eval_seconds
        curve.append(EpochPoint(
            epoch=epoch, train_seconds=train_seconds, images=images, steps=steps, accuracy=accuracy,
            eval_seconds=eval_seconds, train_loss=result.loss_mean,
            energy_j=energy - energy_start if energy is not None and energy_start is not None else None))
        if accuracy >= target_accuracy:
            return ConvergeResult(target_accuracy, True, REACHED, tuple(curve))
        if max_seconds is not None and spent >= max_seconds:
            return ConvergeResult(target_accuracy, False, MAX_SECONDS, tuple(curve))
    return ConvergeResult(target_accuracy, False, MAX_EPOCHS, tuple(curve))


def choose(epochs: list[dict], configs: list[dict], policy: str, tutorial: dict, models: tuple[str, ...]) -> list[dict]:
    """Which converge configurations (dicts of the group's axes, from `configs`) a sweep trains.

    `epochs`: the sweep's merged epoch entries (pytest-benchmark's JSON, one per case). Per
    device and model: the tutorial's settings, and the fastest configuration per image that
    was measured and not invalid; with `policy` "per_batch", also the fastest at each batch
    size. A model other than the first trains on GPUs only (ResNet-18 takes minutes an epoch on
    a CPU) unless it is the only one. With no epoch measured, every configuration trains
    (the user selected the converge cases alone).
    """
    if not epochs:
        return list(configs)
    axes = tuple(configs[0]) if configs else ()
    available = {tuple(sorted(config.items())): config for config in configs}
    chosen: dict[tuple, dict] = {}

    def add(config: dict) -> None:
        key = tuple(sorted((axis, config.get(axis)) for axis in axes))
        if key in available:
            chosen.setdefault(key, available[key])

    measured = [entry for entry in epochs if (entry["params"].get("compile") or "eager") == "eager"
                and ((entry["extra_info"].get("trust") or {}).get("level") != "invalid")]
    for device, model in dict.fromkeys((config["device"], config["model"]) for config in configs):
        if model != models[0] and not str(device).startswith("cuda") and len(models) > 1:
            continue
        mine = [entry for entry in measured
                if entry["params"].get("device") == device and entry["params"].get("model") == model]
        for config in configs:
            if config["device"] == device and config["model"] == model and all(
                    config.get(axis) == value for axis, value in tutorial.items()):
                add(config)
        groups = [mine] if policy != "per_batch" else [
            [entry for entry in mine if entry["params"].get("batch_size") == size]
            for size in dict.fromkeys(entry["params"].get("batch_size") for entry in mine)]
        for group in groups:
            if group:
                fastest = max(group, key=lambda entry: entry["extra_info"].get("images_per_sec") or 0.0)
                add({axis: fastest["params"].get(axis) for axis in axes})
    return list(chosen.values())
