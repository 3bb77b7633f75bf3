"""Utilization charts: GPU and CPU busy by batch size and workers, across machines, and over time.

NVML's utilization.gpu is the share of time any kernel ran, not how much of the GPU worked;
the charts say so, and show GPM's SM and tensor activity where it was recorded.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from reports.page.charts.base import (
    MAX_BARS,
    MAX_HEATMAPS,
    MAX_TIMELINES,
    WIDTH_IN,
    Chart,
    capped,
    chart_style,
    our_rows,
    outside_legend,
    series_of,
    small_multiples,
)
from reports.reading.tidy import UTILIZATION_METRICS

# One color per utilization metric, the same in every chart.
UTILIZATION_COLORS = {
    "gpu_util_pct": "#2a9d3a",
    "gpu_sm_active_pct": "#0b5d1e",
    "sm_active_pct": "#0b5d1e",
    "tensor_active_pct": "#c2185b",
    "cpu_pct": "#1f6fb4",
    "cpu_core_pct_max": "#f08a24",
    "workers_cpu_pct": "#8e5cc2",
}


UTILIZATION_LABELS = {
    # NVML's utilization.gpu: the share of time any kernel ran (one small kernel reads 100%).
    "gpu_util_pct": "GPU kernel active",
    "gpu_sm_active_pct": "GPU SMs active (GPM)",
    "sm_active_pct": "GPU SMs active (GPM)",
    "tensor_active_pct": "GPU tensor pipes active (GPM)",
    "cpu_pct": "CPU, all cores",
    "cpu_core_pct_max": "CPU, busiest core",
    "proc_cpu_pct": "main process CPU",
    "workers_cpu_pct": "DataLoader workers CPU",
    "gpu_mem_util_pct": "GPU memory bandwidth",
}


def utilization_heatmap(frame: pd.DataFrame, metric: str = "gpu_util_pct_mean") -> Chart:
    """Mean utilization over each epoch configuration: batch size x DataLoader workers."""
    gpu = metric.startswith("gpu_")
    what = "GPU" if gpu else "CPU"
    key = f"utilization_heatmap_{metric}"
    title = ("GPU kernel-active time by batch size and workers" if metric == "gpu_util_pct_mean"
             else f"{what} utilization by batch size and workers")
    measured = ("share of time a GPU kernel was active" if metric == "gpu_util_pct_mean"
                else _metric_label(metric))
    sentence = (f"Mean {measured} (percent) while training an epoch, for each batch size "
                "(rows) and DataLoader worker count (columns), one panel per machine, device and model. "
                "Each cell is the fastest input pipeline at that setting.")
    if gpu:
        sentence += (" It is NVML's utilization.gpu, the share of time in which any kernel ran: a low number means "
                     "the GPU waits for work (input, Python or launch overhead); a high one does not mean its SMs "
                     "are busy, since one small kernel at a time reads 100%.")
    else:
        sentence += " It counts every core of the machine, the DataLoader workers included."
    if metric not in frame.columns:
        return Chart(key, title, sentence, None, f"no {metric} column in the results")
    rows = our_rows(frame, ["epoch"], ["images_per_sec", "batch_size", "num_workers"])
    if gpu:
        rows = rows[rows["device_kind"] == "cuda"]
    if rows.empty:
        reason = ("no GPU epoch results (CPU-only machines)" if gpu else "no epoch results")
        return Chart(key, title, sentence, None, reason)
    rows = rows[rows[metric].notna()]
    if rows.empty:
        return Chart(key, title, sentence, None,
                     f"no {what} utilization was sampled in the epoch results ({metric} is missing)")
    rows = rows.assign(panel=series_of(rows) + " · " + rows["model"].astype(str))
    top = rows.loc[rows.groupby(["panel", "batch_size", "num_workers"], sort=False)["images_per_sec"].idxmax()]
    panels, note = capped(list(dict.fromkeys(top["panel"])), MAX_HEATMAPS, "panels")
    per_row = 3
    with chart_style():
        vmax = max(100.0, float(top[metric].max()))
        figure, axes = small_multiples(len(panels), height_in=3.0, per_row=per_row, sharey=False,
                               width_in=min(WIDTH_IN, 3.6 * len(panels) + 1.2))
        for index, (ax, panel) in enumerate(zip(axes, panels, strict=True)):
            grid = top[top["panel"] == panel].pivot_table(index="batch_size", columns="num_workers",
                                                         values=metric, aggfunc="max")
            grid.index = [f"{int(value)}" for value in grid.index]
            grid.columns = [f"{int(value)}" for value in grid.columns]
            sns.heatmap(grid, ax=ax, vmin=0, vmax=vmax, cmap="rocket_r", annot=True, fmt=".0f", cbar=False,
                        linewidths=0.5, linecolor="white")
            ax.set_title(panel, fontsize=9)
            ax.set_xlabel("DataLoader workers")
            ax.set_ylabel("batch size" if index % per_row == 0 else "")
            ax.tick_params(axis="y", rotation=0)
        # One color scale for every panel (same vmin and vmax), drawn once.
        figure.colorbar(axes[0].collections[0], ax=axes, shrink=0.8,
                        label="GPU kernel active, % of time" if gpu else f"{what} utilization %")
    return Chart(key, title, sentence + note, figure)


def utilization_by_machine(frame: pd.DataFrame) -> Chart:
    """GPU and CPU utilization of each machine's fastest epoch configuration, side by side."""
    title = "Utilization across machines"
    metrics = ["gpu_util_pct_mean", "sm_active_pct", "tensor_active_pct", "cpu_pct_mean", "cpu_core_pct_max_mean"]
    sentence = ("Mean utilization (percent) during the fastest epoch configuration of each machine, "
                "device and model: the share of time a GPU kernel was active (NVML; not how much of the GPU "
                "worked), where recorded the GPU's SMs and tensor pipes active (GPM), how busy the CPU was "
                "across all cores, and its busiest core (a core near 100% while the rest idle points to a "
                "single-threaded bottleneck).")
    rows = our_rows(frame, ["epoch"], ["images_per_sec", "model"])
    if rows.empty:
        return Chart("utilization_by_machine", title, sentence, None, "no epoch results")
    present = [metric for metric in metrics if metric in rows.columns and rows[metric].notna().any()]
    if not present:
        return Chart("utilization_by_machine", title, sentence, None,
                     "no utilization was sampled in the epoch results")
    rows = rows.assign(configuration=series_of(rows) + " · " + rows["model"].astype(str))
    top = rows.loc[rows.groupby("configuration", sort=False)["images_per_sec"].idxmax()]
    configurations, note = capped(list(top["configuration"]), MAX_BARS, "configurations")
    top = top[top["configuration"].isin(configurations)]
    long = top.melt(id_vars=["configuration"], value_vars=present, var_name="metric", value_name="percent")
    long = long.assign(metric=long["metric"].map(_metric_label))
    labels = [_metric_label(metric) for metric in present]
    with chart_style():
        height = min(1.2 + 0.24 * len(configurations) * len(present), 18)
        figure = Figure(figsize=(WIDTH_IN, max(height, 2.4)), layout="constrained")
        ax = figure.add_subplot()
        sns.barplot(data=long, y="configuration", x="percent", hue="metric", hue_order=labels,
                    order=configurations, orient="h", errorbar=None, ax=ax,
                    palette=_metric_palette([_metric_base(metric) for metric in present]))
        ax.set_xlim(0, max(100.0, float(long["percent"].max(skipna=True) or 0) * 1.05))
        ax.set_xlabel("mean utilization %")
        ax.set_ylabel("")
        outside_legend(ax, len(labels))
    return Chart("utilization_by_machine", title, sentence + note, figure)


def utilization_timelines(timeline_frame: pd.DataFrame) -> Chart:
    """GPU, CPU and worker utilization over the timed rounds of selected cases."""
    title = "Utilization over time"
    sentence = ("Utilization sampled while the timed rounds ran, for the fastest and the slowest epoch of "
                "each machine and device (among those sampled long enough to draw): the share of time a GPU "
                "kernel was active, the GPU's SMs active where GPM was recorded, CPU across all cores, the "
                "busiest core, and the DataLoader workers' CPU (percent of one core, summed over the workers, "
                "so it can exceed 100).")
    wanted = ["gpu_util_pct", "gpu_sm_active_pct", "cpu_pct", "cpu_core_pct_max", "workers_cpu_pct"]
    if timeline_frame.empty:
        return Chart("utilization_timelines", title, sentence, None, "no utilization timelines were recorded")
    data = timeline_frame[timeline_frame["metric"].isin(wanted) & timeline_frame["value"].notna()]
    points = data.groupby(["case", "metric"])["t_s"].count() if not data.empty else pd.Series(dtype=float)
    cases = [case for case in dict.fromkeys(data["case"]) if (points.loc[case] >= 2).any()]
    if not cases:
        return Chart("utilization_timelines", title, sentence, None,
                     "the timelines hold fewer than two samples of GPU, CPU or worker utilization")
    cases, note = capped(cases, MAX_TIMELINES, "cases")
    present = [metric for metric in wanted if metric in set(data["metric"])]
    labels = [_metric_label(metric) for metric in present]
    data = data[data["case"].isin(cases)].assign(metric=lambda d: d["metric"].map(_metric_label))
    with chart_style():
        figure, axes = small_multiples(len(cases), height_in=2.5, per_row=1, sharey=False, sharex=False)
        palette = _metric_palette(present)
        for index, (ax, case) in enumerate(zip(axes, cases, strict=True)):
            sns.lineplot(data=data[data["case"] == case], x="t_s", y="value", hue="metric", hue_order=labels,
                         palette=palette, errorbar=None, estimator=None, ax=ax, linewidth=1.2,
                         legend=index == 0)
            ax.set_title(case, fontsize=9, loc="left")
            ax.set_ylim(0, max(105.0, float(data.loc[data["case"] == case, "value"].max()) * 1.05))
            ax.set_ylabel("%")
            ax.set_xlabel("seconds since the timed rounds began" if index == len(cases) - 1 else "")
        outside_legend(axes[0], len(labels))
    return Chart("utilization_timelines", title, sentence + note, figure)


def _metric_palette(metrics: Sequence[str]) -> dict[str, str]:
    """{label: color} for utilization metrics (names without the _mean suffix)."""
    return {_metric_label(metric): UTILIZATION_COLORS.get(metric, "0.4") for metric in metrics}


def _metric_base(metric: str) -> str:
    """The metric without its statistic: 'gpu_util_pct_mean' -> 'gpu_util_pct'."""
    for stat in ("_mean", "_p95", "_max"):
        if metric.endswith(stat) and metric.removesuffix(stat) in UTILIZATION_METRICS:
            return metric.removesuffix(stat)
    return metric


def _metric_label(metric: str) -> str:
    base = _metric_base(metric)
    return UTILIZATION_LABELS.get(base, base.replace("_", " "))
