"""Stage 5, charts: the tidy DataFrame and the analysis -> matplotlib figures, saving nothing.

Every chart function takes the tidy frame (or, for timelines, `tidy.timelines(...)`; for the
answer and the costs, the analysis) and returns a `Chart`, the one chart type of the report:
a figure, or no figure and the reason it was left out (a CPU-only machine has no GPU
utilization, a run without the sampler has no timelines, ...). Figures are
`matplotlib.figure.Figure` objects made without pyplot, so no GUI backend and no global
figure registry are involved (Agg draws them); `to_svg` encodes one and closes it.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter, FixedLocator, FuncFormatter, LogLocator, NullLocator

from reports.analysis.analyse import Analysis
from reports.analysis.scaling import ScalingPoint, points_frame, scaling_chart
from reports.page import display as show
from reports.reading.tidy import FULL_EPOCH_IMAGES, UTILIZATION_METRICS, ours

MARKERS = ("o", "X", "s", "^", "D", "v", "P")
WIDTH_IN = 11.0  # about the report's column width at 96 dpi
MAX_PANELS = 12  # small multiples per chart; more are left out and said so
MAX_LOADER_PANELS = 8  # batch sizes in the loader chart (4 to a row)
MAX_BARS = 40  # configurations in a bar chart
MAX_TIMELINES = 6
MAX_MACHINES = 12  # machines drawn as lines in one chart; the fastest are kept and the caption says so
MAX_HEATMAPS = 6

STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.title_fontsize": 9,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",  # text stays text: smaller files, the browser's fonts
    "svg.hashsalt": "cifarbench",  # stable element ids from one report to the next
    # Labels are text: a machine named "spot $0.03/h vs on-demand $0.10/h" or "$HOME/run_$x^"
    # must not go through mathtext (it garbles the first and aborts on the second).
    "text.parse_math": False,
}

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


@dataclass
class Chart:
    """A figure with its title and a sentence saying what it shows, or why it was left out."""

    key: str
    title: str
    sentence: str
    figure: Figure | None
    reason: str | None = None  # set when figure is None


def to_svg(figure: Figure) -> str:
    """The figure as SVG text; the figure is closed (released) afterwards."""
    buffer = io.StringIO()
    with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cifarbench", "text.parse_math": False}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    close(figure)
    return buffer.getvalue()


def close(figure: Figure) -> None:
    """Release a figure: pyplot's registry lets go of it if pyplot made it (the diagnosis may).

    Figures made here are not registered anywhere and go with their last reference. pyplot
    is not imported for this.
    """
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(figure)


def report_charts(frame: pd.DataFrame, timeline_frame: pd.DataFrame | None = None) -> list[Chart]:
    """Every chart of the report, in reading order."""
    return [
        training_throughput(frame),
        loader_throughput(frame),
        epoch_time(frame),
        gpu_speedup(frame),
        utilization_heatmap(frame, "gpu_util_pct_mean"),
        utilization_heatmap(frame, "cpu_pct_mean"),
        utilization_by_machine(frame),
        utilization_timelines(timeline_frame if timeline_frame is not None else pd.DataFrame()),
    ]


def training_throughput(frame: pd.DataFrame) -> Chart:
    """Training images/s against batch size, per model; epochs solid, train steps dashed."""
    title = "Training throughput against batch size"
    sentence = ("Images per second trained (higher is better) at each batch size, per model. Solid lines "
                "are whole epochs through the input pipeline; dashed lines are the train step alone on "
                "data already on the device, the ceiling an epoch can reach. Each point is the best "
                "configuration measured at that batch size.")
    rows = _rows(frame, ["epoch", "train_step"], ["images_per_sec", "batch_size", "model"])
    if rows.empty:
        return Chart("training_throughput", title, sentence, None, "no epoch or train-step results")
    rows, note = _fastest_machines(rows)
    rows = rows.assign(series=_series(rows), kind=rows["group"].map(
        {"epoch": "epoch", "train_step": "train step (ceiling)"}))
    best = rows.groupby(["model", "series", "kind", "batch_size"], as_index=False)["images_per_sec"].max()
    models = sorted(best["model"].unique())
    palette = _series_palette(frame)
    series = [label for label in palette if label in set(best["series"])]
    with _style():
        figure, axes = _panels(len(models), height_in=4.2)
        for index, (ax, model) in enumerate(zip(axes, models, strict=True)):
            data = best[best["model"] == model]
            sns.lineplot(data=data, x="batch_size", y="images_per_sec", hue="series", hue_order=series,
                         style="kind", style_order=["epoch", "train step (ceiling)"],
                         dashes={"epoch": "", "train step (ceiling)": (4, 2)}, markers=True,
                         palette=palette, errorbar=None, estimator=None, ax=ax,
                         legend=index == len(models) - 1)
            ax.set_title(f"model: {model}")
            _batch_size_axis(ax, best["batch_size"])
            _throughput_axis(ax, best["images_per_sec"], "images/s (log)" if index == 0 else None)
        _outside_legend(axes[-1], len(series) + 3, {"series": "machine · device", "kind": "measured"})
    return Chart("training_throughput", title, sentence + note, figure)


def loader_throughput(frame: pd.DataFrame) -> Chart:
    """DataLoader images/s against worker count, per batch size, under the train-step ceiling."""
    title = "Input pipeline against DataLoader workers"
    sentence = ("Images per second the input pipeline alone serves (higher is better), against the number "
                "of DataLoader worker processes, one panel per batch size. Dotted lines are each "
                "machine's fastest train step at that batch size (per model, on its fastest device): "
                "where a pipeline's line is below them, it starves training.")
    rows = _rows(frame, ["loader"], ["images_per_sec", "batch_size", "num_workers", "loader"])
    if rows.empty:
        return Chart("loader_throughput", title, sentence, None, "no DataLoader (loader group) results")
    rows, machines_note = _fastest_machines(rows)
    several_transforms = rows["transform"].nunique() > 1
    pipeline = rows["loader"].astype(str)
    if several_transforms:
        pipeline = pipeline + " / " + rows["transform"].astype(str)
    rows = rows.assign(pipeline=pipeline)
    best = rows.groupby(["batch_size", "machine", "pipeline", "num_workers"], as_index=False)[
        "images_per_sec"].max()
    steps = _rows(frame, ["train_step"], ["images_per_sec", "batch_size", "model"])
    ceilings = steps.groupby(["batch_size", "machine", "model"], as_index=False)["images_per_sec"].max()
    ceilings = ceilings[ceilings["machine"].isin(set(rows["machine"]))]
    batch_sizes = sorted(best["batch_size"].unique())
    shown, note = _capped(batch_sizes, MAX_LOADER_PANELS, "batch sizes")
    palette = _machine_palette(frame)
    machines = [machine for machine in palette if machine in set(best["machine"])]
    pipelines = sorted(best["pipeline"].unique())
    with _style():
        figure, axes = _panels(len(shown), height_in=3.8, per_row=4, sharey=True)
        values = pd.Series([*best["images_per_sec"], *ceilings["images_per_sec"]], dtype="float64")
        markers = dict(zip(pipelines, itertools.cycle(MARKERS), strict=False))
        models = sorted(ceilings["model"].unique())
        ceiling_styles = dict(zip(models, itertools.cycle([":", "-.", (0, (1, 3)), (0, (5, 2, 1, 2))]),
                                  strict=False))
        for index, (ax, batch_size) in enumerate(zip(axes, shown, strict=True)):
            data = best[best["batch_size"] == batch_size]
            # Plain matplotlib lines: one seaborn call per panel costs ~0.2 s with dozens of machines.
            for (machine, pipeline_name), line in data.groupby(["machine", "pipeline"], sort=False):
                line = line.sort_values("num_workers")
                ax.plot(line["num_workers"], line["images_per_sec"], color=palette[machine],
                        marker=markers[pipeline_name], markersize=5, linewidth=1.5)
            # The ceilings are named in the legend (a line style per model), not on the plot,
            # where labels of close ceilings overlap each other and the data.
            for ceiling in ceilings[ceilings["batch_size"] == batch_size].itertuples():
                if ceiling.machine in palette:
                    ax.axhline(ceiling.images_per_sec, color=palette[ceiling.machine],
                               linestyle=ceiling_styles[ceiling.model], linewidth=1.4)
            ax.set_title(f"batch size {int(batch_size)}")
            workers = sorted(data["num_workers"].unique())
            ax.xaxis.set_major_locator(FixedLocator(workers))
            ax.xaxis.set_major_formatter(EngFormatter(places=0, sep=""))
            ax.set_xlabel("DataLoader workers")
            _throughput_axis(ax, values, "images/s (log)" if index % 4 == 0 else None)
        sections = {
            "machine": [Line2D([], [], color=palette[machine], linewidth=1.5) for machine in machines],
            "pipeline" + (" / transform" if several_transforms else ""): [
                Line2D([], [], color="0.3", marker=markers[name], linestyle="none") for name in pipelines],
            "train-step ceiling": [Line2D([], [], color="0.3", linestyle=ceiling_styles[model], linewidth=1.4)
                                   for model in models],
        }
        _sectioned_legend(axes[-1], sections, [machines, pipelines, [f"{model} step" for model in models]])
    return Chart("loader_throughput", title, sentence + machines_note + note, figure)


def epoch_time(frame: pd.DataFrame) -> Chart:
    """Seconds per 50,000-image epoch, best configuration per machine, device and model."""
    title = "Epoch time across machines"
    rows = _rows(frame, ["epoch"], ["full_epoch_seconds", "model"])
    projected = rows["full_epoch_projected"].eq(True).any() if not rows.empty else False
    sentence = (f"Seconds for one training epoch of {FULL_EPOCH_IMAGES:,} images (lower is better) in the "
                "fastest configuration of each machine, device and model"
                + (", projected from the timed subset of images where fewer were timed." if projected
                   else "."))
    if rows.empty:
        return Chart("epoch_time", title, sentence, None, "no epoch results")
    rows = rows.assign(series=_series(rows))
    best = rows.groupby(["series", "model"], as_index=False, sort=False)["full_epoch_seconds"].min()
    series, note = _capped(list(dict.fromkeys(best["series"])), MAX_BARS, "machine and device pairs")
    best = best[best["series"].isin(series)]
    models = sorted(best["model"].unique())
    with _style():
        height = min(1.2 + 0.32 * len(series) * max(1, len(models)), 16)
        figure = Figure(figsize=(WIDTH_IN, height), layout="constrained")
        ax = figure.add_subplot()
        sns.barplot(data=best, y="series", x="full_epoch_seconds", hue="model", hue_order=models,
                    order=series, orient="h", errorbar=None, ax=ax, palette=_palette(models, "Set2"))
        if _spans_decades(best["full_epoch_seconds"]):
            _log_axis(ax.xaxis, best["full_epoch_seconds"], lambda value: f"{value:g}")
        for container in ax.containers:
            ax.bar_label(container, labels=[show.duration(bar.get_width()) for bar in container],
                         padding=3, fontsize=8)
        ax.set_xlabel("seconds per 50,000-image epoch" + (" (log)" if ax.get_xscale() == "log" else ""))
        ax.set_ylabel("")
        ax.margins(x=0.12)
        if len(models) > 1:
            _outside_legend(ax, len(models), {"model": "model"})
        elif ax.get_legend() is not None:
            ax.get_legend().remove()
            ax.set_title(f"model: {models[0]}")
    return Chart("epoch_time", title, sentence + note, figure)


def gpu_speedup(frame: pd.DataFrame) -> Chart:
    """GPU images/s over the same machine's CPU, same configuration, against batch size."""
    title = "GPU speedup over the CPU"
    sentence = ("How many times faster each GPU trains than its own machine's CPU in the same "
                "configuration (same model, batch size, pipeline and workers), against batch size. "
                "Above 1 the GPU is faster.")
    rows = _rows(frame, ["epoch", "train_step", "forward"], ["speedup_vs_cpu", "batch_size", "model"])
    if rows.empty:
        return Chart("gpu_speedup", title, sentence, None,
                     "no GPU result has a CPU result of the same configuration on its machine "
                     "(the speedup needs both devices measured on one machine)")
    rows, note = _fastest_machines(rows)
    rows = rows.assign(series=_series(rows), kind=rows["group"].str.replace("_", " "))
    best = rows.groupby(["model", "series", "kind", "batch_size"], as_index=False)["speedup_vs_cpu"].max()
    models = sorted(best["model"].unique())
    palette = _series_palette(frame)
    series = [label for label in palette if label in set(best["series"])]
    kinds = [kind for kind in ("epoch", "train step", "forward") if kind in set(best["kind"])]
    with _style():
        figure, axes = _panels(len(models), height_in=3.8)
        for index, (ax, model) in enumerate(zip(axes, models, strict=True)):
            sns.lineplot(data=best[best["model"] == model], x="batch_size", y="speedup_vs_cpu", hue="series",
                         hue_order=series, style="kind", style_order=kinds, markers=True, palette=palette,
                         errorbar=None, estimator=None, ax=ax, legend=index == len(models) - 1)
            ax.axhline(1.0, color="0.4", linewidth=1, linestyle="--")
            ax.set_title(f"model: {model}")
            _batch_size_axis(ax, best["batch_size"])
            log = _spans_decades(best["speedup_vs_cpu"])
            if log:
                _log_axis(ax.yaxis, best["speedup_vs_cpu"], lambda value: f"{value:g}x")
            else:
                ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
            ax.set_ylabel("speedup over CPU" + (" (log)" if log else "") if index == 0 else "")
        _outside_legend(axes[-1], len(series) + len(kinds) + 2, {"series": "machine · device", "kind": "measured"})
    return Chart("gpu_speedup", title, sentence + note, figure)


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
    rows = _rows(frame, ["epoch"], ["images_per_sec", "batch_size", "num_workers"])
    if gpu:
        rows = rows[rows["device_kind"] == "cuda"]
    if rows.empty:
        reason = ("no GPU epoch results (CPU-only machines)" if gpu else "no epoch results")
        return Chart(key, title, sentence, None, reason)
    rows = rows[rows[metric].notna()]
    if rows.empty:
        return Chart(key, title, sentence, None,
                     f"no {what} utilization was sampled in the epoch results ({metric} is missing)")
    rows = rows.assign(panel=_series(rows) + " · " + rows["model"].astype(str))
    top = rows.loc[rows.groupby(["panel", "batch_size", "num_workers"], sort=False)["images_per_sec"].idxmax()]
    panels, note = _capped(list(dict.fromkeys(top["panel"])), MAX_HEATMAPS, "panels")
    per_row = 3
    with _style():
        vmax = max(100.0, float(top[metric].max()))
        figure, axes = _panels(len(panels), height_in=3.0, per_row=per_row, sharey=False,
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
    rows = _rows(frame, ["epoch"], ["images_per_sec", "model"])
    if rows.empty:
        return Chart("utilization_by_machine", title, sentence, None, "no epoch results")
    present = [metric for metric in metrics if metric in rows.columns and rows[metric].notna().any()]
    if not present:
        return Chart("utilization_by_machine", title, sentence, None,
                     "no utilization was sampled in the epoch results")
    rows = rows.assign(configuration=_series(rows) + " · " + rows["model"].astype(str))
    top = rows.loc[rows.groupby("configuration", sort=False)["images_per_sec"].idxmax()]
    configurations, note = _capped(list(top["configuration"]), MAX_BARS, "configurations")
    top = top[top["configuration"].isin(configurations)]
    long = top.melt(id_vars=["configuration"], value_vars=present, var_name="metric", value_name="percent")
    long = long.assign(metric=long["metric"].map(_metric_label))
    labels = [_metric_label(metric) for metric in present]
    with _style():
        height = min(1.2 + 0.24 * len(configurations) * len(present), 18)
        figure = Figure(figsize=(WIDTH_IN, max(height, 2.4)), layout="constrained")
        ax = figure.add_subplot()
        sns.barplot(data=long, y="configuration", x="percent", hue="metric", hue_order=labels,
                    order=configurations, orient="h", errorbar=None, ax=ax,
                    palette=_metric_palette([_metric_base(metric) for metric in present]))
        ax.set_xlim(0, max(100.0, float(long["percent"].max(skipna=True) or 0) * 1.05))
        ax.set_xlabel("mean utilization %")
        ax.set_ylabel("")
        _outside_legend(ax, len(labels))
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
    cases, note = _capped(cases, MAX_TIMELINES, "cases")
    present = [metric for metric in wanted if metric in set(data["metric"])]
    labels = [_metric_label(metric) for metric in present]
    data = data[data["case"].isin(cases)].assign(metric=lambda d: d["metric"].map(_metric_label))
    with _style():
        figure, axes = _panels(len(cases), height_in=2.5, per_row=1, sharey=False, sharex=False)
        palette = _metric_palette(present)
        for index, (ax, case) in enumerate(zip(axes, cases, strict=True)):
            sns.lineplot(data=data[data["case"] == case], x="t_s", y="value", hue="metric", hue_order=labels,
                         palette=palette, errorbar=None, estimator=None, ax=ax, linewidth=1.2,
                         legend=index == 0)
            ax.set_title(case, fontsize=9, loc="left")
            ax.set_ylim(0, max(105.0, float(data.loc[data["case"] == case, "value"].max()) * 1.05))
            ax.set_ylabel("%")
            ax.set_xlabel("seconds since the timed rounds began" if index == len(cases) - 1 else "")
        _outside_legend(axes[0], len(labels))
    return Chart("utilization_timelines", title, sentence + note, figure)


def _rows(frame: pd.DataFrame, groups: Sequence[str], required: Sequence[str]) -> pd.DataFrame:
    """Our rows of `groups` with every `required` column present and known."""
    if frame.empty or any(column not in frame.columns for column in required):
        return frame.iloc[0:0]
    rows = ours(frame)
    rows = rows[rows["group"].isin(groups)]
    return rows.dropna(subset=list(required))


def _series(rows: pd.DataFrame) -> pd.Series:
    """'machine · device': one line per device of each machine."""
    return rows["machine"].astype(str) + " · " + rows["device"].astype(str)


def _series_palette(frame: pd.DataFrame) -> dict[str, tuple]:
    """A color per 'machine · device' of the whole frame, the same in every chart."""
    return {f"{machine} · {device}": color for (machine, device), color in _device_colors(frame).items()}


def _machine_palette(frame: pd.DataFrame) -> dict[str, tuple]:
    """A color per machine: the color of its first device's series."""
    palette: dict[str, tuple] = {}
    for (machine, _), color in _device_colors(frame).items():
        palette.setdefault(machine, color)
    return palette


def _device_colors(frame: pd.DataFrame) -> dict[tuple[str, str], tuple]:
    rows = ours(frame).dropna(subset=["device"])
    pairs = sorted(set(zip(rows["machine"].astype(str), rows["device"].astype(str), strict=True)))
    return dict(zip(pairs, _palette([str(pair) for pair in pairs]).values(), strict=True))


def _metric_palette(metrics: Sequence[str]) -> dict[str, str]:
    """{label: color} for utilization metrics (names without the _mean suffix)."""
    return {_metric_label(metric): UTILIZATION_COLORS.get(metric, "0.4") for metric in metrics}


def _palette(labels: Sequence[str], name: str | None = None) -> dict[str, tuple]:
    labels = list(dict.fromkeys(labels))
    if name is None:
        name = "tab10" if len(labels) <= 10 else "tab20" if len(labels) <= 20 else "husl"
    return dict(zip(labels, sns.color_palette(name, max(len(labels), 1)), strict=False))


@contextlib.contextmanager
def _style():
    """seaborn's whitegrid look plus the report's sizes, only inside the `with` block."""
    with sns.axes_style("whitegrid"), mpl.rc_context(STYLE):
        yield


def _panels(count: int, height_in: float, per_row: int = 3, sharey: bool = True, sharex: bool = False,
            width_in: float = WIDTH_IN) -> tuple[Figure, list]:
    """A constrained-layout figure with `count` axes, `per_row` to a row; the others removed."""
    columns = max(1, min(count, per_row))
    rows = math.ceil(count / columns)
    figure = Figure(figsize=(width_in, height_in * rows), layout="constrained")
    grid = figure.subplots(rows, columns, squeeze=False, sharey=sharey, sharex=sharex)
    axes = [ax for row in grid for ax in row]
    for ax in axes[count:]:
        ax.remove()
    return figure, axes[:count]


def _fastest_machines(rows: pd.DataFrame, limit: int = MAX_MACHINES) -> tuple[pd.DataFrame, str]:
    """The rows of the `limit` machines with the fastest rows (by images/s), and a note when some are left out.

    Hundreds of lines in one chart read as none, and take seconds to draw.
    """
    fastest = rows.groupby("machine")["images_per_sec"].max().sort_values(ascending=False, kind="stable")
    if len(fastest) <= limit:
        return rows, ""
    kept = set(fastest.index[:limit])
    return (rows[rows["machine"].isin(kept)],
            f" (The {limit} fastest of {len(fastest)} machines are drawn; every machine is in the tables.)")


def _capped(items: list, limit: int, what: str) -> tuple[list, str]:
    if len(items) <= limit:
        return items, ""
    return items[:limit], f" (The first {limit} of {len(items)} {what} are shown.)"


def _spans_decades(values: pd.Series) -> bool:
    positive = pd.to_numeric(values, errors="coerce")
    positive = positive[positive > 0]
    return not positive.empty and positive.max() / positive.min() >= 10


def _throughput_axis(ax, values: pd.Series, label: str | None) -> None:
    """Images/s: a log axis when the values span a decade or more, labelled 1k, 2k, 5k, 10k."""
    if _spans_decades(values):
        _log_axis(ax.yaxis, values, show.rate)
    else:
        label = label.replace(" (log)", "") if label else label
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: show.rate(value)))
    ax.set_ylabel(label or "")


def _log_axis(axis, values: pd.Series, label) -> None:
    """A log axis with ticks at 1, 2, 5 x 10^n (1 x 10^n over three decades), written plainly.

    matplotlib's default labels minor ticks in scientific notation ("4x10^0, 6x10^0"): no
    minor ticks here, and `label` writes every major one.
    """
    axis.axes.set_xscale("log") if axis.axis_name == "x" else axis.axes.set_yscale("log")
    positive = pd.to_numeric(values, errors="coerce")
    positive = positive[positive > 0]
    decades = math.log10(positive.max() / positive.min()) if len(positive) else 1.0
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if decades < 3 else (1.0,)))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(FuncFormatter(lambda value, _: label(value)))


def _batch_size_axis(ax, batch_sizes: pd.Series) -> None:
    """Batch sizes double: a log2 axis with a tick at each size measured."""
    sizes = sorted(pd.unique(batch_sizes.dropna()))
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(EngFormatter(places=0, sep=""))
    ax.set_xlabel("batch size")


def _outside_legend(ax, entries: int, headings: dict[str, str] | None = None) -> None:
    """Move the axes' legend right of the plot (in columns when long); rename its headings.

    seaborn titles the legend, or each section of it, with the column names; `headings` maps
    them to readable text. Without `headings` the legend has no title.
    """
    legend = ax.get_legend()
    if legend is None:
        return
    headings = headings or {}
    columns = max(1, math.ceil(entries / 24))
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1.0), ncol=columns, frameon=False,
                    title=headings.get(legend.get_title().get_text(), ""))
    for text in ax.get_legend().get_texts():
        if text.get_text() in headings:
            text.set_text(headings[text.get_text()])
            text.set_fontweight("bold")


def _sectioned_legend(ax, sections: dict[str, list], labels: list[list[str]]) -> None:
    """A legend right of the plot with a bold heading per section, as seaborn draws its own."""
    handles, texts, headings = [], [], []
    for (heading, section_handles), section_labels in zip(sections.items(), labels, strict=True):
        headings.append(heading)
        handles.append(Line2D([], [], linestyle="none"))
        texts.append(heading)
        handles.extend(section_handles)
        texts.extend(section_labels)
    columns = max(1, math.ceil(len(texts) / 24))
    legend = ax.legend(handles, texts, loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=columns, frameon=False)
    for text in legend.get_texts():
        if text.get_text() in headings:
            text.set_fontweight("bold")


def _metric_base(metric: str) -> str:
    """The metric without its statistic: 'gpu_util_pct_mean' -> 'gpu_util_pct'."""
    for stat in ("_mean", "_p95", "_max"):
        if metric.endswith(stat) and metric.removesuffix(stat) in UTILIZATION_METRICS:
            return metric.removesuffix(stat)
    return metric


def _metric_label(metric: str) -> str:
    base = _metric_base(metric)
    return UTILIZATION_LABELS.get(base, base.replace("_", " "))


ANSWER_KINDS = (("loader ceiling", "#8e5cc2"), ("train-step ceiling", "#1f6fb4"), ("epoch achieved", "#2a9d3a"))


def answer_chart(analysis: Analysis) -> Chart:
    """Per machine, device and model: the loader ceiling, the train-step ceiling and the epoch achieved.

    Each bar is the median round; its whisker spans the slowest to the fastest round.
    """
    title = "What limits the best configuration"
    sentence = ("For the best configuration of each machine, device and model (as in the table above): the "
                "images per second its input pipeline serves alone, what its train step alone reaches, and "
                "what the epoch achieved (higher is better). Whiskers span the slowest to the fastest timed "
                "round. The epoch is held to the lower ceiling.")
    rows = []
    for answer in analysis.answers:
        rec = answer.recommendation
        if rec.best is None:
            continue
        verdict = rec.verdict
        loader = verdict.loader if verdict else None
        if verdict and verdict.device_input is not None:
            loader = verdict.device_input
        label = " · ".join(str(part) for part in rec.where if part)
        rows.append((label, [loader, verdict.step if verdict else rec.step, rec.best]))
    if not rows:
        return Chart("answer", title, sentence, None, "no valid epoch was measured")
    rows, note = _capped(rows, MAX_BARS, "configurations")
    values = [case.images_per_sec for _, found in rows for case in found if case is not None]
    with _style():
        height = min(1.0 + 0.62 * len(rows), 14)
        figure = Figure(figsize=(WIDTH_IN, max(height, 2.2)), layout="constrained")
        ax = figure.add_subplot()
        bar = 0.26
        for position, (_, found) in enumerate(rows):
            for offset, (case, (_kind, color)) in enumerate(zip(found, ANSWER_KINDS, strict=True)):
                if case is None:
                    continue
                y = position + (offset - 1) * bar
                low = case.images_per_sec_min if case.images_per_sec_min is not None else case.images_per_sec
                high = case.images_per_sec_max if case.images_per_sec_max is not None else case.images_per_sec
                ax.barh(y, case.images_per_sec, height=bar * 0.92, color=color,
                        xerr=[[max(case.images_per_sec - low, 0)], [max(high - case.images_per_sec, 0)]],
                        error_kw={"ecolor": "0.15", "capsize": 2.5, "linewidth": 1})
                ax.annotate(show.rate(case.images_per_sec), (high, y), xytext=(4, 0), textcoords="offset points",
                            va="center", fontsize=8, color="0.25")
        ax.set_yticks(range(len(rows)), [label for label, _ in rows])
        ax.invert_yaxis()
        series = pd.Series(values, dtype="float64")
        if _spans_decades(series):
            _log_axis(ax.xaxis, series, show.rate)
            ax.set_xlabel("images/s (log)")
        else:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: show.rate(value)))
            ax.set_xlabel("images/s")
        ax.margins(x=0.12)
        ax.legend([Line2D([], [], color=color, linewidth=6) for _, color in ANSWER_KINDS],
                  [kind for kind, _ in ANSWER_KINDS], loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return Chart("answer", title, sentence + note, figure)


PHASE_COLORS = {"input_wait": "#d1495b", "copy": "#edae49", "forward": "#00798c", "backward": "#30638e",
                "optimizer": "#66a182", "other": "#b8b8b8"}
PHASE_LABELS = {"input_wait": "waiting for input", "copy": "copy to device", "forward": "forward + loss",
                "backward": "backward", "optimizer": "optimizer step", "other": "other"}


def phases_chart(analysis: Analysis) -> Chart:
    """Where each step's time goes: the tutorial's settings beside the best, per machine, device and model."""
    title = "Where the time goes"
    sentence = ("Each bar is one epoch configuration's timed rounds split into the phases of its steps, measured "
                "inside the epoch (on a GPU, 'waiting for input' is the GPU's idle time between steps). The "
                "tutorial's own settings are drawn beside the best configuration.")
    rows = []
    for answer in analysis.answers:
        rec = answer.recommendation
        where = " · ".join(str(part) for part in rec.where if part)
        for role, case in (("tutorial's settings", rec.tutorial), ("best", rec.best)):
            if case is not None and case.phase_shares and not (role == "best" and case is rec.tutorial):
                rows.append((f"{where}\n{role}: bs{case.config.batch_size} w{case.config.num_workers} "
                             f"{case.config.loader}", case))
    if not rows:
        return Chart("phases", title, sentence, None, "no epoch recorded its in-epoch phases (older results)")
    rows, note = _capped(rows, MAX_BARS, "configurations")
    with _style():
        figure = Figure(figsize=(WIDTH_IN, max(1.0 + 0.55 * len(rows), 2.2)), layout="constrained")
        ax = figure.add_subplot()
        for position, (_, case) in enumerate(rows):
            left = 0.0
            for name, share in case.phase_shares:
                ax.barh(position, share, left=left, height=0.6, color=PHASE_COLORS[name])
                if share >= 0.06:
                    ax.annotate(show.fraction(share), (left + share / 2, position), ha="center", va="center",
                                fontsize=7.5, color="white")
                left += share
        ax.set_yticks(range(len(rows)), [label for label, _ in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: show.fraction(value)))
        ax.set_xlabel("share of the epoch's time")
        ax.legend([Line2D([], [], color=color, linewidth=6) for color in PHASE_COLORS.values()],
                  list(PHASE_LABELS.values()), loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return Chart("phases", title, sentence + note, figure)


def scaling(points: Sequence[ScalingPoint]) -> Chart:
    """Data-parallel scaling efficiency against world size, with the ranks' spread (`reports.scaling`)."""
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
    with _style():
        figure = scaling_chart(points_frame([point for point in points if point.machine in kept]))
    return Chart("scaling", title, sentence + note, figure)


def cost_chart(analysis: Analysis) -> Chart:
    """Cost per epoch against time per epoch, one point per machine, device and model."""
    title = "Cost against time per epoch"
    sentence = ("Each point is a machine's fastest valid epoch configuration for a model and device; lower left "
                "is faster and cheaper.")
    priced = [cost for cost in analysis.costs if cost.cost_per_epoch is not None]
    if not analysis.costs or not priced:
        return Chart("cost", title, sentence, None,
                     "no price known: give --bench-price-per-hour to the sweep or a prices file to the report")
    currency = f" ({analysis.currency})" if analysis.currency else ""
    with _style():
        figure = Figure(figsize=(9.0, 5.5), layout="constrained")
        ax = figure.add_subplot()
        models = sorted({str(cost.config.model) for cost in priced})
        markers = dict(zip(models, itertools.cycle(MARKERS), strict=False))
        machines = sorted({cost.config.machine for cost in priced})
        colors = dict(zip(machines, _palette(machines).values(), strict=True))
        for cost in priced:
            ax.scatter(cost.seconds, cost.cost_per_epoch, s=60, color=colors[cost.config.machine],
                       marker=markers[str(cost.config.model)], label=f"{cost.config.machine} · {cost.config.model}")
            ax.annotate(cost.config.device, (cost.seconds, cost.cost_per_epoch), textcoords="offset points",
                        xytext=(6, 4), fontsize=8)
        seconds = pd.Series([cost.seconds for cost in priced], dtype="float64")
        money = pd.Series([cost.cost_per_epoch for cost in priced], dtype="float64")
        if _spans_decades(seconds):
            _log_axis(ax.xaxis, seconds, lambda value: f"{value:g}")
        if _spans_decades(money):
            _log_axis(ax.yaxis, money, show.money)
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: show.money(value)))
        ax.set_xlabel("seconds per 50,000-image epoch")
        ax.set_ylabel(f"cost per epoch{currency}")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), title="machine · model", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False, ncol=max(1, math.ceil(len(unique) / 24)))
    return Chart("cost", title, sentence, figure)
