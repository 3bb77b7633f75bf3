"""The result contract: every key a case writes, with its unit and meaning.

bench/ writes raw measured facts under these keys; reports/ derives everything else from
them, once. Like pytest-benchmark's `hookspec.py` for its hooks, this is the one place the
keys are written down; `tests/test_contract.py` checks that a real sweep writes no key that
is not listed here. A results file is pytest-benchmark's JSON: per case `stats` (with the
per-round seconds in `stats.data`), `params` (the axes) and `extra_info` (below); per file
`machine_info["cifarbench"]` (below) and a top-level `cifarbench` section (below).
"""

from __future__ import annotations

# Written by every measured case (bench/sweep.py `Sweep.record`).
CASE_KEYS: dict[str, str] = {
    "images_per_round": "images (float): images one timed round processed, the mean over the rounds",
    "median_round_seconds": "seconds: the median timed round",
    "images_per_sec": "images/s: images_per_round / median_round_seconds",
    "cpu_threads": "count: torch's intra-op threads during the case",
    "warmup_rounds": "count: untimed rounds before the timed ones",
    "flops_per_image": "FLOP: per image, counted by torch.utils.flop_counter (train: forward + backward)",
    "achieved_tflops": "TFLOP/s: flops_per_image x images_per_sec / 1e12",
    "device_name": "text: 'cpu' or the CUDA device's name",
    "peak_mem_mib": "MiB: torch.cuda.max_memory_allocated over the timed rounds (CUDA only)",
    "utilization": "{metric: {mean, p50, p95, max, n}} over the timed rounds; metrics in bench/sampling "
                   "(percents of one core for processes, other_cpu_pct = processes outside this sweep, "
                   "steal_cpu_pct = the hypervisor's other guests, irq_cpu_pct = interrupt work)",
    "timeline": "{t_s: seconds since the first round, metric: values}: the sampled series, downsampled",
    "sampler": "the sampler's own facts: interval_s, samples, notes (what was not recorded and why), "
               "thread CPU seconds and percent of one core",
    "throttle_reasons": "list of text: NVML clock event reasons seen during the rounds (GPU idle left out)",
    "gpm": "GPU activity from NVML GPM (Hopper+): supported, reason, sm_active_pct, sm_occupancy_pct, "
           "tensor_active_pct, dram_bw_util_pct (percent), or per CUDA index",
    "energy_j": "joules: GPU energy counter's difference over the timed rounds, all GPUs of the case",
    "energy_j_per_round": "joules: energy_j / rounds",
    "images_per_joule": "images/J: images over the timed rounds / energy_j",
    "trust": "{level: ok|noisy|invalid, reasons: [sentences], other_cpu_pct: percent of one core (mean over "
             "the rounds), other_cpu_resolution_pct: how finely that is known, two standard deviations of the "
             "cores' tick-counted time, percent of one core (None where not read), "
             "rounds_spread: (max - min) / median of the rounds' seconds, rounds: count, "
             "images_timed: images over all rounds}; thresholds in bench/trust.py",
}

# Written by compiled train_step and epoch cases (`compile` axis other than eager; bench/compile.py).
# The mode itself is the case's `compile` param.
COMPILE_KEYS: dict[str, str] = {
    "compile_backend": "text: torch.compile's backend ('inductor')",
    "compile_seconds": "seconds: compile_first_seconds - compile_eager_seconds, measured before the warm-up and "
                       "excluded from every timed round (a cold compile: inductor's caches off)",
    "compile_first_seconds": "seconds: the first compiled step (train_step) or pass (epoch: one batch, or 512 "
                             "images), compile included",
    "compile_eager_seconds": "seconds: a warm eager step or pass of the same work, just before",
    "recompiles": "count: frames torch.compile compiled inside the timed rounds (0 expected; more marks the case "
                  "noisy)",
}

# Written by one group's cases as well.
GROUP_KEYS: dict[str, dict[str, str]] = {
    "loader": {
        "first_batch_seconds": "seconds: from starting the iterator to the first batch (workers starting)",
        "batches_per_round": "count: batches pulled per timed round",
        "data_device": "text: where batches are made ('cpu', or the device for the device pipeline)",
        "data_source": "text: 'synthetic' or the real data set's folder",
    },
    "forward": {
        "steps_per_round": "count: forward passes per timed round",
    },
    "train_step": {
        "steps_per_round": "count: training steps per timed round",
        "train_loss": "loss (float): the last step's loss, read after timing",
        **COMPILE_KEYS,
    },
    "epoch": {
        "batches_per_round": "count (float): batches one timed epoch trained, the mean over the rounds",
        "epoch_images": "images (float): images one timed epoch trained; a full epoch is projected from these",
        "epoch_seconds": "seconds: the median timed epoch",
        "full_epoch_seconds": "seconds: epoch_seconds scaled to 50,000 images",
        "full_epoch_projected": "bool: whether full_epoch_seconds was projected from fewer images",
        "train_loss": "loss (float): mean training loss of the last timed epoch",
        "train_loss_per_round": "list of loss: mean training loss of each timed epoch",
        "eval_images": "images: evaluated after the timed epochs",
        "eval_seconds": "seconds: the evaluation pass (not timed as a round)",
        "eval_accuracy": "fraction 0..1: top-1 accuracy of that pass (after only the images trained so far)",
        "pin_memory": "bool: the DataLoader pinned host memory (CUDA with pil/tensor pipelines)",
        "data_source": "text: 'synthetic' or the real data set's folder",
        "phases": "{seconds: {input_wait, copy, forward, backward, optimizer, other}: seconds summed over the "
                  "timed rounds (they add up to the rounds' total), share: the same as fractions, "
                  "device_idle_share: fraction of the rounds the GPU idled between steps (CUDA, else null), "
                  "host_input_wait_seconds: seconds the host blocked on the pipeline, clock: how it was timed}; "
                  "see bench/phases.py",
        "trace": "{path: the profiler trace relative to the results folder (Chrome trace JSON, gzipped), "
                 "steps: profiled steps, top_ops: [{name, self_seconds, calls}]} with --bench-trace",
        "drop_last": "bool: the data set's last, smaller batch was left out (compiled epochs: one batch shape, "
                     "no recompile for it)",
        **COMPILE_KEYS,
    },
    "phase_overhead": {
        "breakdown": "text: off or on, the phase clock",
        "loader": "text: the input pipeline",
        "batch_size": "images per batch",
        "overhead_ratio": "ratio: this (on) case's median round over the off case's, same run",
    },
    # Data-parallel cases (bench/bench_ddp.py, bench/distributed/); docs/ddp.md has the long form.
    "ddp": {
        "world_size": "count: ranks (processes) in the job",
        "nnodes": "count: machines the ranks ran on",
        "backend": "text: gloo or nccl",
        "scaling": "text: weak (batch and images per rank) or strong (split across the ranks)",
        "rank_batch_size": "images: batch per rank",
        "global_batch_size": "images: batch over all ranks",
        "transform": "text: the transform of the input pipeline",
        "num_workers": "count: DataLoader workers of each rank",
        "threads_per_rank": "count: torch threads of each rank",
        "rank_images_per_round": "images: one rank, one round",
        "rank_images_per_sec": "list of images/s by rank: each rank's images over its own median round",
        "rank_round_seconds": "seconds, list by rank of lists by round; stats.data is their maximum per round",
        "round_seconds_from": "text: whose seconds stats.data holds (the slowest rank)",
        "rank_busy_seconds": "seconds, list by rank: median seconds a rank worked in a round before waiting",
        "straggler_ratio": "ratio >= 1: the slowest rank's busy seconds over the median rank's",
        "scaling_efficiency": "fraction: images_per_sec at N / (N x the one-rank images_per_sec), same sweep; "
                              "null without a one-rank case",
        "baseline_images_per_sec": "images/s: the one-rank figure it was divided by",
        "no_ddp_images_per_sec": "images/s: one rank only, the same epochs on the bare model (no DDP wrapper)",
        "allreduce_share": "fraction: median over ranks of the step share in gradient all-reduce not hidden "
                           "by backward",
        "rank_allreduce_share": "list of fractions by rank",
        "allreduce_busbw_gb_per_s": "{message bytes: GB/s (1e9 bytes)}: all-reduce bus bandwidth, nccl-tests' "
                                    "formula, the slowest rank's time",
        "rank_hosts": "list of text by rank: where each rank ran",
        "rank_devices": "list of text by rank: each rank's device",
        "rank_peak_mem_mib": "MiB, list by rank: peak allocated memory (CUDA only)",
        "timed_rounds": "count: the ranks' timed rounds",
        "train_loss": "loss: mean over ranks of the last round's mean loss",
        "data_source": "text: 'synthetic' or the real data set's folder",
    },
    "sampler_overhead": {
        "sample_interval_s": "seconds: the sampler's period",
        "matrix_size": "count: rows = columns of the matmuls",
        "matmuls_per_round": "count: matmuls per timed round",
        "flops_per_round": "FLOP: per timed round",
        "sampler_thread_cpu_pct_of_one_core": "percent of one core: the sampler thread's CPU over its life",
        "sampler_thread_cpu_seconds": "seconds: the sampler thread's CPU time",
        "sampler_wall_seconds": "seconds: the sampler's lifetime",
        "sampler_samples": "count: samples taken",
    },
}

# machine_info["cifarbench"] (bench/machine.py `collect`, bench/preflight.py).
MACHINE_KEYS: dict[str, str] = {
    "label": "text: --bench-label, or hostname-Nc-GPU",
    "hostname": "text",
    "cpu_brand": "text: from py-cpuinfo",
    "cpu_count_logical": "count: logical CPUs of the machine",
    "cpu_count_usable": "count: CPUs this process may run on (affinity)",
    "cpu_flags": "list of text: the vector and matrix extensions that decide CPU kernel speed",
    "ram_gib": "GiB: total memory",
    "torch_threads": "count: torch's intra-op threads for the sweep",
    "gpus": "list of {index, name, memory_total_mib (MiB), driver, power_limit_w (W)} from NVML",
    "versions": "{python, torch, torchvision, cuda, cudnn}",
    "backend": "{tf32_matmul, tf32_cudnn, cudnn_benchmark, float32_matmul_precision}",
    "price_per_hour": "money per hour: --bench-price-per-hour, or null",
    "peak_tflops": "{device: {dtype: TFLOP/s}}: measured square matmul, the practical peak",
    "allreduce_busbw_gb_per_s": "{'<backend>:ws<N>': {message bytes: GB/s}}: all-reduce bus bandwidth between "
                                "the ranks, from the ddp cases (nccl-tests' formula)",
    "preflight": "{other_cpu_pct: percent of one core, seconds, usable_cores, cpu_quota_cores, load_avg_1m, "
                 "busiest_others, gpu_other_processes, quiet: bool, message, steal_cpu_pct: percent of one core "
                 "the hypervisor gave to other guests (None where not reported)}: the machine before the first case",
}

# The results file's top-level "cifarbench" section (bench/session.py `SweepSession.document`).
FILE_KEYS: dict[str, str] = {
    "preset": "text: smoke, quick, standard or full (older files: 'profile')",
    "complete": "bool: every selected case ran and the file was written where asked",
    "interrupted": "bool: the sweep was stopped (Ctrl-C, or a write failure)",
    "started": "ISO 8601 time, UTC",
    "data": "text: 'synthetic' or the real data set's folder",
    "trust": "{level: the worst case's level, cases: {level: count}}",
    "cases": "list of {nodeid, group, params, when, outcome, reason, duration_s}: every case not saved as a "
             "measurement (skipped, failed, interrupted), with the reason",
}


def documented_case_keys(group: str) -> set[str]:
    """Every extra_info key a case of `group` may write."""
    return set(CASE_KEYS) | set(GROUP_KEYS.get(group, {}))
