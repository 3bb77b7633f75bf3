"""Data-parallel scaling (the `ddp` group): records -> a scaling table -> a chart.

Pure stages, like the rest of reports/: `scaling_frame` tidies the ddp records of every machine;
`scaling_chart` draws scaling efficiency against world size per machine, with the per-rank spread.
Not wired into the HTML page yet (reports/html.py): `scaling_chart(scaling_frame(records))` is
the whole of it.

Efficiency is derived here, once, from raw images/s: a case's `images_per_sec` over world size x
the one-rank case of the same machine and configuration (model, device, loader, batch size).
A rank's efficiency is its own images/s over that one-rank figure (ideal: 1, under weak and strong
scaling alike), so the spread across ranks shows stragglers. Without a one-rank case on the same
machine (a multi-node file on its own), the efficiency the sweep recorded is used, else NaN.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd
from matplotlib.figure import Figure

from reports.load import Record

GROUP = "ddp"
CONFIG = ("model", "device", "loader", "batch_size")
COLUMNS = (
    "machine", "name", *CONFIG, "scaling", "world_size", "nnodes", "backend", "images_per_sec",
    "baseline_images_per_sec", "scaling_efficiency", "rank_efficiency_min", "rank_efficiency_max",
    "straggler_ratio", "allreduce_share",
)


def scaling_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per ddp case per machine (the `COLUMNS`), sorted by machine, configuration, world size."""
    rows = []
    for record in records:
        bench = record.benchmark
        info = bench.get("extra_info") or {}
        if bench.get("group") != GROUP or not isinstance(info.get("images_per_sec"), int | float):
            continue
        params = bench.get("params") or {}
        rows.append({
            "machine": record.machine, "name": bench["name"],
            **{axis: params.get(axis) for axis in CONFIG},
            "scaling": params.get("scaling", info.get("scaling")),
            "world_size": int(params.get("world_size", info.get("world_size", 1))),
            "nnodes": info.get("nnodes", 1), "backend": info.get("backend"),
            "images_per_sec": float(info["images_per_sec"]),
            "recorded_efficiency": info.get("scaling_efficiency"),
            "rank_images_per_sec": list(info.get("rank_images_per_sec") or []),
            "straggler_ratio": info.get("straggler_ratio", math.nan),
            "allreduce_share": info.get("allreduce_share", math.nan),
        })
    if not rows:
        return pd.DataFrame(columns=list(COLUMNS))
    frame = pd.DataFrame(rows)
    one_rank = frame[frame["world_size"] == 1].drop_duplicates(["machine", *CONFIG], keep="last")
    baselines = {tuple(row[key] for key in ("machine", *CONFIG)): row["images_per_sec"]
                 for _, row in one_rank.iterrows()}

    def derive(row) -> pd.Series:
        baseline = baselines.get(tuple(row[key] for key in ("machine", *CONFIG)), math.nan)
        if math.isnan(baseline):
            recorded = row["recorded_efficiency"]
            efficiency = float(recorded) if isinstance(recorded, int | float) else math.nan
            rank_efficiencies = [math.nan]
        else:
            efficiency = row["images_per_sec"] / (row["world_size"] * baseline)
            rank_efficiencies = [rate / baseline for rate in row["rank_images_per_sec"]] or [math.nan]
        return pd.Series({"baseline_images_per_sec": baseline, "scaling_efficiency": efficiency,
                          "rank_efficiency_min": min(rank_efficiencies),
                          "rank_efficiency_max": max(rank_efficiencies)})

    frame = pd.concat([frame, frame.apply(derive, axis=1)], axis=1)
    return frame[list(COLUMNS)].sort_values(["machine", *CONFIG, "scaling", "world_size"], ignore_index=True)


def scaling_chart(frame: pd.DataFrame) -> Figure:
    """Scaling efficiency against world size, one line per machine and configuration.

    Bars span the ranks' own efficiencies (slowest to fastest rank); the dashed line is perfect
    scaling. Built without pyplot, so it needs no display and leaks no global figure.
    """
    figure = Figure(figsize=(7, 4), layout="constrained")
    ax = figure.add_subplot()
    for key, rows in frame.groupby(["machine", *CONFIG, "scaling"], sort=True, dropna=False):
        machine, model, device, loader, batch_size, scaling = key
        rows = rows.sort_values("world_size")
        low = (rows["scaling_efficiency"] - rows["rank_efficiency_min"]).clip(lower=0).fillna(0)
        high = (rows["rank_efficiency_max"] - rows["scaling_efficiency"]).clip(lower=0).fillna(0)
        ax.errorbar(rows["world_size"], rows["scaling_efficiency"], yerr=[low, high], marker="o", capsize=3,
                    label=f"{machine}: {model} {device} {loader} bs{batch_size} {scaling}")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="perfect scaling")
    sizes = sorted(frame["world_size"].unique())
    if sizes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(size) for size in sizes])
    ax.set_xlabel("world size (ranks)")
    ax.set_ylabel("scaling efficiency")
    ax.set_ylim(bottom=0)
    ax.set_title("Data-parallel scaling (bars: slowest to fastest rank)")
    ax.legend(fontsize="small", loc="lower left")
    return figure
