"""The sweep's grid: presets, axis values from the command line, and the cases they make.

A preset (`smoke`, `quick`, `standard`, `full`; `--bench-sweep`) gives every axis its values
and the sizes of the timed work; `--bench-devices`, `--bench-models`, ... override single
axes. Axes are the parametrize argnames of the cases and the column names of the report.

What the user names explicitly always runs: the preset's trims (the CPU batch cap, the
first transform only for epochs, large batches on the device pipeline only, where compiled
cases run) apply to the preset's own values, and `Grid.left_out()` lists them at the start
of the sweep.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field, replace

import torch

from bench.compile import COMPILE_MODES, EAGER
from bench.contract.vocab import FULL_EPOCH_IMAGES
from bench.data import LOADERS, TRANSFORMS
from models import MODELS

PRESETS = ("auto", "smoke", "quick", "standard", "full")
DEFAULT_PRESET = "auto"
DEFAULT_BUDGET_SECONDS = 300.0

# The benchmark groups and the axes each one sweeps, in id order.
GROUP_AXES: dict[str, tuple[str, ...]] = {
    "loader": ("loader", "transform", "batch_size", "num_workers", "pin_memory"),
    "forward": ("model", "device", "batch_size", "threads"),
    "train_step": ("model", "device", "batch_size", "threads", "amp", "channels_last", "compile"),
    "epoch": ("model", "device", "loader", "transform", "batch_size", "num_workers", "threads", "compile"),
    # Training to a target accuracy (bench/bench_converge.py): an epoch's settings, eager.
    "converge": ("model", "device", "loader", "transform", "batch_size", "num_workers", "threads"),
    # Data-parallel epochs (bench/bench_ddp.py): `device` is a device type, its ranks on cuda:0..N-1.
    "ddp": ("model", "device", "loader", "batch_size", "scaling", "world_size"),
}
# The grid's field for each axis the command line can set.
AXIS_FIELDS = {"devices": "device", "models": "model", "batch_sizes": "batch_size", "workers": "num_workers",
               "loaders": "loader", "transforms": "transform", "compile_modes": "compile", "threads": "threads"}
# Case ids of the `compile` axis.
COMPILE_IDS = {EAGER: "eager", "default": "compiled", "max-autotune": "compiled_max-autotune"}


@dataclass(frozen=True)
class CompileTrim:
    """Where a preset runs its compiled cases: compiling costs seconds to minutes a case.

    Named modes (--bench-compile) run in every case; eager always does.
    """

    groups: tuple[str, ...] = ("train_step", "epoch")
    batch_sizes: tuple[int, ...] | None = None  # None: every batch size
    epoch_loaders: tuple[str, ...] | None = None  # None: every input pipeline
    variants: bool = True  # False: fp32 NCHW only (no bf16 autocast, no channels_last)

    def trims(self, case: dict, group: str) -> bool:
        if case.get("compile", EAGER) == EAGER:
            return False
        return (group not in self.groups
                or (self.batch_sizes is not None and case["batch_size"] not in self.batch_sizes)
                or (group == "epoch" and self.epoch_loaders is not None and case["loader"] not in self.epoch_loaders)
                or (not self.variants and bool(case.get("amp") or case.get("channels_last"))))

    def sentence(self) -> str:
        where = [f"{' and '.join(self.groups)} cases"]
        if self.batch_sizes is not None:
            where.append(f"at batch {', '.join(map(str, self.batch_sizes))}")
        if not self.variants:
            where.append("in fp32 NCHW")
        if self.epoch_loaders is not None and "epoch" in self.groups:
            where.append(f"(epochs on the {', '.join(self.epoch_loaders)} pipeline)")
        return " ".join(where)


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

    preset: str
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
    # Timed epochs are sized from a measured rate (see bench/bench_epoch.py `sized_epoch`) to
    # last about this long, at most `epoch_images`; None (an explicit --bench-epoch-images)
    # trains exactly the whole batches that hold `epoch_images`, every round.
    epoch_round_seconds: float | None = None
    # Preset batch sizes above this are left out on the CPU, where they cost minutes a case and
    # answer nothing a smaller batch does not (None: no cap). Named batch sizes always run.
    max_cpu_batch_size: int | None = None
    # Preset batch sizes from this one up run on the device pipeline only (None: all pipelines).
    device_pipeline_only_from_batch_size: int | None = None
    pin_memory: tuple[bool, ...] = (False,)
    amp: dict[str, tuple[bool, ...]] = field(default_factory=dict)
    channels_last: dict[str, tuple[bool, ...]] = field(default_factory=dict)
    # torch.compile modes per device ("eager" alone where absent), and where the preset runs
    # the compiled ones (None: everywhere).
    compile_modes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    compile_trim: CompileTrim | None = None
    # The axes the user named on the command line (fields of AXIS_FIELDS): never trimmed.
    explicit: frozenset[str] = frozenset()
    # The ddp group: world sizes per device type, its per-rank batch sizes and pipelines,
    # "weak" (fixed batch per rank) and/or "strong" scaling, images per rank per round.
    world_sizes: dict[str, tuple[int, ...]] = field(default_factory=lambda: {"cpu": (1, 2)})
    ddp_batch_sizes: tuple[int, ...] = (128,)
    ddp_loaders: tuple[str, ...] = ("tensor",)
    ddp_scalings: tuple[str, ...] = ("weak",)
    ddp_rank_images: int = 2_048
    # Models the ddp group runs on the CPU unless --bench-models names others: ResNet-18 at
    # about 55 images/s on two cores makes one gloo case of 8,192 images a rank take 10 minutes.
    ddp_cpu_models: tuple[str, ...] | None = ("tutorial",)
    # torch's intra-op threads: the sweep's (the usable cores, or what a cgroup CPU limit
    # allows) and the `threads` axis of the CPU's forward, train_step and epoch cases (GPU
    # cases run on the sweep's threads). Ids name a thread count only where it is not the default.
    default_threads: int = 1
    threads: tuple[int, ...] = ()  # empty: the default only
    # How many times the sweep runs every case, interleaved (bench/repeats.py merges them).
    repeats: int = 1
    # The `auto` preset: the epoch configurations its search chooses from (bench/search), and
    # its wall-clock budget. None: a grid preset, whose cases are the product of its axes.
    candidates: tuple[dict, ...] | None = None
    reference: dict | None = None
    budget_seconds: float | None = None
    # The converge group (bench/bench_converge.py): its budget per run (epochs, and seconds of
    # training and evaluation together), the test images each evaluation scores, and how many
    # seeds each configuration trains with (its repeats). Which configurations train is the
    # sweep's choice after its other cases (bench/plugin.py `converge_choice`).
    converge_max_epochs: int = 6
    converge_max_seconds: float | None = 120.0
    converge_eval_images: int = 10_000
    seeds: int = 1
    # Which converge configurations the preset trains: "fastest" (the tutorial's settings and
    # the fastest per image), "per_batch" (also the fastest at each batch size).
    converge_policy: str = "fastest"

    def thread_counts(self, device: str | None) -> tuple[int, ...]:
        if device == "cpu" and self.threads:
            return self.threads
        return (self.default_threads,)

    def case_id(self, case: dict) -> str:
        """The case's readable id; the threads axis is named only where it is not the sweep's default."""
        shown = {axis: value for axis, value in case.items()
                 if not (axis == "threads" and value == self.default_threads)}
        return case_id(shown)

    def cases(self, group: str) -> list[dict]:
        """The parameter combinations of a group, impossible ones and the preset's trims left out.

        Left out (not skipped): the `device` pipeline with workers or pinned memory, which it
        does not use; the preset's trims (`left_out`); strong scaling on one rank (the
        weak-scaling case is the same work). Devices absent from this machine are refused
        earlier when named (`check_devices`); the preset lists only present ones.
        """
        axes = GROUP_AXES[group]
        if group == "converge":  # an epoch's settings, eager: the loop chooses which of them train
            return [{axis: case[axis] for axis in axes} for case in self.cases("epoch") if case["compile"] == EAGER]
        if self.candidates is not None:  # the auto preset: its search's epoch configurations only
            return [dict(case) for case in self.candidates] if group == "epoch" else []
        values = {
            "model": self.models, "device": self.devices, "batch_size": self.batch_sizes,
            "num_workers": self.workers, "loader": self.loaders, "transform": self.transforms,
            "pin_memory": self.pin_memory,
        }
        if group == "epoch" and "transforms" not in self.explicit:
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
            per_device["compile"] = self.compile_modes.get(device, (EAGER,))
            per_device["threads"] = self.thread_counts(device)
            for combo in itertools.product(*(per_device[axis] for axis in axes)):
                case = dict(zip(axes, combo, strict=False))
                if case.get("loader") == "device" and (case.get("num_workers") or case.get("pin_memory")):
                    continue
                if case.get("scaling") == "strong" and case["world_size"] == 1:
                    continue  # the same work as weak scaling on one rank: its baseline
                if (group == "ddp" and device == "cpu" and self.ddp_cpu_models is not None
                        and "models" not in self.explicit and case["model"] not in self.ddp_cpu_models):
                    continue
                if self._trimmed(case, device):
                    continue
                if self.compile_trim and "compile_modes" not in self.explicit and self.compile_trim.trims(case, group):
                    continue
                combos.append(case)
        return combos

    def _trimmed(self, case: dict, device: str | None) -> bool:
        if "batch_sizes" in self.explicit:
            return False
        if device == "cpu" and self.max_cpu_batch_size is not None and case["batch_size"] > self.max_cpu_batch_size:
            return True
        large = self.device_pipeline_only_from_batch_size
        return large is not None and case["batch_size"] >= large and case.get("loader", "device") != "device"

    def left_out(self) -> list[str]:
        """What the preset trims, in sentences for the start of the sweep (named axes are never trimmed)."""
        notes = []
        slow = [model for model in self.models if self.ddp_cpu_models is not None and model not in self.ddp_cpu_models]
        if slow and "models" not in self.explicit and "cpu" in self.devices and self.world_sizes.get("cpu"):
            notes.append(f"ddp on the CPU runs {', '.join(self.ddp_cpu_models)} only ({', '.join(slow)} takes "
                         "minutes a case there); name models with --bench-models to run them")
        if len(self.transforms) > 1 and "transforms" not in self.explicit:
            notes.append(f"epoch cases use the transform {self.transforms[0]!r} only "
                         f"(name them with --bench-transforms {','.join(self.transforms)} to time them all)")
        if "batch_sizes" not in self.explicit:
            capped = [size for size in self.batch_sizes
                      if self.max_cpu_batch_size is not None and size > self.max_cpu_batch_size]
            if capped and "cpu" in self.devices:
                notes.append(f"cpu: batch sizes {', '.join(map(str, capped))} are left out of forward, "
                             f"train_step and epoch (minutes a case on a CPU); name them with --bench-batch-sizes")
            large = self.device_pipeline_only_from_batch_size
            if large is not None and any(size >= large for size in self.batch_sizes):
                notes.append(f"batch sizes from {large} up run on the device pipeline only; "
                             "name them with --bench-batch-sizes for every pipeline")
        modes = sorted({mode for modes in self.compile_modes.values() for mode in modes if mode != EAGER})
        if modes and self.compile_trim is not None and "compile_modes" not in self.explicit:
            notes.append(f"torch.compile ({', '.join(modes)}) runs only in {self.compile_trim.sentence()}; "
                         "name modes with --bench-compile to compile every case")
        if "device" in self.loaders and any(self.workers):
            notes.append("the device pipeline runs without workers or pinned memory (it uses neither)")
        return notes


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


def check_devices(devices: tuple[str, ...]) -> None:
    """Refuse devices this machine does not have: a GPU job must not pass without a GPU."""
    present = available_devices()
    for device in devices:
        if device in present:
            continue
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise GridError(f"--bench-devices: {device} is not available: CUDA is not available on this "
                            f"machine (torch {torch.__version__}, CUDA build {torch.version.cuda})")
        raise GridError(f"--bench-devices: {device} is not available; this machine has: {', '.join(present)}")


def default_grid(preset: str) -> Grid:
    """The preset's grid, adapted to this machine's cores and devices."""
    if preset not in PRESETS:
        raise GridError(f"--bench-sweep: {preset!r} is not one of: {', '.join(PRESETS)}")
    cores = usable_cores()
    devices = tuple(available_devices())
    cuda_devices = [device for device in devices if device.startswith("cuda")]
    # One GPU is enough to answer "what does this shape do"; the full preset takes them all.
    if preset != "full":
        devices = ("cpu", *cuda_devices[:1])
    amp, channels_last = device_axes(cuda_devices)
    compile_modes, compile_trim = compile_axes(devices, preset)
    compiling = {"compile_modes": compile_modes, "compile_trim": compile_trim}
    pin_memory = (False, True) if cuda_devices else (False,)
    if preset == "auto":
        # The search's space (bench/search; `with_candidates` makes its configurations): on a GPU
        # machine the first GPU only, else the CPU; every pipeline; batches from the tutorial's
        # 4 up (large ones on the device pipeline only); workers 0, 2 and more; threads with them.
        return Grid(
            preset=preset, devices=tuple(cuda_devices[:1]) or ("cpu",), models=("tutorial",),
            batch_sizes=(4, 32, 128, 512, 2_048, 16_384) if cuda_devices else (4, 32, 128, 512),
            workers=worker_counts(cores, 3), loaders=LOADERS, transforms=("tutorial",), epoch_images=FULL_EPOCH_IMAGES,
            loader_round_images=2_048, step_round_seconds=0.05, rounds=3, epoch_rounds=2, eval_images=2_048,
            epoch_round_seconds=1.0, max_cpu_batch_size=512, device_pipeline_only_from_batch_size=2_048,
            world_sizes={"cpu": (), "cuda": ()}, repeats=1, budget_seconds=DEFAULT_BUDGET_SECONDS,
            converge_max_epochs=6, converge_max_seconds=None, converge_eval_images=5_000, seeds=1,
        )
    if preset == "smoke":
        # Every group once on the first GPU: the tutorial's own settings (batch 4, 2 workers,
        # PIL) and the device pipeline at a batch large enough for 1M images/s on an H100/H200,
        # plus the CPU baseline of the tutorial's settings. Sized to fit a short GPU lease.
        return Grid(
            preset=preset, devices=devices, models=("tutorial",), batch_sizes=(4, 16_384),
            workers=(0, 2), loaders=("pil", "device"), transforms=("tutorial",), epoch_images=FULL_EPOCH_IMAGES,
            loader_round_images=2_048, step_round_seconds=0.05, rounds=3, epoch_rounds=2,
            eval_images=2_048, epoch_round_seconds=1.0, max_cpu_batch_size=4,
            device_pipeline_only_from_batch_size=1_024, world_sizes={"cpu": (), "cuda": (1,)},
            ddp_rank_images=4_096, repeats=2, converge_max_epochs=10, converge_max_seconds=60.0, seeds=1,
            **compiling,
        )
    if preset == "quick":
        # converge: the tutorial's settings reach 50% in two epochs, 99 s on a 2-core VM (PIL, batch
        # 4, 2 workers: about 1,000 images/s there); 200 s leaves room for a slower machine.
        return Grid(
            preset=preset, devices=devices, models=("tutorial",), batch_sizes=(4, 128),
            workers=worker_counts(cores, 2), loaders=LOADERS, transforms=("tutorial",),
            epoch_images=FULL_EPOCH_IMAGES, loader_round_images=2_048, step_round_seconds=0.05, rounds=3,
            epoch_rounds=2, eval_images=2_048, pin_memory=(False,), amp=amp, epoch_round_seconds=1.0,
            world_sizes=world_sizes(cuda_devices), ddp_rank_images=1_024, repeats=2, converge_max_epochs=4,
            converge_max_seconds=200.0, converge_eval_images=5_000, seeds=1, **compiling,
        )
    if preset == "standard":
        return Grid(
            preset=preset, devices=devices, models=("tutorial", "resnet18"),
            batch_sizes=(4, 32, 512, 4096), workers=worker_counts(cores, 3), loaders=LOADERS,
            transforms=TRANSFORMS, epoch_images=FULL_EPOCH_IMAGES, loader_round_images=8_192,
            step_round_seconds=0.1, rounds=5, epoch_rounds=3, pin_memory=pin_memory, amp=amp,
            channels_last=channels_last, eval_images=5_000, epoch_round_seconds=1.5,
            max_cpu_batch_size=512, world_sizes=world_sizes(cuda_devices), ddp_batch_sizes=(32, 128),
            ddp_loaders=("tensor", "device") if cuda_devices else ("tensor",), ddp_rank_images=8_192,
            repeats=3, converge_max_epochs=10, converge_max_seconds=600.0, seeds=3, converge_policy="per_batch",
            **compiling,
        )
    return Grid(
        preset=preset, devices=devices, models=tuple(MODELS),
        batch_sizes=(4, 16, 64, 256, 1024, 4096), workers=worker_counts(cores, 5),
        loaders=LOADERS, transforms=TRANSFORMS, epoch_images=FULL_EPOCH_IMAGES, loader_round_images=16_384,
        step_round_seconds=0.2, rounds=7, epoch_rounds=3, pin_memory=pin_memory, amp=amp,
        channels_last=channels_last, world_sizes=world_sizes(cuda_devices), ddp_batch_sizes=(32, 128, 512),
        ddp_loaders=("tensor", "device"), ddp_scalings=("weak", "strong"), ddp_rank_images=16_384,
        repeats=3, converge_max_epochs=20, converge_max_seconds=1_200.0, seeds=3, converge_policy="per_batch",
        **compiling,
    )


def compile_axes(devices, preset: str) -> tuple[dict[str, tuple[str, ...]], CompileTrim | None]:
    """The `compile` values per device, and where the preset runs the compiled ones.

    A cold compile of the tutorial's train step takes about 15 s on a 2-core CPU, so the small
    presets compile one train-step case: `smoke` on the first GPU at its large batch (the
    anchor's configuration), none on the CPU; `quick` on the CPU at batch 128. `standard`
    compiles with the default mode everywhere, epochs on the device pipeline only (the
    fastest input, where the compute shows); `full` adds max-autotune on CUDA, everywhere.
    """
    cuda_devices = [device for device in devices if device.startswith("cuda")]
    compiled = (EAGER, "default")
    if preset == "smoke":
        return {device: compiled for device in cuda_devices[:1]}, CompileTrim(
            groups=("train_step",), batch_sizes=(16_384,), variants=False)
    if preset == "quick":
        return {"cpu": compiled} if "cpu" in devices else {}, CompileTrim(
            groups=("train_step",), batch_sizes=(128,), variants=False)
    if preset == "standard":
        return {device: compiled for device in devices}, CompileTrim(epoch_loaders=("device",))
    return {device: (*compiled, "max-autotune") if device in cuda_devices else compiled for device in devices}, None


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


def grid_from_options(preset: str, devices: str | None = None, models: str | None = None,
                      batch_sizes: str | None = None, workers: str | None = None,
                      loaders: str | None = None, transforms: str | None = None,
                      epoch_images: int | None = None, world_sizes: str | None = None,
                      compile_modes: str | None = None, threads: str | None = None,
                      default_threads: int | None = None, repeats: int | None = None,
                      budget_seconds: float | None = None, seeds: int | None = None) -> Grid:
    """The preset's grid with the axes given on the command line put in place.

    Named devices must exist on this machine (GridError otherwise). `default_threads`: torch's
    threads for the sweep (default: the usable cores); `threads`: the threads axis, e.g. "1,2,4"
    (one value also sets the sweep's threads); `repeats`: --bench-repeats; `budget_seconds`:
    --bench-budget (the auto preset's wall-clock budget).
    """
    grid = default_grid(preset)
    thread_axis = parse_list("--bench-threads", threads, kind=int)
    if thread_axis and 0 in thread_axis:
        raise GridError("--bench-threads: thread counts must be at least 1")
    if thread_axis and len(thread_axis) == 1:
        default_threads = thread_axis[0]
    grid = replace(grid, default_threads=default_threads or usable_cores(),
                   threads=thread_axis if thread_axis and len(thread_axis) > 1 else ())
    if repeats is not None:
        if repeats < 1:
            raise GridError(f"--bench-repeats: {repeats} must be at least 1")
        grid = replace(grid, repeats=repeats)
    overrides = {
        "devices": parse_devices(devices),
        "models": parse_list("--bench-models", models, tuple(MODELS)),
        "batch_sizes": parse_list("--bench-batch-sizes", batch_sizes, kind=int),
        "workers": parse_list("--bench-workers", workers, kind=int),
        "loaders": parse_list("--bench-loaders", loaders, LOADERS),
        "transforms": parse_list("--bench-transforms", transforms, TRANSFORMS),
        "compile_modes": parse_list("--bench-compile", compile_modes, COMPILE_MODES),
    }
    if overrides["batch_sizes"] and 0 in overrides["batch_sizes"]:
        raise GridError("--bench-batch-sizes: batch sizes must be at least 1")
    explicit = frozenset(name for name, value in overrides.items() if value is not None) | (
        {"threads"} if thread_axis else set())
    changes: dict = {name: value for name, value in overrides.items()
                     if value is not None and name != "compile_modes"}
    if epoch_images is not None:
        if epoch_images < 1:
            raise GridError(f"--bench-epoch-images: {epoch_images} must be at least 1")
        changes["epoch_images"] = epoch_images
        changes["epoch_round_seconds"] = None  # asked for exactly: fixed work, no sizing
    grid = replace(grid, explicit=explicit, **changes)
    # The ddp group follows the batch sizes and pipelines asked for; world sizes apply to every device type.
    grid = replace(grid, ddp_batch_sizes=overrides["batch_sizes"] or grid.ddp_batch_sizes,
                   ddp_loaders=overrides["loaders"] or grid.ddp_loaders)
    sizes = parse_list("--bench-world-sizes", world_sizes, kind=int)
    if sizes:
        if 0 in sizes:
            raise GridError("--bench-world-sizes: world sizes must be at least 1")
        grid = replace(grid, world_sizes={device: sizes for device in grid.world_sizes})
    if overrides["devices"]:
        check_devices(grid.devices)
        # Axes that depend on the device follow the devices asked for.
        amp, channels_last = device_axes(grid.devices)
        if grid.preset in ("smoke", "quick"):
            channels_last = {}
        has_cuda = any(device.startswith("cuda") for device in grid.devices)
        grid = replace(grid, amp=amp, channels_last=channels_last,
                       pin_memory=grid.pin_memory if has_cuda else (False,),
                       compile_modes=compile_axes(grid.devices, grid.preset)[0])
    if overrides["compile_modes"]:
        # Named modes run on every device, in every train_step and epoch case.
        grid = replace(grid, compile_modes={device: overrides["compile_modes"] for device in grid.devices})
    if seeds is not None:
        if seeds < 1:
            raise GridError(f"--bench-seeds: {seeds} must be at least 1")
        grid = replace(grid, seeds=seeds)
    if budget_seconds is not None:
        if not budget_seconds > 0:
            raise GridError(f"--bench-budget: {budget_seconds:g} must be a positive number of seconds")
        grid = replace(grid, budget_seconds=budget_seconds)
    return with_candidates(grid) if grid.preset == "auto" else grid


def with_candidates(grid: Grid) -> Grid:
    """The auto preset's grid with its search's epoch configurations and the reference (bench/search).

    Per device, every possible combination of its axes (the preset's trims applied: the CPU's
    batch cap, large batches on the device pipeline only), torch's threads tried with the
    workers (`threads_for`). The reference is the tutorial's settings on the first device.
    """
    from bench.search import build_candidates

    cases: dict[tuple, dict] = {}
    reference = None
    for device in grid.devices:
        batch_sizes = [size for size in grid.batch_sizes if not grid._trimmed({"batch_size": size, "loader": "pil"},
                                                                                 device)]
        large = [size for size in grid.batch_sizes if size not in batch_sizes
                 and not grid._trimmed({"batch_size": size, "loader": "device"}, device)]
        sets = [({"batch_size": batch_sizes, "loader": grid.loaders}, True),
                ({"batch_size": large, "loader": ("device",)}, False)]
        for axes, with_reference in sets:
            if not axes["batch_size"]:
                continue
            found = build_candidates({"device": (device,), "loader": tuple(axes["loader"]),
                                      "batch_size": tuple(axes["batch_size"]), "num_workers": grid.workers},
                                     cores=grid.default_threads)
            for candidate in found.candidates:
                if candidate == found.reference and not with_reference:
                    continue
                case = _epoch_case(grid, candidate.as_dict())
                cases[tuple(case.items())] = case
            if with_reference and reference is None:
                reference = _epoch_case(grid, found.reference.as_dict())
    return replace(grid, candidates=tuple(cases.values()), reference=reference)


def _epoch_case(grid: Grid, settings: dict) -> dict:
    """An epoch case (GROUP_AXES["epoch"]) from a candidate's settings; torch's default threads where None."""
    threads = settings.get("threads") or grid.default_threads
    case = {"model": grid.models[0], "device": settings["device"], "loader": settings["loader"],
            "transform": grid.transforms[0], "batch_size": settings["batch_size"],
            "num_workers": settings["num_workers"], "threads": threads, "compile": EAGER}
    return {axis: case[axis] for axis in GROUP_AXES["epoch"]}


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
        elif axis == "threads":
            parts.append(f"t{value}")
        elif axis == "compile":
            parts.append(COMPILE_IDS.get(value, f"compiled_{value}"))
        else:
            parts.append(str(value))
    return "-".join(parts)
