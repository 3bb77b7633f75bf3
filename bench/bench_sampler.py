"""What the utilization sampler costs a CPU-bound case: the same work timed with it off and on.

Timed: `ROUNDS` rounds of `MATMULS_PER_ROUND` float32 matmuls of `MATRIX_SIZE` squared on the
CPU (tens of ms a round), on torch's intra-op threads as the sweep sets them (every usable
core), so the sampler thread competes with the work for the cores as it does in every case.
Not timed: building the matrices, one warm-up round (run with the sampler already on, so
the timed rounds see it in its steady state), starting the sampler (its baselines) and
stopping it (join, energy read).
Read: the difference of the two medians is the sampler's cost to a CPU-bound case (goal:
at most 2 %); `extra_info["sampler_thread_cpu_pct_of_one_core"]` is the sampler thread's own
CPU time over its lifetime (goal: at most 1 % at 0.1 s). On a busy machine the medians'
noise can exceed the difference: read the thread's CPU share first.
Run: pytest --benchmark bench/bench_sampler.py [--bench-sample-interval 0.1]
"""

import pytest
import torch

from bench.contract import Case, SamplerOverhead
from bench.sampling import Sampler
from bench.trust import assess

ROUNDS = 30
MATRIX_SIZE = 512
MATMULS_PER_ROUND = 32


@pytest.mark.benchmark(group="sampler_overhead")
@pytest.mark.parametrize("sampler", ["off", "on"], ids=["sampler_off", "sampler_on"])
def bench_sampler_overhead(benchmark, sweep, sampler):
    generator = torch.Generator().manual_seed(0)
    left = torch.randn(MATRIX_SIZE, MATRIX_SIZE, generator=generator)
    right = torch.randn(MATRIX_SIZE, MATRIX_SIZE, generator=generator)
    product = torch.empty(MATRIX_SIZE, MATRIX_SIZE)  # written in place: no allocation in the timed loop

    def one_round():
        for _ in range(MATMULS_PER_ROUND):
            torch.mm(left, right, out=product)

    info = benchmark.extra_info
    info.update({  # off or on is the case's `sampler` parameter; extra_info["sampler"] is the sampler's facts
        SamplerOverhead.sample_interval_s: sweep.sample_interval_s,
        Case.cpu_threads: torch.get_num_threads(),
        SamplerOverhead.matrix_size: MATRIX_SIZE,
        SamplerOverhead.matmuls_per_round: MATMULS_PER_ROUND,
        SamplerOverhead.flops_per_round: 2 * MATRIX_SIZE**3 * MATMULS_PER_ROUND,
    })
    resolution_pct = None
    if sampler == "off":
        benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=1, iterations=1)
    else:
        with Sampler(interval_s=sweep.sample_interval_s) as running:
            benchmark.pedantic(one_round, rounds=ROUNDS, warmup_rounds=1, iterations=1)
        sampled = running.result()
        info[SamplerOverhead.sampler_thread_cpu_pct_of_one_core] = sampled.facts.thread_cpu_pct_of_one_core
        info[SamplerOverhead.sampler_thread_cpu_seconds] = sampled.facts.thread_cpu_seconds
        info[SamplerOverhead.sampler_wall_seconds] = sampled.facts.wall_seconds
        info[SamplerOverhead.sampler_samples] = sampled.facts.samples
        info[Case.utilization] = sampled.summary
        resolution_pct = sampled.other_cpu_resolution_pct
    if not benchmark.disabled:
        # The same verdict as every case (the off case has no sampler: its rounds' spread only).
        other_cpu_pct = info.get(Case.utilization, {}).get("other_cpu_pct", {}).get("mean")
        info[Case.trust] = assess(list(benchmark.stats.stats.data), other_cpu_pct,
                               other_cpu_resolution_pct=resolution_pct).as_dict()
