"""Data-parallel scaling: training epochs under DistributedDataParallel at world sizes 1, 2, 4, ...

One process per device, launched by torchrun's engine (`elastic_launch`): NCCL between GPUs
(rank r on cuda:r, the device pipeline sharded), gloo between CPU processes (each with
cores // world size threads). Weak scaling keeps the batch and the images per rank; strong
scaling splits them across the ranks.

Timed, by the ranks themselves (bench/distributed/rank.py): each round is one epoch of the preset's
images per rank, opened and closed by a barrier of all ranks (devices synchronized), so a round
lasts until the slowest rank is done. The preset's epoch rounds, or more where the warm-up round
was short, so that they add up to the preset's epoch rounds' seconds (at most 50 rounds; every
rank times the largest count any rank asks for); exactly the preset's with --bench-epoch-images.
pytest-benchmark gets, per round, the slowest rank's seconds. Not timed: starting the
processes, building the data and the model, the warm-up round, and the measurements after the
timed rounds (the gradient all-reduce's share of a step, the all-reduce bus bandwidth, and on
one rank the same epochs without the DDP wrapper).

A rank that dies or hangs fails its case with that rank's error (hangs at the collectives'
timeout), the launch's processes are all ended, and the sweep goes on.
Run: pytest --benchmark -k bench_ddp [--bench-world-sizes 1,2]
"""

import pytest
import torch

from bench import distributed
from bench.contract import Case, Ddp, Machine, derive
from bench.grid import usable_cores
from models import flops_per_image


@pytest.fixture(scope="session")
def ddp_baselines() -> dict:
    """images/s on one rank per configuration, for the scaling efficiency of the larger world sizes."""
    return {}


@pytest.mark.benchmark(group="ddp")
# A case whose ranks failed has no rounds to give pytest-benchmark: its failure says why, and
# the fixture's "not used" warning would report it a second time (an error under -W error).
@pytest.mark.filterwarnings("ignore:Benchmark fixture was not used:pytest_benchmark.logger.PytestBenchmarkWarning")
def bench_ddp(benchmark, sweep, ddp_baselines, model, device, loader, batch_size, scaling, world_size):
    if device == "cuda":
        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus < world_size:
            pytest.skip(f"ddp on {world_size} GPUs: this machine has {gpus}")
    if sweep.download:
        sweep.data  # noqa: B018 -- download once here, not in every rank at the same time
    grid = sweep.grid
    spec = distributed.RunSpec(
        model=model, device=device, loader=loader, batch_size=batch_size, scaling=scaling,
        images=min(grid.ddp_rank_images, grid.epoch_images), rounds=grid.epoch_rounds,
        warmup_rounds=grid.warmup_rounds, seed=sweep.seed,
        # As long as the preset's epoch rounds together, unless the work was asked for exactly.
        min_timed_seconds=(grid.epoch_rounds * grid.epoch_round_seconds
                           if grid.epoch_round_seconds is not None else None),
        data_dir=str(sweep.data_dir) if sweep.data_dir is not None else None,
        # Each rank its share of the cores (--bench-threads caps the total), at least one.
        threads_per_rank=max(1, min(sweep.cpu_threads, usable_cores()) // world_size),
        sample_interval_s=sweep.sample_interval_s,
    )
    try:
        ranks = distributed.launch(spec, world_size)
    except distributed.LaunchError as error:
        pytest.fail(str(error), pytrace=False)
    summary = distributed.summarize(ranks, spec)
    facts = summary["facts"]
    losses = [rank["train_loss"][-1] for rank in ranks]
    if not all(map(torch.isfinite, torch.tensor(losses))):
        pytest.fail(f"training loss is not finite: {losses}")
    if benchmark.disabled:
        return  # a smoke run (--benchmark-disable): the ranks ran their rounds; nothing is recorded
    distributed.record_rounds(benchmark, summary["round_seconds"])
    if facts["allreduce_busbw_gb_per_s"]:
        # A machine fact, next to the peak matmul: every later save of the results file writes it.
        busbw = sweep.machine_facts.setdefault(Machine.allreduce_busbw_gb_per_s, {})
        busbw[f"{facts['backend']}:ws{world_size}"] = facts["allreduce_busbw_gb_per_s"]

    images_per_sec = derive.images_per_sec(summary["images_per_round"], benchmark.stats.stats.data)
    # Same machine, settings and session: one rank's images/s of the same configuration.
    baseline_key = (model, device, loader, batch_size)
    if world_size == 1:
        ddp_baselines[baseline_key] = images_per_sec
    baseline = ddp_baselines.get(baseline_key)
    sweep.record(
        benchmark, None, None, images_per_round=summary["images_per_round"],
        flops_per_image=flops_per_image(model)["train"], threads=facts["threads_per_rank"],
        utilization=summary["utilization"],
        facts={
            Ddp.scaling_efficiency: derive.scaling_efficiency(images_per_sec, world_size, baseline),
            Ddp.baseline_images_per_sec: baseline,
            Case.device_name: torch.cuda.get_device_name(0) if device == "cuda" else "cpu",
            Ddp.data_source: sweep.data_source,
            **facts,
        },
    )
