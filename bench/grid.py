"""The sweep's grid: profiles, axis values from the command line, and the cases they make.

A profile (`quick`, `standard`, `full`) gives every axis its values and the sizes of the
timed work; `--bench-devices`, `--bench-models`, ... override single axes. Axes are the
parametrize argnames of the cases and the column names of the report.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace

import torch

from bench.data import LOADERS, TRANSFORMS
from models import MODELS

PROFILES = ("quick", "standard", "full")

# The benchmark groups and the axes each one sweeps, in id order.
GROUP_AXES: dict[str, tuple[str, ...]] = {
    "loader": ("loader", "transform", "batch_size", "num_workers", "pin_memory"),
    "forward": ("model", "device", "batch_size"),
    "train_step": ("model", "device", "batch_size", "amp", "channels_last"),
    "epoch": ("model", "device", "loader", "transform", "batch_size", "num_workers"),
    # Data-parallel epochs (bench/bench_ddp.py): `device` is a device type, its ranks on cuda:0..N-1.
    "ddp": ("model", "device", "loader", "batch_size", "scaling", "world_size"),
}


class GridError(ValueError):
    """An invalid sweep option; the message names the option and the valid values."""


def usable_cores() -> int:
    """Cores this process may run on (cgroup/affinity aware where the OS tells)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{index}" for index in range(torch.cuda.device_count())]
    return devices


def canonical_device(name: str) -> str:
    """'cuda' means 'cuda:0', so the same device has one name in ids and reports."""
    return "cuda:0" if name == "cuda" else name


@dataclass(frozen=True)
class Grid:
    """Every axis's values plus the amount of work each timed round does."""

    profile: str
    devices: tuple[str, ...]
    models: tuple[str, ...]
    batch_sizes: tuple[int, ...]
    workers: tuple[int, ...]
    loaders: tuple[str, ...]
    transforms: tuple[str, ...]
    epoch_images: int  # at most this many images per timed epoch (a subset of 50,000 is projected)
    loader_round_images: int  # images per timed round of a `loader` case
    step_round_seconds: float  # target length of a forward / train_step round
    rounds: int  # timed rounds of forward, train_step and loader cases
    epoch_rounds: int
    warmup_rounds: int = 1
    eval_images: int = 10_000
    # Timed epochs are sized to last about this long (at most `epoch_images`), from a
    # measured rate; None, or an explicit --bench-epoch-images, times exactly `epoch_images`.
    epoch_round_seconds: float | None = None
    # Batch sizes above this are left out on the CPU, where they cost minutes a case and
    # answer nothing a smaller batch does not (None: no cap).
    max_cpu_batch_size: int | None = None
    pin_memory: tuple[bool, ...] = (False,)
    amp: dict[str, tuple[bool, ...]] = field(default_factory=dict)
    channels_last: dict[str, tuple[bool, ...]] = field(default_factory=dict)
    # The ddp group: world sizes per device type, its per-rank batch sizes and pipelines,
    # "weak" (fixed batch per rank) and/or "strong" scaling, images per rank per round.
    world_sizes: dict[str, tuple[int, ...]] = field(default_factory=lambda: {"cpu": (1, 2)})
    ddp_batch_sizes: tuple[int, ...] = (128,)
    ddp_loaders: tuple[str, ...] = ("tensor",)
    ddp_scalings: tuple[str, ...] = ("weak",)
    ddp_rank_images: int = 2_048

    def cases(self, group: str) -> list[dict]:
        """The parameter combinations of a group, impossible ones left out.

        Left out (not skipped): the `device` pipeline with workers or pinned memory, which it
        does not use; CPU cases above `max_cpu_batch_size`; strong scaling on one rank (the
        weak-scaling case is the same work). Devices absent from this machine
        stay in, and their cases skip.
        """
        axes = GROUP_AXES[group]
        values = {
            "model": self.models, "device": self.devices, "batch_size": self.batch_sizes,
            "num_workers": self.workers, "loader": self.loaders, "transform": self.transforms,
            "pin_memory": self.pin_memory,
        }
        if group == "epoch":
            values["transform"] = self.transforms[:1]
        devices = self.devices if "device" in axes else (None,)
        if group == "ddp":
            devices = tuple(dict.fromkeys(device.split(":")[0] for device in self.devices))
            values.update(batch_size=self.ddp_batch_sizes, loader=self.ddp_loaders, scaling=self.ddp_scalings)
        combos = []
        for device in devices:
            per_device = dict(values, device=(device,))
            per_device["amp"] = self.amp.get(device, (False,))
            per_device["channels_last"] = self.channels_last.get(device, (False,))
            per_device["world_size"] = self.world_sizes.get(device, (1,))
            for combo in itertools.product(*(per_device[axis] for axis in axes)):
                case = dict(zip(axes, combo, strict=False))
                if case.get("loader") == "device" and (case.get("num_workers") or case.get("pin_memory")):
                    continue
                if case.get("scaling") == "strong" and case["world_size"] == 1:
                    continue  # the same work as weak scaling on one rank: its baseline
                if (device == "cpu" and self.max_cpu_batch_size is not None
                        and case["batch_size"] > self.max_cpu_batch_size):
                    continue
                combos.append(case)
        return combos


def parse_list(option: str, text: str | None, valid: tuple | None = None, kind=str) -> tuple | None:
    """A comma-separated option value, checked against `valid`; None when not given."""
    if text is None:
        return None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise GridError(f"{option} is empty; give a comma-separated list"
                        + (f" of: {', '.join(map(str, valid))}" if valid else ""))
    values = []
    for item in items:
        try:
            value = kind(item)
        except ValueError:
            raise GridError(f"{option}: {item!r} is not a valid {kind.__name__}") from None
        if kind is int and value < 0:
            raise GridError(f"{option}: {item!r} must not be negative")
        if valid is not None and value not in valid:
            raise GridError(f"{option}: {item!r} is not one of: {', '.join(map(str, valid))}")
        values.append(value)
    return tuple(dict.fromkeys(values))


def parse_devices(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    devices = parse_list("--bench-devices", text)
    for device in devices:
        try:
            parsed = torch.device(device)
        except RuntimeError:
            raise GridError(f"--bench-devices: {device!r} is not a device; use cpu, cuda or cuda:N") from None
        if parsed.type not in ("cpu", "cuda"):
            raise GridError(f"--bench-devices: {device!r} is not supported; use cpu, cuda or cuda:N")
    return tuple(dict.fromkeys(canonical_device(device) for device in devices))


def default_grid(profile: str) -> Grid:
    """The profile's grid, adapted to this machine's cores and devices."""
    if profile not in PROFILES:
        raise GridError(f"--bench-profile: {profile!r} is not one of: {', '.join(PROFILES)}")
    cores = usable_cores()
    devices = tuple(available_devices())
    cuda_devices = [device for device in devices if device.startswith("cuda")]
    # One GPU is enough to answer "what does this shape do"; the full profile takes them all.
    if profile != "full":
        devices = ("cpu", *cuda_devices[:1])
    amp, channels_last = device_axes(cuda_devices)
    pin_memory = (False, True) if cuda_devices else (False,)
    if profile == "quick":
        return Grid(
            profile=profile, devices=devices, models=("tutorial",), batch_sizes=(4, 128),
            workers=worker_counts(cores, 2), loaders=LOADERS, transforms=("tutorial",),
            epoch_images=2_048, loader_round_images=2_048, step_round_seconds=0.05, rounds=3,
            epoch_rounds=2, eval_images=2_048, pin_memory=(False,), amp=amp, epoch_round_seconds=1.0,
            world_sizes=world_sizes(cuda_devices), ddp_rank_images=1_024,
        )
    if profile == "standard":
        return Grid(
            profile=profile, devices=devices, models=("tutorial", "resnet18"),
            batch_sizes=(4, 32, 512, 4096), workers=worker_counts(cores, 3), loaders=LOADERS,
            transforms=TRANSFORMS, epoch_images=50_000, loader_round_images=8_192,
            step_round_seconds=0.1, rounds=5, epoch_rounds=3, pin_memory=pin_memory, amp=amp,
            channels_last=channels_last, eval_images=5_000, epoch_round_seconds=1.5,
            max_cpu_batch_size=512, world_sizes=world_sizes(cuda_devices), ddp_batch_sizes=(32, 128),
            ddp_loaders=("tensor", "device") if cuda_devices else ("tensor",), ddp_rank_images=8_192,
        )
    return Grid(
        profile=profile, devices=devices, models=tuple(MODELS),
        batch_sizes=(4, 16, 64, 256, 1024, 4096), workers=worker_counts(cores, 5),
        loaders=LOADERS, transforms=TRANSFORMS, epoch_images=50_000, loader_round_images=16_384,
        step_round_seconds=0.2, rounds=7, epoch_rounds=3, pin_memory=pin_memory, amp=amp,
        channels_last=channels_last, world_sizes=world_sizes(cuda_devices), ddp_batch_sizes=(32, 128, 512),
        ddp_loaders=("tensor", "device"), ddp_scalings=("weak", "strong"), ddp_rank_images=16_384,
    )


def world_sizes(cuda_devices, cpu_world_sizes: tuple[int, ...] = (1, 2)) -> dict[str, tuple[int, ...]]:
    """The ddp group's world sizes: gloo processes on the CPU; 1, 2, 4, ... up to the GPU count on CUDA."""
    sizes = {"cpu": cpu_world_sizes}
    if cuda_devices:
        counts = [1]
        while counts[-1] * 2 <= len(cuda_devices):
            counts.append(counts[-1] * 2)
        sizes["cuda"] = tuple(dict.fromkeys([*counts, len(cuda_devices)]))
    return sizes


def device_axes(devices) -> tuple[dict, dict]:
    """The `amp` and `channels_last` values per device: both only where they can pay off.

    On CUDA, bf16 autocast (where supported) and channels_last (tensor-core friendly).
    On the CPU neither is swept: bf16 autocast is emulated and slower on CPUs without AMX.
    """
    bf16 = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    cuda_devices = [device for device in devices if device.startswith("cuda")]
    amp = {device: (False, True) if bf16 else (False,) for device in cuda_devices}
    channels_last = {device: (False, True) for device in cuda_devices}
    return amp, channels_last


def worker_counts(cores: int, how_many: int) -> tuple[int, ...]:
    """0, 2 (the tutorial's), then doubling up to the usable cores: at most `how_many`."""
    counts = [0, 2]
    while counts[-1] * 2 <= cores:
        counts.append(counts[-1] * 2)
    if cores > counts[-1]:
        counts.append(cores)
    if len(counts) > how_many:  # keep 0, 2 and the largest counts
        counts = counts[:2] + counts[len(counts) - how_many + 2:]
    return tuple(counts)


def grid_from_options(profile: str, devices: str | None = None, models: str | None = None,
                      batch_sizes: str | None = None, workers: str | None = None,
                      loaders: str | None = None, transforms: str | None = None,
                      epoch_images: int | None = None, world_sizes: str | None = None) -> Grid:
    """The profile's grid with the axes given on the command line put in place."""
    grid = default_grid(profile)
    overrides = {
        "devices": parse_devices(devices),
        "models": parse_list("--bench-models", models, tuple(MODELS)),
        "batch_sizes": parse_list("--bench-batch-sizes", batch_sizes, kind=int),
        "workers": parse_list("--bench-workers", workers, kind=int),
        "loaders": parse_list("--bench-loaders", loaders, LOADERS),
        "transforms": parse_list("--bench-transforms", transforms, TRANSFORMS),
    }
    if overrides["batch_sizes"] and 0 in overrides["batch_sizes"]:
        raise GridError("--bench-batch-sizes: batch sizes must be at least 1")
    if epoch_images is not None:
        if epoch_images < 1:
            raise GridError(f"--bench-epoch-images: {epoch_images} must be at least 1")
        overrides["epoch_images"] = epoch_images
        overrides["epoch_round_seconds"] = None  # asked for exactly: no sizing
    grid = replace(grid, **{name: value for name, value in overrides.items() if value is not None})
    # The ddp group follows the batch sizes and pipelines asked for; world sizes apply to every device type.
    grid = replace(grid, ddp_batch_sizes=overrides["batch_sizes"] or grid.ddp_batch_sizes,
                   ddp_loaders=overrides["loaders"] or grid.ddp_loaders)
    sizes = parse_list("--bench-world-sizes", world_sizes, kind=int)
    if sizes:
        if 0 in sizes:
            raise GridError("--bench-world-sizes: world sizes must be at least 1")
        grid = replace(grid, world_sizes={device: sizes for device in grid.world_sizes})
    if overrides["devices"]:
        # Axes that depend on the device follow the devices asked for.
        amp, channels_last = device_axes(grid.devices)
        if grid.profile == "quick":
            channels_last = {}
        grid = replace(grid, amp=amp, channels_last=channels_last)
    return grid


def case_id(case: dict) -> str:
    """A short readable id: tutorial-cpu-bs4-w2-pil."""
    parts = []
    for axis, value in case.items():
        if axis == "batch_size":
            parts.append(f"bs{value}")
        elif axis == "num_workers":
            parts.append(f"w{value}")
        elif axis == "pin_memory":
            parts.append("pinned" if value else "pageable")
        elif axis == "amp":
            parts.append("bf16" if value else "fp32")
        elif axis == "channels_last":
            parts.append("channels_last" if value else "nchw")
        elif axis == "world_size":
            parts.append(f"ws{value}")
        else:
            parts.append(str(value))
    return "-".join(parts)
