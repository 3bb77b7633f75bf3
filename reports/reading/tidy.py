"""Stage 2, tidy: records -> one long pandas DataFrame, one row per case per machine.

Parameter names are columns (NaN/None where a group lacks the axis); the derived figures
(fraction of peak, joules per epoch, GPU-over-CPU speedup, ...) are computed once, here.
`TIDY_COLUMNS` is the contract other stages (cases, analysis, charts, tables) code against:
columns may be added, never renamed. Utilization metrics are flattened to `<metric>_mean`,
`<metric>_p95` and `<metric>_max`; the known ones always exist (NaN where not sampled).

When one machine has measured the same case more than once (several result files), the
newest run's row is kept; `reports.reading.runs` lists the older runs and keeps machines that
share a label apart before this stage. Each case keeps its timed rounds (`min_s`, `median_s`, `max_s`,
`rounds`, and the images/s of the fastest and slowest round) and the harness's trust
assessment (`trust_level`: ok, noisy, invalid, or None in files older than the assessment).

GPU activity: `gpu_util_pct_*` is NVML's utilization.gpu, the share of time in which any kernel
was active (one small kernel at a time reads 100%). Where the case recorded GPM
(`extra_info["gpm"]`, Hopper and later), `sm_active_pct`, `sm_occupancy_pct`,
`tensor_active_pct` and `dram_bw_util_pct` hold its values over the timed rounds (else the
sampled series' means, else NaN) and `gpm_reason` says why GPM is missing.

Data-parallel (`ddp`) cases keep their own columns (`world_size`, `nnodes`, `backend`,
`scaling`, `rank_images_per_sec` as a tuple by rank, ...); `reports.analysis.scaling` derives
their efficiency. Their `images_per_sec` is all ranks together, so no single-device stage reads them.

`compile` is `eager` or the torch.compile mode of a train_step or epoch case; files older than
the axis read as `eager` (None for the groups without it). Compiled and eager rows are
different configurations: `eager` gives the rows the analysis and the charts compare. `threads`
is torch's intra-op threads of the case (files older than the axis: the threads it recorded).

Keys are read with the contract's names (`bench.contract`), figures that are not in the file
derived with its functions (`bench.contract.derive`); the records were brought to today's form
by the one compatibility path when they were loaded (`bench.contract.upgrade`). Each case has
its interval (`images_per_sec_low`, `images_per_sec_high`: where another run of the same sweep
would read it, `interval_basis`: repeats, or rounds within one run) and its repeats.

Beside this frame, from the same records: the machines frame (`reports.reading.machines`), the
cases not measured (`reports.reading.not_measured`) and the sampler's timelines
(`reports.reading.timelines`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from bench.contract import Case, Converge, Ddp, Epoch, Loader, Machine, Reason, TrainStep, derive, vocab
from bench.contract import Trust as TrustKeys
from reports.reading.load import Record

FULL_EPOCH_IMAGES = vocab.FULL_EPOCH_IMAGES
GROUPS = vocab.THROUGHPUT_GROUPS
DDP_GROUP = vocab.DDP  # data-parallel epochs over several ranks: reports.analysis.scaling reads them
COMPUTE_GROUPS = vocab.COMPUTE_GROUPS  # groups with a device that computes
COMPILE_GROUPS = vocab.COMPILE_GROUPS  # groups with the `compile` axis
EAGER = vocab.EAGER

# The sweep's parametrize axes, in the order the report shows them.
AXES = vocab.AXES
BOOLEAN_AXES = vocab.BOOLEAN_AXES

UTILIZATION_METRICS = (
    "cpu_pct", "cpu_core_pct_max", "cpu_core_pct_mean", "proc_cpu_pct", "proc_rss_mib",
    "workers_cpu_pct", "workers_count",
    "gpu_util_pct", "gpu_mem_util_pct", "gpu_mem_used_mib", "gpu_power_w", "gpu_sm_clock_mhz",
    "gpu_temp_c", "gpu_pcie_tx_mib_per_sec", "gpu_pcie_rx_mib_per_sec",
    "gpu_sm_active_pct", "gpu_sm_occupancy_pct", "gpu_tensor_active_pct", "gpu_dram_bw_util_pct",
)
GPM_METRICS = vocab.GPM_METRICS  # percent over the timed rounds: bench/sampling/gpm.py
# A ddp case's own facts (bench/distributed/gather.py `summarize`).
DDP_COLUMNS = (Ddp.scaling, Ddp.world_size, Ddp.nnodes, Ddp.backend, Ddp.rank_images_per_sec, Ddp.scaling_efficiency,
               Ddp.baseline_images_per_sec, Ddp.straggler_ratio, Ddp.allreduce_share)
UTILIZATION_STATS = ("mean", "p95", "max")
# A converge case's answer over its seeds (bench.contract.derive.time_to_target), its settings and
# its curves (a tuple of seeds, each a tuple of (training seconds, accuracy) points).
CONVERGE_COLUMNS = ("target_accuracy", "lr", "warmup_steps", "lr_rule", "seeds", "seeds_reached",
                    "time_to_target_s", "time_to_target_low_s", "time_to_target_high_s", "eval_seconds_to_target",
                    "epochs_to_target", "images_to_target", "steps_to_target", "energy_j_to_target", "best_accuracy",
                    "curves")
# Where an epoch's time went (bench/phases.py), as shares of the timed rounds.
PHASE_NAMES = vocab.PHASE_SHARES
TRUST_LEVELS = vocab.TRUST_LEVELS  # best to worst; None: not assessed (older files)

# The contract: every tidy frame has these columns (plus any other utilization metric found).
TIDY_COLUMNS = (
    "machine", "file", "run_started", "group", "name", "fullname", "param", "params",
    "device", "device_kind", "device_name",
    *(axis for axis in AXES if axis != "device"),
    "median_s", "mean_s", "stddev_s", "min_s", "max_s", "rounds", "rounds_spread",
    "images_per_round", "images_per_sec", "images_per_sec_min", "images_per_sec_max",
    "images_per_sec_low", "images_per_sec_high", "interval_basis", "repeats",
    "trust_level", "trust_reasons", "other_cpu_pct",
    "flops_per_image", "achieved_tflops", "peak_tflops", "fraction_of_peak",
    "epoch_images", "epoch_seconds", "full_epoch_seconds", "full_epoch_projected",
    "eval_accuracy", "train_loss", "first_batch_seconds", "peak_mem_mib", "compile_seconds", "recompiles",
    "energy_j", "energy_j_per_round", "images_per_joule", "joules_per_epoch",
    "price_per_hour", "cpu_threads", "cpu_brand", "gpu_name",
    "data_source", "profile", "preset", "throttle_reasons", "timeline_points", "search_rung", "cifarbench",
    *(f"{metric}_{stat}" for metric in UTILIZATION_METRICS for stat in UTILIZATION_STATS),
    "speedup_vs_cpu", *GPM_METRICS, "gpm_reason", *DDP_COLUMNS,
    *(f"phase_{name}_share" for name in PHASE_NAMES), "device_idle_share", "trace_file", "trace_top_ops",
    *CONVERGE_COLUMNS,
)

# extra_info entries copied as they are (numbers).
_EXTRA_NUMBERS = (
    Case.images_per_round, Case.images_per_sec, Case.flops_per_image, Case.achieved_tflops, Epoch.epoch_images,
    Epoch.epoch_seconds, Epoch.full_epoch_seconds, Epoch.eval_accuracy, TrainStep.train_loss,
    Loader.first_batch_seconds, Case.peak_mem_mib, Case.energy_j, Case.energy_j_per_round, Case.images_per_joule,
    Case.cpu_threads, Epoch.compile_seconds, Epoch.recompiles,
)


def tidy(records: Iterable[Record]) -> pd.DataFrame:
    """One row per case per machine, with the columns of `TIDY_COLUMNS` (and any further metrics)."""
    rows = [_row(record) for record in records]
    frame = pd.DataFrame(rows)
    extra = [column for column in frame.columns if column not in TIDY_COLUMNS]
    frame = frame.reindex(columns=[*TIDY_COLUMNS, *extra])
    frame = _typed(frame)
    frame = _newest_per_case(frame)
    frame["speedup_vs_cpu"] = _speedup_vs_cpu(frame)
    return _sorted(frame)


def _row(record: Record) -> dict:
    benchmark = record.benchmark
    info = benchmark.get("extra_info") or {}
    stats = benchmark.get("stats") or {}
    params = benchmark.get("params") or {}
    facts = record.facts
    ours = record.cifarbench
    group = benchmark.get("group")
    row: dict = {
        "machine": record.machine,
        "file": record.file,
        "run_started": record.run.get("started") or record.datetime,
        "group": group,
        "name": benchmark.get("name"),
        "fullname": benchmark.get("fullname") or benchmark.get("name"),
        "param": benchmark.get("param"),
        "params": ", ".join(f"{key}={value}" for key, value in params.items()) or None,
        "cifarbench": ours,
        "median_s": stats.get("median"),
        "mean_s": stats.get("mean"),
        "stddev_s": stats.get("stddev"),
        "min_s": stats.get("min"),
        "max_s": stats.get("max"),
        "rounds": stats.get("rounds"),
    }
    row["rounds_spread"] = derive.rounds_spread(stats.get("data") or [])
    if row["rounds_spread"] is None and isinstance(stats.get("min"), int | float) and stats.get("median"):
        row["rounds_spread"] = (stats["max"] - stats["min"]) / stats["median"]  # a file without its rounds
    if not ours:
        return row
    for axis in AXES:
        row[axis] = params.get(axis)
    if group in COMPILE_GROUPS and row["compile"] is None:
        row["compile"] = EAGER  # recorded before the axis existed
    if group == vocab.LOADER:
        # A loader case has no compute device; its batches land on data_device.
        row["device"] = info.get(Loader.data_device) or "cpu"
    device = _canonical_device(row["device"])
    row["device"] = device
    row["device_kind"] = None if device is None else "cuda" if device.startswith("cuda") else "cpu"
    if group == vocab.EPOCH and row["pin_memory"] is None:
        row["pin_memory"] = info.get(Epoch.pin_memory)
    for key in _EXTRA_NUMBERS:
        row[key] = info.get(key)
    rounds = stats.get("data") or []
    if row["images_per_sec"] is None and row["images_per_round"] and rounds:
        row["images_per_sec"] = derive.images_per_sec(row["images_per_round"], rounds)
    if row["images_per_round"] and row["min_s"] and row["max_s"]:
        row["images_per_sec_max"] = row["images_per_round"] / row["min_s"]  # the fastest round
        row["images_per_sec_min"] = row["images_per_round"] / row["max_s"]
    interval = info.get(Case.images_per_sec_interval)
    if isinstance(interval, list) and len(interval) == 2:
        row["images_per_sec_low"], row["images_per_sec_high"] = interval
        row["interval_basis"] = info.get(Case.images_per_sec_interval_basis)
    row["repeats"] = len(info.get(Case.repeats) or []) or None
    row["search_rung"] = (info.get(Case.search) or {}).get("rung")
    trust = info.get(Case.trust)
    row["trust_reasons"] = ()
    if isinstance(trust, dict):
        level = trust.get(TrustKeys.level)
        row["trust_level"] = level if level in TRUST_LEVELS else None
        row["trust_reasons"] = tuple(Reason.from_dict(reason) for reason in trust.get(TrustKeys.reasons) or ())
        row["other_cpu_pct"] = trust.get(TrustKeys.other_cpu_pct)
        if isinstance(trust.get(TrustKeys.rounds_spread), int | float):
            row["rounds_spread"] = trust[TrustKeys.rounds_spread]  # within a repeat, as the verdict judged it
    if row["achieved_tflops"] is None:
        row["achieved_tflops"] = derive.achieved_tflops(row["flops_per_image"], row["images_per_sec"])
    row["full_epoch_projected"] = info.get(Epoch.full_epoch_projected)
    # The case's threads: its axis, else what it recorded, else the sweep's.
    row["cpu_threads"] = row["cpu_threads"] or facts.get(Machine.torch_threads)
    if group in (vocab.FORWARD, vocab.TRAIN_STEP, vocab.EPOCH) and row["threads"] is None:
        row["threads"] = row["cpu_threads"]
    row["cpu_brand"] = facts.get(Machine.cpu_brand) or (record.machine_info.get("cpu") or {}).get("brand_raw")
    row["gpu_name"] = _gpu_name(facts, device)
    row["device_name"] = info.get(Case.device_name) or (row["gpu_name"] if row["device_kind"] == "cuda" else "cpu")
    row["price_per_hour"] = facts.get(Machine.price_per_hour)
    row["data_source"] = info.get(Epoch.data_source) or record.run.get("data")
    row["profile"] = record.run.get("profile")
    row["preset"] = record.run.get("preset") or record.run.get("profile")
    throttle = info.get(Case.throttle_reasons)
    row["throttle_reasons"] = ", ".join(map(str, throttle)) if throttle else None
    timeline = info.get(Case.timeline)
    row["timeline_points"] = len(timeline.get("t_s") or []) if isinstance(timeline, dict) else 0
    if group in COMPUTE_GROUPS:
        dtype = "bfloat16" if row["amp"] else "float32"
        row["peak_tflops"] = ((facts.get(Machine.peak_tflops) or {}).get(device) or {}).get(dtype)
        row["fraction_of_peak"] = derive.fraction_of_peak(row["achieved_tflops"], row["peak_tflops"])
    if row["energy_j"] is not None and row["images_per_round"] and rounds:
        row["joules_per_epoch"] = derive.joules_per_epoch(row["energy_j"], row["images_per_round"] * len(rounds))
    elif row["energy_j_per_round"] is not None and row["images_per_round"]:
        row["joules_per_epoch"] = derive.joules_per_epoch(row["energy_j_per_round"], row["images_per_round"])
    elif row["images_per_joule"]:
        row["joules_per_epoch"] = FULL_EPOCH_IMAGES / row["images_per_joule"]
    phases = info.get(Epoch.phases)
    if isinstance(phases, dict) and isinstance(phases.get("share"), dict):
        for name in PHASE_NAMES:
            row[f"phase_{name}_share"] = phases["share"].get(name)
        row["device_idle_share"] = phases.get("device_idle_share")
    trace = info.get(Epoch.trace)
    if isinstance(trace, dict) and trace.get("path"):
        # recorded relative to the results file's folder
        row["trace_file"] = str(Path(record.file).parent / trace["path"])
        row["trace_top_ops"] = tuple((str(op.get("name")), op.get("self_seconds"), op.get("calls"))
                                     for op in trace.get("top_ops") or () if isinstance(op, dict))
    for metric, summary in (info.get(Case.utilization) or {}).items():
        if isinstance(summary, dict):
            for stat in UTILIZATION_STATS:
                row[f"{metric}_{stat}"] = summary.get(stat)
    reading = _gpm_reading(info.get(Case.gpm), device)
    for metric in GPM_METRICS:
        value = reading.get(metric)
        row[metric] = value if isinstance(value, int | float) else row.get(f"gpu_{metric}_mean")
    if reading and not reading.get("supported"):
        row["gpm_reason"] = reading.get("reason") or "GPM not recorded"
    if group == vocab.CONVERGE:
        _converge(row, info)
    if group == DDP_GROUP:
        for key in (Ddp.nnodes, Ddp.backend, Ddp.scaling_efficiency, Ddp.baseline_images_per_sec,
                    Ddp.straggler_ratio, Ddp.allreduce_share):
            row[key] = info.get(key)
        row["scaling"] = params.get("scaling", info.get(Ddp.scaling))
        row["world_size"] = params.get("world_size", info.get(Ddp.world_size))
        rates = info.get(Ddp.rank_images_per_sec)
        row["rank_images_per_sec"] = tuple(float(rate) for rate in rates) if isinstance(rates, list) else ()
    return row


def _converge(row: dict, info: dict) -> None:
    """A converge case's columns: its settings, and its answer over its seeds."""
    for key in (Converge.target_accuracy, Converge.lr, Converge.warmup_steps, Converge.lr_rule):
        row[key] = info.get(key)
    seeds = [run for run in info.get(Converge.seeds) or [] if isinstance(run, dict)]
    answer = derive.time_to_target(seeds)
    row.update(seeds=answer.seeds, seeds_reached=answer.reached, time_to_target_s=answer.seconds,
               time_to_target_low_s=answer.seconds_low, time_to_target_high_s=answer.seconds_high,
               eval_seconds_to_target=answer.eval_seconds, epochs_to_target=answer.epochs,
               images_to_target=answer.images, steps_to_target=answer.steps, energy_j_to_target=answer.energy_j,
               best_accuracy=answer.best_accuracy)
    row["curves"] = tuple(tuple((point.get("train_seconds"), point.get("accuracy")) for point in run.get("curve") or ())
                          for run in seeds)


def _gpm_reading(gpm: object, device: str | None) -> dict:
    """The GPM reading of the case's GPU: `extra_info["gpm"]` holds one, or one per CUDA index."""
    if not isinstance(gpm, dict):
        return {}
    if "supported" in gpm:
        return gpm
    index = device.partition(":")[2] if device and device.startswith("cuda") else ""
    reading = gpm.get(index or "0") or next((value for value in gpm.values() if isinstance(value, dict)), {})
    return reading if isinstance(reading, dict) else {}


def _canonical_device(device: object) -> str | None:
    if device is None or (isinstance(device, float) and math.isnan(device)):
        return None
    device = str(device)
    return "cuda:0" if device == "cuda" else device


def _gpu_name(facts: dict, device: str | None) -> str | None:
    """The GPU a cuda row ran on; for a CPU row, the machine's first GPU (or None)."""
    gpus = [gpu for gpu in facts.get("gpus") or [] if isinstance(gpu, dict)]
    if device and device.startswith("cuda"):
        index = int(device.partition(":")[2] or 0)
        for gpu in gpus:
            if gpu.get("index") == index:
                return gpu.get("name")
    return gpus[0].get("name") if gpus else None


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as float64 (NaN where absent); booleans as True/False/None; flags as bool."""
    text = {"machine", "file", "run_started", "group", "name", "fullname", "param", "params", "device",
            "interval_basis", "device_kind", "device_name", "model", "loader", "transform", "compile",
            "cpu_brand", "gpu_name", "data_source", "profile", "preset", "throttle_reasons", "trust_level",
            "gpm_reason", "scaling", "backend", "trace_file", "lr_rule"}
    objects = {"trust_reasons", "rank_images_per_sec", "trace_top_ops", "curves"}
    flags = {*BOOLEAN_AXES, "full_epoch_projected"}
    for column in frame.columns:
        if column in objects:
            frame[column] = pd.Series([value if isinstance(value, tuple) else () for value in frame[column]],
                                      index=frame.index, dtype=object)
        elif column == "cifarbench":
            frame[column] = frame[column].astype(bool)
        elif column in flags:
            frame[column] = pd.Series(
                [None if value is None or value != value else bool(value) for value in frame[column]],
                index=frame.index, dtype=object)
        elif column not in text:
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    frame["run_started"] = pd.to_datetime(frame["run_started"], utc=True, errors="coerce", format="ISO8601")
    return frame


def _newest_per_case(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep the newest run's row when one machine measured the same case more than once."""
    ordered = frame.sort_values("run_started", kind="stable", na_position="first")
    keys = ordered[["machine", "group", "fullname"]].astype(str)
    return ordered[~keys.duplicated(keep="last")].copy()  # a frame of its own: columns are added next


def _speedup_vs_cpu(frame: pd.DataFrame) -> pd.Series:
    """images/s of a cuda row over the same machine's cpu row with equal other params.

    `pin_memory` is not part of the match: a GPU epoch pins host memory and records
    `pin_memory=True`, the CPU epoch of the same configuration does not.
    """
    keys = ["machine", "group", *(axis for axis in AXES if axis not in ("device", "pin_memory"))]
    ours = frame["cifarbench"] & frame["group"].isin(COMPUTE_GROUPS)
    if not ours.any():
        return pd.Series(float("nan"), index=frame.index)
    keyed = frame[keys].astype(object)
    keyed = keyed.where(keyed.notna(), "").astype(str)  # None and NaN alike: not an axis of this case
    keyed = keyed.assign(_cpu=(ours & (frame["device_kind"] == "cpu")).to_numpy(),
                         _ips=frame["images_per_sec"].to_numpy())
    cpu = keyed[keyed["_cpu"]].drop_duplicates(subset=keys, keep="last").set_index(keys)["_ips"]
    cuda = ours & (frame["device_kind"] == "cuda")
    speedup = pd.Series(float("nan"), index=frame.index)
    if cuda.any() and not cpu.empty:
        index = pd.MultiIndex.from_frame(keyed.loc[cuda, keys])
        base = cpu.reindex(index).to_numpy()
        speedup[cuda] = frame.loc[cuda, "images_per_sec"].to_numpy() / base
    return speedup.where(speedup > 0)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    rank = frame["group"].map({group: number for number, group in enumerate(GROUPS)})
    order = frame.assign(_ours=~frame["cifarbench"], _rank=rank).sort_values(
        ["_ours", "machine", "_rank", "group", "model", "device", "batch_size", "num_workers", "loader",
         "transform", "compile", "name"],
        kind="stable", na_position="last",
    )
    return order.drop(columns=["_ours", "_rank"]).reset_index(drop=True)


def ours(frame: pd.DataFrame) -> pd.DataFrame:
    """cifarbench's own rows."""
    return frame[frame["cifarbench"]]


def eager(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows without torch.compile: eager cases, and every row of a group without the axis."""
    return frame[frame["compile"].isna() | (frame["compile"] == EAGER)]


def foreign(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of foreign pytest-benchmark files."""
    return frame[~frame["cifarbench"]]


