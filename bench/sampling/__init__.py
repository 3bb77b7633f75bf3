"""Utilization sampling while a case's timed rounds run: CPU, process tree, GPU (NVML, GPM).

Modules, one job each: `nvml` (the library, device handles, one reader per metric), `gpm`
(SM, tensor and DRAM activity over a window, Hopper and later), `cpu` (cores, the process
and its DataLoader workers), `stats` (summary, percentiles, timeline points), `budget`
(how often an expensive read may run), `sampler` (the thread, and its `SamplerResult`).

What a case writes from a `SamplerResult` into `extra_info` (see `bench.sweep.Sweep.record`):
`utilization` ({metric: {mean, p50, p95, max, n}}), `timeline` ({"t_s": [s], metric: [...]}),
`sampler` (`SamplerFacts.to_json()`), `throttle_reasons` ([name]), `energy_j` (J over the
timed rounds), `energy_j_per_round` (J), `images_per_joule` (bench.contract.derive), and on CUDA cases `gpm`
(`SamplerResult.gpm_json()`: {"supported", "reason", "sm_active_pct", "sm_occupancy_pct",
"tensor_active_pct", "dram_bw_util_pct"}, percents, or one such dict per CUDA index as a string).
Metric units are in their names: `_pct` percent (process percents of one core), `_mib`
MiB, `_w` W, `_mhz` MHz, `_c` degrees C, `_mib_per_sec` MiB/s, `_count` a count.
"""

from bench.sampling.sampler import Sampler, SamplerResult

__all__ = ["Sampler", "SamplerResult"]
