"""Every key a results file holds, with its unit and meaning, as code both sides import.

A results file is pytest-benchmark's JSON: per case `stats` (with the per-round seconds in
`stats.data`), `params` (the axes) and `extra_info` (the sections `Case`, `Compile` and one per
group below); per file `machine_info["cifarbench"]` (`Machine`) and a top-level `cifarbench`
section (`File`). A dict-valued key whose own keys are fixed names their section (`fields`).
"""

from __future__ import annotations

from bench.contract.schema import Section, Spec
from bench.contract.vocab import (
    CONVERGE,
    DDP,
    EPOCH,
    FORWARD,
    LOADER,
    PHASE_OVERHEAD,
    SAMPLER_OVERHEAD,
    TRAIN_STEP,
)


class Trust(Section):
    """extra_info["trust"] (bench/trust.py `assess`)."""

    level = Spec("ok|noisy|invalid", "the worst level of its reasons (ok without any)", required=True)
    reasons = Spec("list of reason records", "{code, level, figure, threshold, detail}: bench/contract/reasons.py",
                   required=True)
    other_cpu_pct = Spec("percent of one core", "processes outside the sweep, mean over the timed rounds")
    other_cpu_resolution_pct = Spec("percent of one core", "how finely other_cpu_pct is known: two standard "
                                    "deviations of the cores' tick-counted time (None where not read)")
    rounds_spread = Spec("fraction", "(max - min) / median of the rounds' seconds (contract.derive)")
    rounds = Spec("count", "timed rounds")
    images_timed = Spec("images", "images over all timed rounds")


class SearchCase(Section):
    """extra_info["search"]: the auto preset's trial that measured the case (bench/autosweep.py)."""

    rung = Spec("index", "the search's rung (0 first); the file keeps a case's highest rung", required=True)
    effort_seconds = Spec("seconds", "timed rounds the search gave the trial", required=True)
    repeat = Spec("index", "which repeat of the final rung (0 elsewhere)", required=True)
    attempt = Spec("count", "measured again after this many invalid attempts", required=True)


class Case(Section):
    """Written by every measured case (bench/sweep.py `Sweep.record`)."""

    images_per_round = Spec("images (float)", "images one timed round processed, the mean over the rounds",
                            required=True)
    median_round_seconds = Spec("seconds", "the median timed round (over every repeat)", required=True)
    images_per_sec = Spec("images/s", "the case's figure: images_per_round over the median round of all its "
                          "timed rounds and repeats (contract.derive.images_per_sec)", required=True)
    images_per_sec_interval = Spec("[images/s, images/s]", "[low, high]: where another run of the same sweep on "
                                   "the same machine is expected to read this case's figure "
                                   "(contract.derive.interval; how it was made: images_per_sec_interval_basis)",
                                   required=True)
    images_per_sec_interval_basis = Spec("text", "'repeats': from the repeats' figures and the run's pooled "
                                         "repeat noise; 'rounds': one repeat, the spread of its rounds only, "
                                         "within one run", required=True)
    repeats = Spec("list", "one {images_per_sec, rounds, started_s, seconds, trust_level, reasons} per repeat of "
                   "the case, in order (started_s: seconds since the sweep began)", required=True)
    cpu_threads = Spec("count", "torch's intra-op threads during the case", required=True)
    warmup_rounds = Spec("count", "untimed rounds before the timed ones", required=True)
    flops_per_image = Spec("FLOP", "per image, counted by torch.utils.flop_counter (train: forward + backward)")
    achieved_tflops = Spec("TFLOP/s", "flops_per_image x images_per_sec / 1e12 (contract.derive)")
    device_name = Spec("text", "'cpu' or the CUDA device's name")
    peak_mem_mib = Spec("MiB", "torch.cuda.max_memory_allocated over the timed rounds (CUDA only)")
    utilization = Spec("{metric: {mean, p50, p95, max, n}}", "over the timed rounds; metrics in bench/sampling "
                       "(percents of one core for processes, other_cpu_pct = processes outside this sweep, "
                       "steal_cpu_pct = the hypervisor's other guests, irq_cpu_pct = interrupt work)")
    timeline = Spec("{t_s: seconds since the first round, metric: values}", "the sampled series, downsampled")
    sampler = Spec("dict", "the sampler's own facts: interval_s, samples, notes (what was not recorded and why), "
                   "thread CPU seconds and percent of one core")
    throttle_reasons = Spec("list of text", "NVML clock event reasons seen during the rounds (GPU idle left out)")
    gpm = Spec("dict", "GPU activity from NVML GPM (Hopper+): supported, reason, sm_active_pct, sm_occupancy_pct, "
               "tensor_active_pct, dram_bw_util_pct (percent), or one such dict per CUDA index")
    energy_j = Spec("joules", "GPU energy counter's difference over the timed rounds, all GPUs of the case")
    energy_j_per_round = Spec("joules", "energy_j / rounds")
    images_per_joule = Spec("images/J", "images over the timed rounds / energy_j (contract.derive)")
    cpu_throttle = Spec("dict", "the cgroup's CPU throttling over the timed rounds: periods, throttled_periods, "
                        "throttled_seconds, limit_cores; absent where no limit or no counter")
    trust = Spec("dict", "the case's trust verdict (section Trust); thresholds in bench/trust.py", required=True,
                 fields=Trust)
    search = Spec("dict", "--bench-sweep auto: the search stage that measured the case (section SearchCase)",
                  fields=SearchCase)


class Compile(Section):
    """Written by compiled train_step and epoch cases (bench/compile.py); the mode is the `compile` param."""

    compile_backend = Spec("text", "torch.compile's backend ('inductor')")
    compile_seconds = Spec("seconds", "compile_first_seconds - compile_eager_seconds, measured before the warm-up "
                           "and excluded from every timed round (a cold compile: inductor's caches off)")
    compile_first_seconds = Spec("seconds", "the first compiled step (train_step) or pass (epoch: one batch, or "
                                 "512 images), compile included")
    compile_eager_seconds = Spec("seconds", "a warm eager step or pass of the same work, just before")
    recompiles = Spec("count", "frames torch.compile compiled inside the timed rounds (0 expected; more marks the "
                      "case noisy)")


class Loader(Section):
    first_batch_seconds = Spec("seconds", "from starting the iterator to the first batch (workers starting)")
    batches_per_round = Spec("count", "batches pulled per timed round")
    data_device = Spec("text", "where batches are made ('cpu', or the device for the device pipeline)")
    data_source = Spec("text", "'synthetic', 'synthetic-hard' or the real data set's folder")


class Forward(Section):
    steps_per_round = Spec("count", "forward passes per timed round")


class TrainStep(Compile):
    steps_per_round = Spec("count", "training steps per timed round")
    train_loss = Spec("loss (float)", "the last step's loss, read after timing")


class Epoch(Compile):
    batches_per_round = Spec("count (float)", "batches one timed epoch trained, the mean over the rounds")
    epoch_images = Spec("images (float)", "images one timed epoch trained; a full epoch is projected from these")
    epoch_seconds = Spec("seconds", "the median timed epoch")
    full_epoch_seconds = Spec("seconds", "a 50,000-image epoch at images_per_sec (contract.derive)")
    full_epoch_projected = Spec("bool", "whether full_epoch_seconds was projected from fewer images")
    train_loss = Spec("loss (float)", "mean training loss of the last timed epoch")
    train_loss_per_round = Spec("list of loss", "mean training loss of each timed epoch")
    eval_images = Spec("images", "evaluated after the timed epochs")
    eval_seconds = Spec("seconds", "the evaluation pass (not timed as a round)")
    eval_accuracy = Spec("fraction 0..1", "top-1 accuracy of that pass (after only the images trained so far)")
    pin_memory = Spec("bool", "the DataLoader pinned host memory (CUDA with pil/tensor pipelines)")
    data_source = Spec("text", "'synthetic', 'synthetic-hard' or the real data set's folder")
    phases = Spec("dict", "{seconds: {input_wait, copy, forward, backward, optimizer, other}: seconds summed over "
                  "the timed rounds (they add up to the rounds' total), share: the same as fractions, "
                  "device_idle_share: fraction of the rounds the GPU idled between steps (CUDA, else null), "
                  "host_input_wait_seconds: seconds the host blocked on the pipeline, clock: how it was timed}; "
                  "see bench/phases.py")
    trace = Spec("dict", "{path: the profiler trace relative to the results folder (Chrome trace JSON, gzipped), "
                 "steps: profiled steps, top_ops: [{name, self_seconds, calls}]} with --bench-trace")
    drop_last = Spec("bool", "the data set's last, smaller batch was left out (compiled epochs: one batch shape, "
                     "no recompile for it)")


class PhaseOverhead(Section):
    breakdown = Spec("text", "off or on, the phase clock")
    loader = Spec("text", "the input pipeline")
    batch_size = Spec("images per batch", "")
    overhead_ratio = Spec("ratio", "this (on) case's median round over the off case's, same run")


class Ddp(Section):
    """Data-parallel cases (bench/bench_ddp.py, bench/distributed/); docs/ddp.md has the long form."""

    world_size = Spec("count", "ranks (processes) in the job")
    nnodes = Spec("count", "machines the ranks ran on")
    backend = Spec("text", "gloo or nccl")
    scaling = Spec("text", "weak (batch and images per rank) or strong (split across the ranks)")
    rank_batch_size = Spec("images", "batch per rank")
    global_batch_size = Spec("images", "batch over all ranks")
    transform = Spec("text", "the transform of the input pipeline")
    num_workers = Spec("count", "DataLoader workers of each rank")
    threads_per_rank = Spec("count", "torch threads of each rank")
    rank_images_per_round = Spec("images", "one rank, one round")
    rank_images_per_sec = Spec("list of images/s by rank", "each rank's images over its own median round")
    rank_round_seconds = Spec("seconds, list by rank of lists by round", "stats.data is their maximum per round")
    round_seconds_from = Spec("text", "whose seconds stats.data holds (the slowest rank)")
    rank_busy_seconds = Spec("seconds, list by rank", "median seconds a rank worked in a round before waiting")
    straggler_ratio = Spec("ratio >= 1", "the slowest rank's busy seconds over the median rank's")
    scaling_efficiency = Spec("fraction", "images_per_sec at N / (N x the one-rank images_per_sec), same sweep "
                              "(contract.derive); null without a one-rank case")
    baseline_images_per_sec = Spec("images/s", "the one-rank figure it was divided by")
    no_ddp_images_per_sec = Spec("images/s", "one rank only, the same epochs on the bare model (no DDP wrapper)")
    allreduce_share = Spec("fraction", "median over ranks of the step share in gradient all-reduce not hidden by "
                           "backward")
    rank_allreduce_share = Spec("list of fractions by rank", "")
    allreduce_busbw_gb_per_s = Spec("{message bytes: GB/s (1e9 bytes)}", "all-reduce bus bandwidth, nccl-tests' "
                                    "formula, the slowest rank's time")
    rank_hosts = Spec("list of text by rank", "where each rank ran")
    rank_devices = Spec("list of text by rank", "each rank's device")
    rank_peak_mem_mib = Spec("MiB, list by rank", "peak allocated memory (CUDA only)")
    rank_utilization = Spec("list by rank", "each rank's sampler summary over its timed rounds: its own process's "
                            "CPU (proc_cpu_pct, workers_cpu_pct, percent of one core) and its GPU's metrics")
    timed_rounds = Spec("count", "the ranks' timed rounds")
    train_loss = Spec("loss", "mean over ranks of the last round's mean loss")
    data_source = Spec("text", "'synthetic', 'synthetic-hard' or the real data set's folder")


class SamplerOverhead(Section):
    sample_interval_s = Spec("seconds", "the sampler's period")
    matrix_size = Spec("count", "rows = columns of the matmuls")
    matmuls_per_round = Spec("count", "matmuls per timed round")
    flops_per_round = Spec("FLOP", "per timed round")
    sampler_thread_cpu_pct_of_one_core = Spec("percent of one core", "the sampler thread's CPU over its life")
    sampler_thread_cpu_seconds = Spec("seconds", "the sampler thread's CPU time")
    sampler_wall_seconds = Spec("seconds", "the sampler's lifetime")
    sampler_samples = Spec("count", "samples taken")


class ConvergeRun(Section):
    """One seed's run of a converge case (an item of extra_info["seeds"], bench/converge.py)."""

    seed = Spec("integer", "the run's seed (weights, shuffling, the data's order)", required=True)
    reached = Spec("bool", "its evaluation accuracy reached the target within the budget", required=True)
    stop = Spec("text", "why it stopped: reached, max_epochs or max_seconds", required=True)
    seconds_to_target = Spec("seconds", "training seconds until the epoch whose evaluation reached the target, "
                             "from the first touch of the training data, evaluations excluded; null if not reached",
                             required=True)
    eval_seconds_to_target = Spec("seconds", "the evaluations' seconds up to that epoch (timed apart)")
    epochs_to_target = Spec("count", "epochs trained to the target")
    images_to_target = Spec("images", "images trained to the target")
    steps_to_target = Spec("count", "optimizer steps to the target")
    energy_j_to_target = Spec("joules", "GPU energy of the training epochs to the target (NVML); null where not "
                              "counted")
    best_accuracy = Spec("fraction 0..1", "the best evaluation accuracy of the run", required=True)
    train_seconds = Spec("seconds", "training seconds of the whole run (to the target, or to the budget's end)")
    eval_seconds = Spec("seconds", "the whole run's evaluation seconds")
    curve = Spec("list", "per epoch: {epoch, train_seconds, images, steps, energy_j (cumulative), accuracy, "
                 "eval_seconds, train_loss}", required=True)


class Converge(Section):
    """Written by converge cases (bench/bench_converge.py): training to a target accuracy, one run per seed."""

    target_accuracy = Spec("fraction 0..1", "the evaluation accuracy trained to (--bench-target-accuracy, or the "
                           "data set's default: bench/recipe.py)", required=True)
    lr = Spec("learning rate", "SGD's rate after the warm-up (bench/recipe.py, or --bench-lr)", required=True)
    warmup_steps = Spec("count", "optimizer steps of the linear warm-up to lr", required=True)
    lr_rule = Spec("text", "where lr came from: tutorial, linear, linear-capped or override", required=True)
    momentum = Spec("fraction", "SGD's momentum (the tutorial's 0.9)", required=True)
    max_epochs = Spec("count", "the budget of epochs", required=True)
    max_seconds = Spec("seconds", "the budget of training and evaluation seconds together (null: none)")
    eval_images = Spec("images", "test images each evaluation scores", required=True)
    data_source = Spec("text", "'synthetic-hard' or the real data set's folder", required=True)
    seeds = Spec("list of ConvergeRun", "one run per seed, in order (merged from the case's repeats)", required=True)


GROUPS: dict[str, type[Section]] = {
    LOADER: Loader, FORWARD: Forward, TRAIN_STEP: TrainStep, EPOCH: Epoch, PHASE_OVERHEAD: PhaseOverhead,
    DDP: Ddp, SAMPLER_OVERHEAD: SamplerOverhead, CONVERGE: Converge,
}


class Preflight(Section):
    """machine_info["cifarbench"]["preflight"] (bench/preflight.py)."""

    other_cpu_pct = Spec("percent of one core", "processes outside this one over the preflight's window")
    seconds = Spec("seconds", "the window")
    usable_cores = Spec("count", "cores this process may run on (affinity)")
    cpu_quota_cores = Spec("cores", "the cgroup CPU limit of this process (None without one)")
    load_avg_1m = Spec("count", "the 1-minute load average")
    busiest_others = Spec("list of text", "'name (pid N): M% of a core', the top few")
    gpu_other_processes = Spec("list of text", "'pid N on GPU i: M MiB' of processes that are not ours")
    quiet = Spec("bool", "other processes used less than the noisy threshold and no GPU is shared")
    message = Spec("text", "the line the sweep printed")
    steal_cpu_pct = Spec("percent of one core", "the hypervisor gave to other guests (None where not reported)")


class Canary(Section):
    """machine_info["cifarbench"]["canary"] (bench/canary.py)."""

    workload = Spec("text", "what one reading times")
    readings = Spec("list", "{at_s: seconds since the sweep began, before: the node id of the next case "
                    "(None at the end), images_per_sec, seconds}: one per reading, in order")
    drift = Spec("fraction", "(max - min) / median of the readings' images/s (contract.derive.relative_spread)")
    threshold = Spec("fraction", "a change between two readings beyond this makes the cases between them noisy")


class Machine(Section):
    """machine_info["cifarbench"] (bench/machine.py `collect`, bench/preflight.py, bench/canary.py)."""

    label = Spec("text", "--bench-label, or hostname-Nc-GPU", required=True)
    hostname = Spec("text", "")
    cpu_brand = Spec("text", "from py-cpuinfo")
    cpu_count_logical = Spec("count", "logical CPUs of the machine")
    cpu_count_usable = Spec("count", "CPUs this process may run on (affinity)")
    cpu_limit = Spec("dict", "the cgroup CPU limit of the sweep's process: limit_cores, version (1 or 2), "
                     "cgroup (the path that sets it); null without a limit")
    cpu_flags = Spec("list of text", "the vector and matrix extensions that decide CPU kernel speed")
    ram_gib = Spec("GiB", "total memory")
    torch_threads = Spec("count", "torch's intra-op threads for the sweep (cases of the threads axis set their "
                         "own: extra_info cpu_threads)")
    gpus = Spec("list", "{index, name, memory_total_mib (MiB), driver, power_limit_w (W)} from NVML")
    versions = Spec("dict", "{python, torch, torchvision, cuda, cudnn}")
    backend = Spec("dict", "{tf32_matmul, tf32_cudnn, cudnn_benchmark, float32_matmul_precision}")
    price_per_hour = Spec("money per hour", "--bench-price-per-hour, or null")
    peak_tflops = Spec("{device: {dtype: TFLOP/s}}", "measured square matmul, the practical peak")
    allreduce_busbw_gb_per_s = Spec("{'<backend>:ws<N>': {message bytes: GB/s}}", "all-reduce bus bandwidth "
                                    "between the ranks, from the ddp cases (nccl-tests' formula)")
    preflight = Spec("dict", "the machine before the first case (section Preflight)", fields=Preflight)
    canary = Spec("dict", "the machine's own speed through the sweep (section Canary)", fields=Canary)
    search = Spec("dict", "--bench-sweep auto: the search's path, stopping reason and budget (bench/search)")
    nnodes = Spec("count", "machines the ranks ran on (the file of a multi-node ddp run, bench/distributed/worker.py)")


class FileTrust(Section):
    level = Spec("ok|noisy|invalid", "the worst case's level", required=True)
    cases = Spec("{level: count}", "how many saved cases have each level", required=True)


class File(Section):
    """The results file's top-level "cifarbench" section (bench/session.py `SweepSession.document`)."""

    preset = Spec("text", "smoke, quick, standard, full or auto (older files: 'profile')", required=True)
    complete = Spec("bool", "every selected case ran and the file was written where asked", required=True)
    interrupted = Spec("bool", "the sweep was stopped (Ctrl-C, or a write failure)", required=True)
    started = Spec("ISO 8601 time, UTC", "", required=True)
    data = Spec("text", "'synthetic', 'synthetic-hard' or the real data set's folder", required=True)
    repeats = Spec("count", "how many times the sweep measured every case (--bench-repeats)")
    epoch_images = Spec("images", "--bench-epoch-images: the fixed work of every timed epoch round; null where "
                        "rounds were sized by time (fixed work compares across runs; other work is another case)")
    noise = Spec("dict", "the run-to-run noise this run measured: repeat_log_sd (the relative sd of a case's "
                 "repeats, pooled over the cases), cases, degrees_of_freedom (contract.derive.pooled_noise)")
    trust = Spec("dict", "{level: the worst case's level, cases: {level: count}}", required=True, fields=FileTrust)
    cases = Spec("list", "{nodeid, group, params, when, outcome, reason, duration_s}: every case not saved as a "
                 "measurement (skipped, failed, interrupted, not tried by the search), with the reason",
                 required=True)


def group_section(group: str | None) -> type[Section] | None:
    return GROUPS.get(group or "")


def documented_case_keys(group: str | None) -> set[str]:
    """Every extra_info key a case of `group` may write."""
    section = group_section(group)
    return set(Case.keys()) | (set(section.keys()) if section else set())


__all__ = [
    "GROUPS",
    "Canary",
    "Case",
    "Compile",
    "Converge",
    "ConvergeRun",
    "Ddp",
    "Epoch",
    "File",
    "FileTrust",
    "Forward",
    "Loader",
    "Machine",
    "PhaseOverhead",
    "Preflight",
    "SamplerOverhead",
    "TrainStep",
    "Trust",
    "documented_case_keys",
    "group_section",
]
