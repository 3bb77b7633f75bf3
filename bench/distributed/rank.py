"""Inside a rank: one rank's timed rounds, its communication measurements, gathered on rank 0.

`run_rank(spec)` is the worker under either launcher (elastic_launch or torchrun). It must stay
importable as `bench.distributed.rank.run_rank`: elastic_launch's spawned ranks unpickle it.

Fault injection, for the tests of the failure path: CIFARBENCH_DDP_FAULT="kill:1" (rank 1 kills
itself with SIGKILL), "hang:1" (sleeps) or "raise:1" (raises), at the start of its first timed round.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from bench.distributed.spec import RunSpec

FAULT_ENV = "CIFARBENCH_DDP_FAULT"
# All-reduce message sizes for the bus bandwidth: a small (latency-bound) and a large one.
BUSBW_BYTES = {"cpu": (2**18, 2**22), "cuda": (2**20, 2**26)}


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
        return DeviceBatches(shard, spec.transform, batch_size, device, seed=spec.seed + rank), None, len(shard.labels)
    if spec.loader == "pil":
        dataset = ArrayCIFAR10(split, transform=pil_transform(spec.transform))
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=spec.seed)
        batches = DataLoader(dataset, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                             pin_memory=pin_memory, persistent_workers=num_workers > 0)
        return batches, sampler, len(sampler)
    if spec.loader == "tensor":
        dataset = TensorBatches(split, spec.transform)
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


def _agree_max(group, value: int) -> int:
    """The largest of every rank's `value`: all ranks then time the same number of rounds."""
    tensor = torch.tensor([value], dtype=torch.int64)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX, group=group)
    return int(tensor.item())


def _timed_epochs(model: nn.Module, optimizer, batches, sampler, rank_images: int, device: torch.device,
                  spec: RunSpec, barrier=None, before_timed=None, agree=None) -> dict[str, list]:
    """Warm-up, then timed epochs of `rank_images`; per round: seconds, busy seconds, images, loss.

    As many timed rounds as `spec.timed_rounds` asks after the last warm-up round (`agree`
    makes every rank take the largest count). With `barrier`, every round opens and closes with
    all ranks together: `busy_seconds` is this rank's own work, `round_seconds` lasts until the
    slowest rank is done.
    """
    from bench.workload import train_epoch

    timed: dict[str, list] = {"round_seconds": [], "busy_seconds": [], "round_images": [], "train_loss": []}
    rounds = spec.rounds
    round_index = 0
    while round_index < spec.warmup_rounds + rounds:
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
        round_seconds = time.perf_counter() - started
        if round_index == spec.warmup_rounds - 1:  # the last warm-up round sizes the timed ones
            rounds = spec.timed_rounds(round_seconds)
            if agree is not None:
                rounds = agree(rounds)
        if round_index >= spec.warmup_rounds:
            timed["round_seconds"].append(round_seconds)
            timed["busy_seconds"].append(busy)
            timed["round_images"].append(result.images)
            timed["train_loss"].append(result.loss_mean)
        round_index += 1
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

    # This rank's utilization over its timed rounds: its own process (and its DataLoader
    # workers) and its GPU; the parent adds the ranks up (bench/distributed/gather.py).
    from bench.sampling import Sampler

    utilization = Sampler(interval_s=spec.sample_interval_s,
                          gpu_indices=[local_rank] if device.type == "cuda" else [])

    def before_timed():
        _inject_fault(rank)
        utilization.start()

    try:
        timed = _timed_epochs(model, optimizer, batches, sampler, rank_images, device, spec,
                              barrier=partial(_barrier, device, barrier_group, spec.pg_timeout_s),
                              before_timed=before_timed, agree=partial(_agree_max, barrier_group))
    finally:
        utilization.stop()
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
        "utilization": utilization.result().summary,
        "no_ddp_round_seconds": bare_timed["round_seconds"], "no_ddp_round_images": bare_timed["round_images"],
        "group_world_size": _env_int("GROUP_WORLD_SIZE", max(1, world_size // local_world_size)),
    }
    gathered = [None] * world_size if rank == 0 else None
    dist.gather_object(mine, gathered, dst=0)
    dist.destroy_process_group()
    return gathered
