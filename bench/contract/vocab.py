"""The words and numbers both sides of the results file share: groups, axes, levels, sizes.

Written once here and imported by the harness (bench/) that writes the file and by the report
(reports/) that reads it. Nothing here imports torch, pandas or anything beyond the standard
library: `import reports` must stay light.
"""

from __future__ import annotations

# A full CIFAR-10 training epoch, in images; figures of fewer images are projected to it.
FULL_EPOCH_IMAGES = 50_000
TEST_IMAGES = 10_000
NUM_CLASSES = 10
CHANCE_ACCURACY = 1 / NUM_CLASSES

# The benchmark groups (pytest-benchmark's `group`), in the order the report shows them.
LOADER, FORWARD, TRAIN_STEP, EPOCH, CONVERGE, DDP = "loader", "forward", "train_step", "epoch", "converge", "ddp"
SAMPLER_OVERHEAD, PHASE_OVERHEAD = "sampler_overhead", "phase_overhead"
THROUGHPUT_GROUPS = (LOADER, FORWARD, TRAIN_STEP, EPOCH)
COMPUTE_GROUPS = (FORWARD, TRAIN_STEP, EPOCH)  # groups with a device that computes
COMPILE_GROUPS = (TRAIN_STEP, EPOCH)  # groups with the `compile` axis
OVERHEAD_GROUPS = (SAMPLER_OVERHEAD, PHASE_OVERHEAD)
# Groups whose cases have an images/s figure (every key of `keys.Case` marked required).
IMAGE_GROUPS = (*THROUGHPUT_GROUPS, DDP, PHASE_OVERHEAD, CONVERGE)

# The parametrize axes of the cases, which are also the report's columns, in the order shown.
AXES = ("model", "device", "batch_size", "num_workers", "threads", "loader", "transform", "pin_memory", "amp",
        "channels_last", "compile")
BOOLEAN_AXES = ("pin_memory", "amp", "channels_last")
EAGER = "eager"  # the `compile` axis without torch.compile
LOADERS = ("pil", "tensor", "device")

# The tutorial's own settings: the reference every answer is given against.
TUTORIAL_SETTINGS = {"batch_size": 4, "num_workers": 2, "loader": "pil"}
TUTORIAL_LR = 0.001
TUTORIAL_MOMENTUM = 0.9

# Trust levels, best to worst.
OK, NOISY, INVALID = "ok", "noisy", "invalid"
TRUST_LEVELS = (OK, NOISY, INVALID)

# Where an epoch's time goes (bench/phases.py), in step order; `other` is the rest of a round.
PHASES = ("input_wait", "copy", "forward", "backward", "optimizer")
PHASE_SHARES = (*PHASES, "other")

# GPU activity from NVML's GPM (Hopper and later), percent over the timed rounds.
GPM_METRICS = ("sm_active_pct", "sm_occupancy_pct", "tensor_active_pct", "dram_bw_util_pct")

# Where the data came from (`data_source`): the embedded sets, or the real data set's folder.
SYNTHETIC = "synthetic"
SYNTHETIC_HARD = "synthetic-hard"

# How an images/s interval was made (`images_per_sec_interval_basis`).
INTERVAL_FROM_REPEATS = "repeats"  # several repeats of the case, spread over the sweep
INTERVAL_FROM_ROUNDS = "rounds"  # one repeat: the spread of its rounds only, within one run


def worst_level(levels) -> str:
    """The worst of several trust levels ("ok" for none; unknown words are ignored)."""
    return max((level for level in levels if level in TRUST_LEVELS), key=TRUST_LEVELS.index, default=OK)
