"""Data-parallel training on torch.distributed: the ranks' timed rounds, their launch, and gathering.

One process per device, launched by torchrun's engine (`torch.distributed.launcher.api.elastic_launch`,
the agent behind `torchrun`), the model wrapped in DistributedDataParallel, NCCL between GPUs and
gloo between CPU processes. PyTorch's benchmarks/distributed/ddp/benchmark.py is the model: weak
scaling at a fixed batch per rank, "no DDP" against "DDP on one device", per-rank times gathered.

How a round is timed (the parent process cannot see the ranks' work, so the ranks time it):

    all ranks: all-reduce a flag (+ device sync)     <- every rank starts together
      start = perf_counter()
      one epoch of `images_per_rank` from its shard (DistributedSampler, or the device pipeline sharded)
      device sync; busy = perf_counter() - start       <- this rank's own work (stragglers show here)
    all ranks: all-reduce a flag (+ device sync)      <- every rank ends together
      seconds = perf_counter() - start

Rank 0 gathers every rank's seconds; `summarize` takes, per round, the slowest rank's seconds as
the round's time (what pytest-benchmark gets, `record_rounds`).

Three ways in:
- `launch(spec, world_size)`: one node. Runs `python -m bench.distributed launch ...` in a new
  session; it calls `elastic_launch` (max_restarts=0) and writes rank 0's gathered results. A rank
  that dies fails the launch with that rank's error; a hang ends at the process group's timeout
  (collectives) or the launch deadline; the whole session is killed afterwards and checked empty.
- `python -m torch.distributed.run ... -m bench.distributed worker ...`: several nodes (c10d
  rendezvous); rank 0 writes one pytest-benchmark results file (docs/ddp.md).
- `run_rank(spec)`: the worker itself, under either launcher.

Fault injection, for the tests of the failure path: CIFARBENCH_DDP_FAULT="kill:1" (rank 1 kills
itself with SIGKILL), "hang:1" (sleeps) or "raise:1" (raises), at the start of its first timed round.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import psutil
import torch
import torch.distributed as dist
from torch import nn

FAULT_ENV = "CIFARBENCH_DDP_FAULT"
# A collective that waits longer than this fails its rank (gloo and NCCL both honour it): a hung
# peer becomes an error, not a hung sweep.
DEFAULT_PG_TIMEOUT_S = 300.0
# The whole launch, start-up included: the last resort for a hang outside any collective.
DEFAULT_LAUNCH_TIMEOUT_S = 1800.0
# All-reduce message sizes for the bus bandwidth: a small (latency-bound) and a large one.
BUSBW_BYTES = {"cpu": (2**18, 2**22), "cuda": (2**20, 2**26)}
ROOT = Path(__file__).resolve().parent.parent


class LaunchError(RuntimeError):
    """A data-parallel run failed: the message names the rank and its error."""


@dataclass(frozen=True)
class RunSpec:
    """One data-parallel case, as every rank runs it."""

    model: str
    device: str  # "cpu" (gloo) or "cuda" (NCCL, rank r on cuda:<local rank>)
    loader: str  # pil, tensor, device (see bench.data)
    batch_size: int  # per rank (weak scaling) or for all ranks together (strong scaling)
    images: int  # per rank and round (weak), or for all ranks together per round (strong)
    scaling: str = "weak"
    rounds: int = 3
    warmup_rounds: int = 1
    seed: int = 0
    data_dir: str | None = None  # real CIFAR-10; None: the synthetic data set
    threads_per_rank: int | None = None  # default: the usable cores // ranks on this node, at least 1
    num_workers: int | None = None  # DataLoader workers per rank; default 0 on CPUs
    pg_timeout_s: float = DEFAULT_PG_TIMEOUT_S
    comm_steps: int = 5  # steps timed with and without the gradient all-reduce
    busbw_iterations: int = 5
    no_ddp_baseline: bool = True  # on one rank, also time the bare model (no DDP wrapper)

    def __post_init__(self):
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"ddp device must be 'cpu' or 'cuda', not {self.device!r}")
        if self.scaling not in ("weak", "strong"):
            raise ValueError(f"scaling must be 'weak' or 'strong', not {self.scaling!r}")

    def rank_batch_size(self, world_size: int) -> int:
        return self.batch_size if self.scaling == "weak" else max(1, self.batch_size // world_size)

    def rank_images(self, world_size: int, shard_images: int) -> int:
        """Images each rank trains per round: whole batches, within its shard."""
        batch = self.rank_batch_size(world_size)
        wanted = self.images if self.scaling == "weak" else self.images // world_size
        batches = max(1, math.ceil(wanted / batch))
        return min(batches, max(1, shard_images // batch)) * batch

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> RunSpec:
        return cls(**json.loads(text))


# --- inside a rank ----------------------------------------------------------------------------


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _usable_cores() -> int:
    from bench.grid import usable_cores

    return usable_cores()


def _barrier(device: torch.device, group, timeout_s: float) -> None:
    """Every rank waits for every other, its device idle first.

    `monitored_barrier` (gloo) names the ranks that did not arrive within the timeout, so a
    hung rank fails the case with its own rank in the message, not as a peer's bare timeout.
    """
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # host-device sync point: this rank's work is done
    dist.monitored_barrier(group=group, timeout=timedelta(seconds=timeout_s), wait_all_ranks=True)


def _inject_fault(rank: int) -> None:
    text = os.environ.get(FAULT_ENV)
    if not text:
        return
    kind, _, target = text.partition(":")
    if int(target or -1) != rank:
        return
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif kind == "hang":
        time.sleep(10**6)
    elif kind == "raise":
        raise RuntimeError(f"injected fault on rank {rank} ({FAULT_ENV}={text})")
    else:
        raise ValueError(f"{FAULT_ENV}={text!r}: use kill:RANK, hang:RANK or raise:RANK")


def _rank_batches(spec: RunSpec, split, device: torch.device, rank: int, world_size: int,
                  num_workers: int):
    """This rank's batches of `split` and the DistributedSampler to re-seed each round (or None).

    `pil` and `tensor`: a DistributedSampler over the whole split (every rank the same data, each
    its own share). `device`: the rank's slice of the split resident on its device, shuffled there.
    """
    from torch.utils.data import BatchSampler, DataLoader, DistributedSampler

    from bench.data import ArrayCIFAR10, DeviceBatches, Split, TensorBatches, pil_transform

    batch_size = spec.rank_batch_size(world_size)
    pin_memory = device.type == "cuda"
    if spec.loader == "device":
        shard = Split(split.images[rank::world_size], split.labels[rank::world_size])
        return DeviceBatches(shard, "tutorial", batch_size, device, seed=spec.seed + rank), None, len(shard.labels)
    if spec.loader == "pil":
        dataset = ArrayCIFAR10(split, transform=pil_transform("tutorial"))
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=spec.seed)
        batches = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                             pin_memory=pin_memory, persistent_workers=num_workers > 0)
        return batches, sampler, len(sampler)
    if spec.loader == "tensor":
        dataset = TensorBatches(split, "tutorial")
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=spec.seed)
        # batch_size=None: each item of TensorBatches already is a batch.
        batches = DataLoader(dataset, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last=False),
                             num_workers=num_workers, pin_memory=pin_memory, persistent_workers=num_workers > 0)
        return batches, sampler, len(sampler)
    raise ValueError(f"unknown loader {spec.loader!r}")


def _seconds_per_step(model: nn.Module, optimizer, images, labels, steps: int, device: torch.device,
                      context=contextlib.nullcontext) -> float:
    from bench.workload import train_step

    criterion = nn.CrossEntropyLoss()
    with context():
        train_step(model, optimizer, criterion, images, labels)  # warm
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # host-device sync point
    started = time.perf_counter()
    for _ in range(steps):
        with context():
            train_step(model, optimizer, criterion, images, labels)
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # host-device sync point
    return (time.perf_counter() - started) / steps


def _allreduce_seconds(size_bytes: int, device: torch.device, iterations: int) -> float:
    """Mean seconds of one all-reduce of `size_bytes` of float32, all ranks started together."""
    tensor = torch.ones(size_bytes // 4, dtype=torch.float32, device=device)
    dist.all_reduce(tensor)  # warm: connections, buffers
    dist.all_reduce(torch.zeros(1, device=device))  # start together
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # host-device sync point
    started = time.perf_counter()
    for _ in range(iterations):
        dist.all_reduce(tensor)
    if device.type == "cuda":
        torch.cuda.synchronize(device)  # host-device sync point
    return (time.perf_counter() - started) / iterations


def _timed_epochs(model: nn.Module, optimizer, batches, sampler, rank_images: int, device: torch.device,
                  spec: RunSpec, barrier=None, before_timed=None) -> dict[str, list]:
    """Warm-up, then `spec.rounds` timed epochs of `rank_images`; per round: seconds, busy seconds, images, loss.

    With `barrier`, every round opens and closes with all ranks together: `busy_seconds` is this
    rank's own work, `round_seconds` lasts until the slowest rank is done.
    """
    from bench.workload import train_epoch

    timed: dict[str, list] = {"round_seconds": [], "busy_seconds": [], "round_images": [], "train_loss": []}
    for round_index in range(spec.warmup_rounds + spec.rounds):
        if sampler is not None:
            sampler.set_epoch(round_index)  # a fresh shuffle of the same shards
        if round_index == spec.warmup_rounds and before_timed is not None:
            before_timed()
        if barrier is not None:
            barrier()  # every rank starts the round together
        started = time.perf_counter()
        result = train_epoch(model, optimizer, batches, device, max_images=rank_images)  # ends with .item()
        if device.type == "cuda":
            torch.cuda.synchronize(device)  # host-device sync point
        busy = time.perf_counter() - started
        if barrier is not None:
            barrier()  # ... and ends it together
        if round_index >= spec.warmup_rounds:
            timed["round_seconds"].append(time.perf_counter() - started)
            timed["busy_seconds"].append(busy)
            timed["round_images"].append(result.images)
            timed["train_loss"].append(result.loss_mean)
    return timed


def run_rank(spec: RunSpec) -> list[dict] | None:
    """One rank's part of a case; rank 0 returns every rank's measurements, the others None.

    Reads RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE as torchrun and elastic_launch set them.
    """
    from torch.nn.parallel import DistributedDataParallel

    from bench.data import load_cifar10
    from bench.workload import make_optimizer, prepare_model
    from models import get_model

    rank, world_size = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1)
    local_rank, local_world_size = _env_int("LOCAL_RANK", 0), _env_int("LOCAL_WORLD_SIZE", 1)
    threads = spec.threads_per_rank or max(1, _usable_cores() // local_world_size)
    torch.set_num_threads(threads)
    if spec.device == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        device = torch.device("cpu")
        backend = "gloo"
    num_workers = spec.num_workers
    if num_workers is None:  # CPU ranks share the cores already; a GPU rank's loader gets its spare cores
        num_workers = 0 if spec.device == "cpu" or spec.loader == "device" else min(4, max(0, threads - 1))
    # No try/finally around the work: on an error this rank must record it and exit before its
    # peers notice, so that the launch reports the cause (this rank), not the symptom (theirs);
    # destroying the process group first would let them fail first.
    dist.init_process_group(backend, timeout=timedelta(seconds=spec.pg_timeout_s))
    # gloo for the round barriers: monitored_barrier names a missing rank (NCCL has no such barrier).
    barrier_group = dist.new_group(backend="gloo") if backend == "nccl" else dist.group.WORLD
    data = load_cifar10(Path(spec.data_dir) if spec.data_dir else None, seed=spec.seed)
    batches, sampler, shard_images = _rank_batches(spec, data.train, device, rank, world_size, num_workers)
    rank_images = spec.rank_images(world_size, shard_images)
    torch.manual_seed(spec.seed)  # the same initial weights everywhere (DDP broadcasts rank 0's anyway)
    net = prepare_model(get_model(spec.model), device)
    model = DistributedDataParallel(net, device_ids=[local_rank] if device.type == "cuda" else None)
    optimizer = make_optimizer(model)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    timed = _timed_epochs(model, optimizer, batches, sampler, rank_images, device, spec,
                          barrier=partial(_barrier, device, barrier_group, spec.pg_timeout_s),
                          before_timed=partial(_inject_fault, rank))
    # The gradient all-reduce's share of a step: steps with it against steps without it
    # (DDP's no_sync skips the all-reduce). What is left is the communication that backward
    # does not hide. Ranks stop agreeing on weights here, which no longer matters.
    fixed_images, fixed_labels = next(iter(batches))
    fixed_images, fixed_labels = fixed_images.to(device), fixed_labels.to(device)
    synced_step_seconds = _seconds_per_step(model, optimizer, fixed_images, fixed_labels,
                                            spec.comm_steps, device)
    local_step_seconds = _seconds_per_step(model, optimizer, fixed_images, fixed_labels,
                                           spec.comm_steps, device, model.no_sync)
    busbw_seconds = {}
    if world_size > 1:
        for size_bytes in BUSBW_BYTES[device.type]:
            busbw_seconds[str(size_bytes)] = _allreduce_seconds(size_bytes, device, spec.busbw_iterations)
    peak_mem_mib = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None

    bare_timed = {"round_seconds": [], "round_images": []}
    if world_size == 1 and spec.no_ddp_baseline:
        # "no DDP" against "DDP on one device": the same epochs on the bare model.
        torch.manual_seed(spec.seed)
        bare = prepare_model(get_model(spec.model), device)
        bare_timed = _timed_epochs(bare, make_optimizer(bare), batches, sampler, rank_images, device, spec)

    mine = {
        "rank": rank, "local_rank": local_rank, "host": socket.gethostname(), "pid": os.getpid(),
        "device": str(device), "backend": backend, "threads": threads, "num_workers": num_workers,
        "batch_size": spec.rank_batch_size(world_size), **timed,
        "synced_step_seconds": synced_step_seconds, "local_step_seconds": local_step_seconds,
        "allreduce_seconds": busbw_seconds, "peak_mem_mib": peak_mem_mib,
        "no_ddp_round_seconds": bare_timed["round_seconds"], "no_ddp_round_images": bare_timed["round_images"],
        "group_world_size": _env_int("GROUP_WORLD_SIZE", max(1, world_size // local_world_size)),
    }
    gathered = [None] * world_size if rank == 0 else None
    dist.gather_object(mine, gathered, dst=0)
    dist.destroy_process_group()
    return gathered


# --- gathering --------------------------------------------------------------------------------


def summarize(ranks: list[dict], spec: RunSpec) -> dict:
    """The case's facts from every rank's measurements (see docs/ddp.md for every key and unit).

    `round_seconds` (per round, the slowest rank's) is what pytest-benchmark times; the rest goes
    into `extra_info`.
    """
    ranks = sorted(ranks, key=lambda rank: rank["rank"])
    world_size = len(ranks)
    rounds = min(len(rank["round_seconds"]) for rank in ranks)
    round_seconds = [max(rank["round_seconds"][index] for rank in ranks) for index in range(rounds)]
    images_per_round = sum(statistics.median(rank["round_images"]) for rank in ranks)
    rank_images_per_sec = [statistics.median(rank["round_images"]) / statistics.median(rank["round_seconds"])
                           for rank in ranks]
    rank_busy = [statistics.median(rank["busy_seconds"]) for rank in ranks]
    rank_allreduce_share = [max(0.0, 1.0 - rank["local_step_seconds"] / rank["synced_step_seconds"])
                            for rank in ranks]
    busbw = {}
    for size in ranks[0]["allreduce_seconds"]:
        # nccl-tests: algbw = size / time; busbw = algbw * 2(n-1)/n, the slowest rank's time.
        seconds = max(rank["allreduce_seconds"][size] for rank in ranks)
        busbw[size] = int(size) / seconds * 2 * (world_size - 1) / world_size / 1e9
    facts = {
        "world_size": world_size,
        "nnodes": ranks[0]["group_world_size"],
        "backend": ranks[0]["backend"],
        "scaling": spec.scaling,
        "rank_batch_size": ranks[0]["batch_size"],
        "global_batch_size": sum(rank["batch_size"] for rank in ranks),
        "rank_images_per_round": statistics.median(ranks[0]["round_images"]),
        "timed_rounds": rounds,
        "round_seconds_from": "slowest rank",
        "rank_images_per_sec": rank_images_per_sec,
        "rank_round_seconds": [rank["round_seconds"][:rounds] for rank in ranks],
        "rank_busy_seconds": rank_busy,
        "straggler_ratio": max(rank_busy) / statistics.median(rank_busy),
        "rank_allreduce_share": rank_allreduce_share,
        "allreduce_share": statistics.median(rank_allreduce_share),
        "allreduce_busbw_gb_per_s": busbw,
        "threads_per_rank": ranks[0]["threads"],
        "num_workers": ranks[0]["num_workers"],
        "rank_hosts": [rank["host"] for rank in ranks],
        "rank_devices": [rank["device"] for rank in ranks],
        "train_loss": statistics.mean(rank["train_loss"][-1] for rank in ranks),
        "transform": "tutorial",
    }
    if ranks[0]["peak_mem_mib"] is not None:
        facts["rank_peak_mem_mib"] = [rank["peak_mem_mib"] for rank in ranks]
    if ranks[0]["no_ddp_round_seconds"]:
        facts["no_ddp_images_per_sec"] = (statistics.median(ranks[0]["no_ddp_round_images"])
                                          / statistics.median(ranks[0]["no_ddp_round_seconds"]))
    return {"round_seconds": round_seconds, "images_per_round": images_per_round, "facts": facts}


def record_rounds(benchmark, round_seconds: list[float]) -> None:
    """Give pytest-benchmark rounds timed elsewhere (here: by the ranks), as if it had timed them.

    pytest-benchmark has no public call for this (ionelmc/pytest-benchmark issue 52); this is the
    workaround its maintainers' issue shows, and what `pedantic` itself does: make the stats once
    (iterations=1), then one `update` per round. `stats.data` then holds the ranks' round seconds.
    """
    if benchmark.disabled:
        return
    benchmark._mode = "cifarbench: rounds timed by the ranks"  # a second use raises FixtureAlreadyUsed
    stats = benchmark._make_stats(1)
    for seconds in round_seconds:
        stats.update(seconds)


# --- launching on one node --------------------------------------------------------------------


def session_processes(session_id: int) -> list[psutil.Process]:
    """Live (non-zombie) processes of a session: a launch's leftovers, even once re-parented."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) == session_id and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return found


def _end_session(session_id: int, grace_s: float = 10.0) -> list[psutil.Process]:
    """Kill what is left of a launch's session; the processes still alive after `grace_s`."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session_id, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while (left := session_processes(session_id)) and time.monotonic() < deadline:
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()
        time.sleep(0.1)
    return left


def launch(spec: RunSpec, world_size: int, timeout_s: float = DEFAULT_LAUNCH_TIMEOUT_S) -> list[dict]:
    """Run `spec` on `world_size` ranks on this machine; every rank's measurements, by rank.

    The agent (`elastic_launch`) runs in a child process in a session of its own, so that
    whatever happens, killing that session leaves nothing running. Raises `LaunchError` naming
    the failed rank and its error, or the deadline.
    """
    with tempfile.TemporaryDirectory(prefix="cifarbench-ddp-") as folder:
        out, log = Path(folder) / "ranks.json", Path(folder) / "launch.log"
        command = [sys.executable, "-m", "bench.distributed", "launch", "--nproc", str(world_size),
                   "--spec", spec.to_json(), "--out", str(out)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        with open(log, "wb") as log_file:
            child = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
            try:
                child.wait(timeout=timeout_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                left = _end_session(child.pid)
                child.wait()
        tail = log.read_text(errors="replace")[-3000:]
        if left:
            raise LaunchError(f"processes left running after the launch: {[p.pid for p in left]}")
        if timed_out:
            raise LaunchError(f"ws{world_size}: the ranks did not finish within {timeout_s:.0f} s; killed\n{tail}")
        if not out.exists():
            raise LaunchError(f"ws{world_size}: the launcher exited with {child.returncode} and no result\n{tail}")
        result = json.loads(out.read_text())
    if "failures" in result:
        raise LaunchError(f"ws{world_size}: " + "; ".join(result["failures"]))
    return result["ranks"]


def _failure_lines(error) -> list[str]:
    """One line per failed rank of a ChildFailedError, the earliest first.

    The earliest is the cause: a rank that dies takes its peers' collectives down with it.
    Error files are ordered by when they were written (the failures' own timestamps are whole
    seconds); a rank killed by a signal writes none and counts from when the agent saw it.
    """

    def when(failure) -> float:
        with contextlib.suppress(OSError, TypeError):
            return os.path.getmtime(failure.error_file)
        return float(failure.timestamp)

    lines = []
    for rank, failure in sorted(error.failures.items(), key=lambda item: when(item[1])):
        how = (f"killed by {failure.signal_name()}" if failure.exitcode < 0
               else f"exited with code {failure.exitcode}")
        message = failure.message
        if isinstance(message, dict):  # a Python error recorded by the rank: {"message": ..., "extraInfo": ...}
            message = message.get("message", json.dumps(message))
        lines.append(f"rank {rank} (pid {failure.pid}) {how}: {str(message or '').strip()}")
    return lines


def _launch_main(spec: RunSpec, nproc: int, out: Path) -> int:
    """The child process of `launch`: elastic_launch on this node, rank 0's results to `out`."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
        rdzv_backend="c10d", rdzv_endpoint="127.0.0.1:0", local_addr="127.0.0.1",
        max_restarts=0, monitor_interval=0.1, start_method="spawn", shutdown_timeout=5,
    )
    try:
        results = elastic_launch(config, run_rank)(spec)
    except ChildFailedError as error:
        out.write_text(json.dumps({"failures": _failure_lines(error)}))
        return 1
    out.write_text(json.dumps({"ranks": results[0]}))
    return 0


# --- several nodes: torchrun runs `worker`, rank 0 writes the results file --------------------


def results_document(ranks: list[dict], spec: RunSpec, label: str | None, started: datetime,
                     measure_peak: bool = True) -> dict:
    """A pytest-benchmark results document holding one ddp case, as `pytest --benchmark` writes them."""
    import cpuinfo
    from pytest_benchmark import __version__ as pytest_benchmark_version
    from pytest_benchmark.plugin import pytest_benchmark_generate_machine_info
    from pytest_benchmark.stats import Stats

    from bench import machine
    from bench.grid import case_id
    from models import flops_per_image

    summary = summarize(ranks, spec)
    facts = summary["facts"]
    stats = Stats()
    for seconds in summary["round_seconds"]:
        stats.update(seconds)
    params = {"model": spec.model, "device": spec.device, "loader": spec.loader,
              "batch_size": spec.batch_size, "scaling": spec.scaling, "world_size": facts["world_size"]}
    name_id = case_id(params)
    images_per_sec = summary["images_per_round"] / stats.median
    extra_info = {
        "images_per_round": summary["images_per_round"], "median_round_seconds": stats.median,
        "images_per_sec": images_per_sec, "cpu_threads": facts["threads_per_rank"],
        "warmup_rounds": spec.warmup_rounds, "flops_per_image": flops_per_image(spec.model)["train"],
        "scaling_efficiency": None, "data_source": "synthetic" if spec.data_dir is None else spec.data_dir,
        **facts,
    }
    extra_info["achieved_tflops"] = extra_info["flops_per_image"] * images_per_sec / 1e12
    machine_info = pytest_benchmark_generate_machine_info()
    cpu = cpuinfo.get_cpu_info()
    machine_info["cpu"] = cpu
    nodes = facts["nnodes"]
    facts_machine = machine.collect(cpu, devices=[ranks[0]["device"]], label=label,
                                    threads=facts["threads_per_rank"], measure_peak=measure_peak)
    if label is None:
        facts_machine["label"] = f"{nodes}x{facts_machine['label']}"
    facts_machine["nnodes"] = nodes
    machine_info["cifarbench"] = facts_machine
    nodeid = f"bench/bench_ddp.py::bench_ddp[{name_id}]"
    benchmark = {
        "group": "ddp", "name": f"bench_ddp[{name_id}]", "fullname": nodeid, "params": params,
        "param": name_id, "extra_info": extra_info,
        "options": {"timer": "perf_counter in the ranks (slowest rank per round)", "rounds": spec.rounds},
        "stats": {**stats.as_dict(), "data": stats.data, "iterations": 1},
    }
    return {
        "machine_info": machine_info, "commit_info": {}, "benchmarks": [benchmark],
        "datetime": started.isoformat(), "version": pytest_benchmark_version,
        "cifarbench": {
            "preset": "ddp-multinode", "complete": True, "interrupted": False, "started": started.isoformat(),
            "data": extra_info["data_source"],
            "cases": [{"nodeid": nodeid, "group": "ddp", "params": params, "when": "call",
                       "outcome": "passed", "reason": None, "duration_s": None}],
        },
    }


def _worker_main(args) -> int:
    """Under torchrun: this rank's part; rank 0 writes the results file."""
    from bench.results import claim_results_path, write_atomically

    started = datetime.now(timezone.utc)
    spec = RunSpec(model=args.model, device=args.device, loader=args.loader, batch_size=args.batch_size,
                   images=args.images, scaling=args.scaling, rounds=args.rounds, warmup_rounds=args.warmup_rounds,
                   data_dir=args.data_dir, pg_timeout_s=args.pg_timeout, threads_per_rank=args.threads_per_rank)
    ranks = run_rank(spec)
    if ranks is not None:  # rank 0
        document = results_document(ranks, spec, args.label, started, measure_peak=not args.no_peak)
        path = claim_results_path(Path(args.results), document["machine_info"]["cifarbench"]["label"], started)
        write_atomically(path, document)
        print(f"results: {path}", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    launch_parser = commands.add_parser("launch", help="one node: elastic_launch (used by bench_ddp.py)")
    launch_parser.add_argument("--nproc", type=int, required=True)
    launch_parser.add_argument("--spec", required=True, help="a RunSpec as JSON")
    launch_parser.add_argument("--out", required=True)
    worker = commands.add_parser("worker", help="one rank, under torchrun; rank 0 writes the results file")
    defaults = {field.name: field.default for field in fields(RunSpec)}
    worker.add_argument("--model", default="tutorial")
    worker.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    worker.add_argument("--loader", default="tensor", choices=("pil", "tensor", "device"))
    worker.add_argument("--batch-size", type=int, default=128)
    worker.add_argument("--images", type=int, default=2048, help="images per rank and round (weak scaling)")
    worker.add_argument("--scaling", default="weak", choices=("weak", "strong"))
    worker.add_argument("--rounds", type=int, default=defaults["rounds"])
    worker.add_argument("--warmup-rounds", type=int, default=defaults["warmup_rounds"])
    worker.add_argument("--data-dir", default=os.environ.get("CIFAR10_ROOT"))
    worker.add_argument("--threads-per-rank", type=int,
                        help="torch threads per rank (default: the usable cores // ranks on this node)")
    worker.add_argument("--pg-timeout", type=float, default=DEFAULT_PG_TIMEOUT_S,
                        help="seconds a collective may wait for a peer")
    worker.add_argument("--label", help="the cluster's name in the results (default: <nodes>x<host label>)")
    worker.add_argument("--results", default="results", help="folder for the results file (rank 0)")
    worker.add_argument("--no-peak", action="store_true", help="skip the peak-matmul measurement")
    args = parser.parse_args(argv)
    if args.command == "launch":
        return _launch_main(RunSpec.from_json(args.spec), args.nproc, Path(args.out))
    return _worker_main(args)


if __name__ == "__main__":
    # Through the importable module, not __main__: spawned ranks unpickle `bench.distributed.run_rank`.
    from bench import distributed

    sys.exit(distributed.main())
