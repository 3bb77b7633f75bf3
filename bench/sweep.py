"""What the benchmark cases share during one sweep: the grid, the data, devices and records.

One `Sweep` per pytest session (the `sweep` fixture). It loads the data set once, hands
each case its device (or skips the case with the reason), starts the utilization sampler
around the timed rounds, and writes the facts every case records into `extra_info`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pytest
import torch

from bench.compile import Recompiles
from bench.data import Cifar10, load_cifar10
from bench.grid import Grid
from bench.sampling import Sampler, images_per_joule
from bench.timing import synchronize, timed_rounds, warm_up
from bench.trust import Trust, assess

FULL_EPOCH_IMAGES = 50_000
CPU_OUT_OF_MEMORY_MARKERS = ("DefaultCPUAllocator: can't allocate memory", "DefaultCPUAllocator: not enough memory")


@dataclass
class Sweep:
    grid: Grid
    data_dir: Path | None = None
    download: bool = False
    sample_interval_s: float = 0.1
    cpu_threads: int = 1
    seed: int = 0
    phases: bool = True  # split every timed epoch's steps into phases (bench/phases.py)
    trace_dir: Path | None = None  # --bench-trace: profiler traces of epoch cases go here
    outcomes: list[dict] = field(default_factory=list)

    @cached_property
    def data(self) -> Cifar10:
        """The data set, loaded (or built) on first use, once per sweep."""
        return load_cifar10(self.data_dir, download=self.download, seed=self.seed)

    @property
    def data_source(self) -> str:
        """"synthetic", or the real data set's directory."""
        return self.data.source

    def require(self, device: str) -> torch.device:
        """The torch device for a case, or a skip saying why this machine has none."""
        parsed = torch.device(device)
        if parsed.type == "cuda":
            if not torch.cuda.is_available():
                pytest.skip(f"{device}: CUDA is not available on this machine")
            index = parsed.index or 0
            if index >= torch.cuda.device_count():
                pytest.skip(f"{device}: this machine has {torch.cuda.device_count()} CUDA device(s)")
            return torch.device("cuda", index)
        return parsed

    def accelerator(self) -> torch.device:
        """Where the `device` input pipeline keeps the data set in `loader` cases."""
        for device in self.grid.devices:
            if device.startswith("cuda") and torch.cuda.is_available():
                return self.require(device)
        return torch.device("cpu")

    @contextlib.contextmanager
    def device_errors(self, device: torch.device, what: str):
        """Turn running out of device memory into a skip with its reason; the sweep goes on."""
        try:
            yield
        except (torch.OutOfMemoryError, MemoryError) as error:
            self._skip_out_of_memory(device, what, error)
        except RuntimeError as error:
            # The CPU allocator raises a plain RuntimeError ("DefaultCPUAllocator: can't
            # allocate memory"): the same situation as CUDA's OutOfMemoryError.
            if not any(marker in str(error) for marker in CPU_OUT_OF_MEMORY_MARKERS):
                raise
            self._skip_out_of_memory(device, what, error)

    @staticmethod
    def _skip_out_of_memory(device: torch.device, what: str, error: BaseException):
        if device.type == "cuda":
            torch.cuda.empty_cache()
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        pytest.skip(f"out of memory on {device} for {what}: {first_line}")

    def measure(self, benchmark, work, device: torch.device | str, rounds: int,
                warmup_rounds: int | None = None, recompiles: Recompiles | None = None) -> Sampler | None:
        """Warm up, then time `rounds` rounds of `work` with the sampler running.

        The sampler covers the timed rounds only; peak memory is counted over them too, and
        so are dynamo's compiles when `recompiles` is given (a compiled case).
        Under --benchmark-disable the work runs once, untimed, and there is no sampler.
        """
        device = torch.device(device)
        if benchmark.disabled:
            # --benchmark-disable: a smoke run. The work runs once (pytest-benchmark calls the
            # target once and keeps no stats); nothing is warmed up, sampled or recorded.
            timed_rounds(benchmark, work, device, rounds=1)
            return None
        warm_up(work, device, self.grid.warmup_rounds if warmup_rounds is None else warmup_rounds)
        gpu_indices = [device.index or 0] if device.type == "cuda" else []
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        with (Sampler(interval_s=self.sample_interval_s, gpu_indices=gpu_indices) as sampler,
              recompiles or contextlib.nullcontext()):
            timed_rounds(benchmark, work, device, rounds)
        synchronize(device)  # host-device sync point (already idle: timed_rounds ends synced)
        return sampler

    def record(self, benchmark, sampler: Sampler | None, device: torch.device | None,
               images_per_round: float, flops_per_image: float | None = None,
               projected_batches: int | None = None, **facts) -> None:
        """Write the case's measured facts into `benchmark.extra_info`.

        `images_per_sec` comes from the median round, like the headline of the table.
        `projected_batches`: batches per round of an epoch projected to a full one (for trust).
        Under --benchmark-disable nothing was measured, and nothing is recorded.
        """
        if benchmark.disabled:
            return
        median_seconds = benchmark.stats.stats.median
        images_per_sec = images_per_round / median_seconds
        info = benchmark.extra_info
        info["images_per_round"] = images_per_round
        info["median_round_seconds"] = median_seconds
        info["images_per_sec"] = images_per_sec
        info["cpu_threads"] = self.cpu_threads
        info["warmup_rounds"] = self.grid.warmup_rounds
        if flops_per_image is not None:
            info["flops_per_image"] = flops_per_image
            info["achieved_tflops"] = flops_per_image * images_per_sec / 1e12
        if device is not None:
            info["device_name"] = (torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu")
            if device.type == "cuda":
                info["peak_mem_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
        if sampler is not None:
            sampled = sampler.result()
            info["utilization"] = sampled.summary
            info["timeline"] = sampled.timeline
            info["sampler"] = sampled.facts.to_json()
            info["throttle_reasons"] = list(sampled.throttle_reasons)
            if sampled.gpm:
                info["gpm"] = sampled.gpm_json()
            energy_j = sampled.energy_j
            if energy_j is not None:
                rounds = len(benchmark.stats.stats.data)
                info["energy_j"] = energy_j
                info["energy_j_per_round"] = energy_j / rounds
                info["images_per_joule"] = images_per_joule(images_per_round * rounds, energy_j)
        info.update(facts)
        summary = info.get("utilization", {})
        resolution_pct = sampled.other_cpu_resolution_pct if sampler is not None else None
        info["trust"] = self.trust(benchmark, summary, images_per_round, projected_batches,
                                   resolution_pct).as_dict()

    @staticmethod
    def trust(benchmark, utilization: dict, images_per_round: float, projected_batches: int | None,
              other_cpu_resolution_pct: float | None = None) -> Trust:
        """The case's trust verdict from its rounds and what the sampler saw during them."""
        round_seconds = list(benchmark.stats.stats.data)
        other = utilization.get("other_cpu_pct", {}).get("mean")
        throttle = benchmark.extra_info.get("throttle_reasons", [])
        return assess(round_seconds, other, images_timed=images_per_round * len(round_seconds),
                      throttle_reasons=throttle, projected_batches=projected_batches,
                      recompiles=benchmark.extra_info.get("recompiles") or 0,
                      other_cpu_resolution_pct=other_cpu_resolution_pct,
                      steal_cpu_pct=utilization.get("steal_cpu_pct", {}).get("mean"))

    @staticmethod
    def rounds_done(benchmark) -> int:
        """Timed rounds the case ran: its stats' rounds, or the one untimed run of a smoke run."""
        return 1 if benchmark.disabled else len(benchmark.stats.stats.data)
