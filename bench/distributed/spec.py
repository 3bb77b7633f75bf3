"""`RunSpec`: one data-parallel case as every rank runs it, sent to the ranks as JSON."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

from bench.timing import rounds_to_fill

# A collective that waits longer than this fails its rank (gloo and NCCL both honour it): a hung
# peer becomes an error, not a hung sweep.
DEFAULT_PG_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class RunSpec:
    """One data-parallel case, as every rank runs it."""

    model: str
    device: str  # "cpu" (gloo) or "cuda" (NCCL, rank r on cuda:<local rank>)
    loader: str  # pil, tensor, device (see bench.data)
    batch_size: int  # per rank (weak scaling) or for all ranks together (strong scaling)
    images: int  # per rank and round (weak), or for all ranks together per round (strong)
    scaling: str = "weak"
    transform: str = "tutorial"  # the input pipeline's transform (bench.data.TRANSFORMS)
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
    sample_interval_s: float = 0.1  # each rank's utilization sampler (bench.sampling)
    # Timed rounds add up to at least this long (more rounds than `rounds` where the warm-up
    # round was short, at most bench.timing.MAX_TIMED_ROUNDS); None: exactly `rounds` (fixed work).
    min_timed_seconds: float | None = None

    def __post_init__(self):
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"ddp device must be 'cpu' or 'cuda', not {self.device!r}")
        if self.scaling not in ("weak", "strong"):
            raise ValueError(f"scaling must be 'weak' or 'strong', not {self.scaling!r}")

    def timed_rounds(self, warm_round_seconds: float) -> int:
        """Rounds to time after a warm-up round of `warm_round_seconds` (every rank must agree).

        Two rounds of 60 ms (the tutorial net's ddp rounds on two CPU cores) give a spread that
        says little; like the epoch cases, short rounds are timed more often instead.
        """
        if not self.min_timed_seconds:
            return self.rounds
        return rounds_to_fill(warm_round_seconds, self.rounds, self.min_timed_seconds)

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
