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

Modules, one job each: `spec` (`RunSpec`, what every rank runs), `rank` (inside a rank: the timed
rounds, the communication measurements, fault injection for the tests), `gather` (every rank's
measurements made into the case's facts and rounds), `one_node` (`launch`), `worker` (several nodes:
rank 0's results file), `cli` (the command line, run by `__main__`).
"""

from bench.distributed.cli import main
from bench.distributed.gather import record_rounds, summarize
from bench.distributed.one_node import DEFAULT_LAUNCH_TIMEOUT_S, ROOT, LaunchError, launch, session_processes
from bench.distributed.rank import BUSBW_BYTES, FAULT_ENV, run_rank
from bench.distributed.spec import DEFAULT_PG_TIMEOUT_S, RunSpec
from bench.distributed.worker import results_document

__all__ = [
    "BUSBW_BYTES",
    "DEFAULT_LAUNCH_TIMEOUT_S",
    "DEFAULT_PG_TIMEOUT_S",
    "FAULT_ENV",
    "ROOT",
    "LaunchError",
    "RunSpec",
    "launch",
    "main",
    "record_rounds",
    "results_document",
    "run_rank",
    "session_processes",
    "summarize",
]
