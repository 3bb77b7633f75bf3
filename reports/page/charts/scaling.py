"""The scaling chart: data-parallel efficiency against world size, from the analysis's scaling points.

`points_frame` lays the points out as a frame (`POINT_COLUMNS`) and `scaling_chart` draws
efficiency against world size per machine and configuration, with the per-rank spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import pandas as pd
from matplotlib.figure import Figure

from reports.analysis.scaling import CONFIG, ScalingPoint
from reports.page.charts.base import MAX_MACHINES, Chart, chart_style

POINT_COLUMNS = (
    "machine", "name", *CONFIG, "scaling", "world_size", "nnodes", "backend", "images_per_sec",
    "baseline_images_per_sec", "scaling_efficiency", "rank_efficiency_min", "rank_efficiency_max",
    "straggler_ratio", "allreduce_share",
)


def points_frame(points: Sequence[ScalingPoint]) -> pd.DataFrame:
    """The points as a DataFrame with the `POINT_COLUMNS` (NaN where unknown)."""
    if not points:
        return pd.DataFrame(columns=list(POINT_COLUMNS))
    frame = pd.DataFrame([asdict(point) for point in points])
    numbers = ["images_per_sec", "baseline_images_per_sec", "scaling_efficiency", "rank_efficiency_min",
               "rank_efficiency_max", "straggler_ratio", "allreduce_share"]
    frame[numbers] = frame[numbers].astype("float64")
    return frame[list(POINT_COLUMNS)]


def scaling_efficiency(points: Sequence[ScalingPoint]) -> Chart:
    """Data-parallel scaling efficiency against world size, with the ranks' spread (`reports.analysis.scaling`)."""
    title = "Scaling efficiency against world size"
    sentence = ("Per machine and configuration: the images per second of all ranks together over the number of "
                "ranks times one rank's (100% is perfect scaling, the dashed line). Bars span the ranks' own "
                "efficiencies, slowest to fastest rank: a long bar is a straggler.")
    known = [point for point in points if point.scaling_efficiency is not None]
    if not known:
        return Chart("scaling", title, sentence, None,
                     "no data-parallel case has a one-rank case of its configuration on its machine")
    if max(point.world_size for point in known) < 2:  # one GPU: a single point at 100% says nothing
        return Chart("scaling", title, sentence, None,
                     "every data-parallel case ran one rank (one device): nothing to scale; the table gives "
                     "its DDP overhead")
    # The machines with the highest throughput at their largest world size, as the line charts keep theirs.
    best = {}
    for point in known:
        best[point.machine] = max(best.get(point.machine, 0.0), point.images_per_sec or 0.0)
    kept = sorted(best, key=best.__getitem__, reverse=True)[:MAX_MACHINES]
    note = (f" The {MAX_MACHINES} fastest of {len(best)} machines are drawn; the table has them all."
            if len(best) > MAX_MACHINES else "")
    with chart_style():
        figure = scaling_chart(points_frame([point for point in points if point.machine in kept]))
    return Chart("scaling", title, sentence + note, figure)


def scaling_chart(frame: pd.DataFrame) -> Figure:
    """Scaling efficiency against world size, one line per machine and configuration.

    Bars span the ranks' own efficiencies (slowest to fastest rank); the dashed line is perfect
    scaling. Built without pyplot, so it needs no display and leaks no global figure.
    """
    figure = Figure(figsize=(9, 4), layout="constrained")
    ax = figure.add_subplot()
    drawn = frame[frame["scaling_efficiency"].notna()]
    for key, rows in drawn.groupby(["machine", *CONFIG, "scaling"], sort=True, dropna=False):
        machine, model, device, loader, batch_size, scaling = key
        rows = rows.sort_values("world_size")
        low = (rows["scaling_efficiency"] - rows["rank_efficiency_min"]).clip(lower=0).fillna(0)
        high = (rows["rank_efficiency_max"] - rows["scaling_efficiency"]).clip(lower=0).fillna(0)
        ax.errorbar(rows["world_size"], rows["scaling_efficiency"], yerr=[low, high], marker="o", capsize=3,
                    label=f"{machine}: {model} {device} {loader} bs{batch_size:g} {scaling}")
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1, label="perfect scaling")
    sizes = sorted(int(size) for size in frame["world_size"].unique())
    if sizes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(size) for size in sizes])
        ax.minorticks_off()
    ax.set_xlabel("world size (ranks)")
    ax.set_ylabel("scaling efficiency")
    ax.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    highest = pd.concat([drawn["scaling_efficiency"], drawn["rank_efficiency_max"]]).max()
    ax.set_ylim(0, max(1.1, float(highest) * 1.05) if pd.notna(highest) else 1.1)
    ax.set_title("bars: slowest to fastest rank", fontsize=9, loc="left")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return figure
