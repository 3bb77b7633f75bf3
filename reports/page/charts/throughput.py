"""Throughput charts from the tidy frame: training images/s against batch size, the input pipeline
against DataLoader workers, epoch time across machines, and the GPU's speed-up over its CPU."""

from __future__ import annotations

import itertools

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import EngFormatter, FixedLocator, FuncFormatter

from reports.page import display as show
from reports.page.charts.base import (
    MARKERS,
    MAX_BARS,
    MAX_LOADER_PANELS,
    WIDTH_IN,
    Chart,
    batch_size_axis,
    capped,
    chart_style,
    color_palette,
    fastest_machines,
    log_axis,
    machine_palette,
    our_rows,
    outside_legend,
    sectioned_legend,
    series_of,
    series_palette,
    small_multiples,
    spans_decades,
    throughput_axis,
)
from reports.reading.tidy import FULL_EPOCH_IMAGES


def training_throughput(frame: pd.DataFrame) -> Chart:
    """Training images/s against batch size, per model; epochs solid, train steps dashed."""
    title = "Training throughput against batch size"
    sentence = ("Images per second trained (higher is better) at each batch size, per model. Solid lines "
                "are whole epochs through the input pipeline; dashed lines are the train step alone on "
                "data already on the device, the ceiling an epoch can reach. Each point is the best "
                "configuration measured at that batch size.")
    rows = our_rows(frame, ["epoch", "train_step"], ["images_per_sec", "batch_size", "model"])
    if rows.empty:
        return Chart("training_throughput", title, sentence, None, "no epoch or train-step results")
    rows, note = fastest_machines(rows)
    rows = rows.assign(series=series_of(rows), kind=rows["group"].map(
        {"epoch": "epoch", "train_step": "train step (ceiling)"}))
    best = rows.groupby(["model", "series", "kind", "batch_size"], as_index=False)["images_per_sec"].max()
    models = sorted(best["model"].unique())
    palette = series_palette(frame)
    series = [label for label in palette if label in set(best["series"])]
    with chart_style():
        figure, axes = small_multiples(len(models), height_in=4.2)
        for index, (ax, model) in enumerate(zip(axes, models, strict=True)):
            data = best[best["model"] == model]
            sns.lineplot(data=data, x="batch_size", y="images_per_sec", hue="series", hue_order=series,
                         style="kind", style_order=["epoch", "train step (ceiling)"],
                         dashes={"epoch": "", "train step (ceiling)": (4, 2)}, markers=True,
                         palette=palette, errorbar=None, estimator=None, ax=ax,
                         legend=index == len(models) - 1)
            ax.set_title(f"model: {model}")
            batch_size_axis(ax, best["batch_size"])
            throughput_axis(ax, best["images_per_sec"], "images/s (log)" if index == 0 else None)
        outside_legend(axes[-1], len(series) + 3, {"series": "machine · device", "kind": "measured"})
    return Chart("training_throughput", title, sentence + note, figure)


def loader_throughput(frame: pd.DataFrame) -> Chart:
    """DataLoader images/s against worker count, per batch size, under the train-step ceiling."""
    title = "Input pipeline against DataLoader workers"
    sentence = ("Images per second the input pipeline alone serves (higher is better), against the number "
                "of DataLoader worker processes, one panel per batch size. Dotted lines are each "
                "machine's fastest train step at that batch size (per model, on its fastest device): "
                "where a pipeline's line is below them, it starves training.")
    rows = our_rows(frame, ["loader"], ["images_per_sec", "batch_size", "num_workers", "loader"])
    if rows.empty:
        return Chart("loader_throughput", title, sentence, None, "no DataLoader (loader group) results")
    rows, machines_note = fastest_machines(rows)
    several_transforms = rows["transform"].nunique() > 1
    pipeline = rows["loader"].astype(str)
    if several_transforms:
        pipeline = pipeline + " / " + rows["transform"].astype(str)
    rows = rows.assign(pipeline=pipeline)
    best = rows.groupby(["batch_size", "machine", "pipeline", "num_workers"], as_index=False)[
        "images_per_sec"].max()
    steps = our_rows(frame, ["train_step"], ["images_per_sec", "batch_size", "model"])
    ceilings = steps.groupby(["batch_size", "machine", "model"], as_index=False)["images_per_sec"].max()
    ceilings = ceilings[ceilings["machine"].isin(set(rows["machine"]))]
    batch_sizes = sorted(best["batch_size"].unique())
    shown, note = capped(batch_sizes, MAX_LOADER_PANELS, "batch sizes")
    palette = machine_palette(frame)
    machines = [machine for machine in palette if machine in set(best["machine"])]
    pipelines = sorted(best["pipeline"].unique())
    with chart_style():
        figure, axes = small_multiples(len(shown), height_in=3.8, per_row=4, sharey=True)
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
            throughput_axis(ax, values, "images/s (log)" if index % 4 == 0 else None)
        sections = {
            "machine": [Line2D([], [], color=palette[machine], linewidth=1.5) for machine in machines],
            "pipeline" + (" / transform" if several_transforms else ""): [
                Line2D([], [], color="0.3", marker=markers[name], linestyle="none") for name in pipelines],
            "train-step ceiling": [Line2D([], [], color="0.3", linestyle=ceiling_styles[model], linewidth=1.4)
                                   for model in models],
        }
        sectioned_legend(axes[-1], sections, [machines, pipelines, [f"{model} step" for model in models]])
    return Chart("loader_throughput", title, sentence + machines_note + note, figure)


def epoch_time(frame: pd.DataFrame) -> Chart:
    """Seconds per 50,000-image epoch, best configuration per machine, device and model."""
    title = "Epoch time across machines"
    rows = our_rows(frame, ["epoch"], ["full_epoch_seconds", "model"])
    projected = rows["full_epoch_projected"].eq(True).any() if not rows.empty else False
    sentence = (f"Seconds for one training epoch of {FULL_EPOCH_IMAGES:,} images (lower is better) in the "
                "fastest configuration of each machine, device and model"
                + (", projected from the timed subset of images where fewer were timed." if projected
                   else "."))
    if rows.empty:
        return Chart("epoch_time", title, sentence, None, "no epoch results")
    rows = rows.assign(series=series_of(rows))
    best = rows.groupby(["series", "model"], as_index=False, sort=False)["full_epoch_seconds"].min()
    series, note = capped(list(dict.fromkeys(best["series"])), MAX_BARS, "machine and device pairs")
    best = best[best["series"].isin(series)]
    models = sorted(best["model"].unique())
    with chart_style():
        height = min(1.2 + 0.32 * len(series) * max(1, len(models)), 16)
        figure = Figure(figsize=(WIDTH_IN, height), layout="constrained")
        ax = figure.add_subplot()
        sns.barplot(data=best, y="series", x="full_epoch_seconds", hue="model", hue_order=models,
                    order=series, orient="h", errorbar=None, ax=ax, palette=color_palette(models, "Set2"))
        if spans_decades(best["full_epoch_seconds"]):
            log_axis(ax.xaxis, best["full_epoch_seconds"], lambda value: f"{value:g}")
        for container in ax.containers:
            ax.bar_label(container, labels=[show.duration(bar.get_width()) for bar in container],
                         padding=3, fontsize=8)
        ax.set_xlabel("seconds per 50,000-image epoch" + (" (log)" if ax.get_xscale() == "log" else ""))
        ax.set_ylabel("")
        ax.margins(x=0.12)
        if len(models) > 1:
            outside_legend(ax, len(models), {"model": "model"})
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
    rows = our_rows(frame, ["epoch", "train_step", "forward"], ["speedup_vs_cpu", "batch_size", "model"])
    if rows.empty:
        return Chart("gpu_speedup", title, sentence, None,
                     "no GPU result has a CPU result of the same configuration on its machine "
                     "(the speedup needs both devices measured on one machine)")
    rows, note = fastest_machines(rows)
    rows = rows.assign(series=series_of(rows), kind=rows["group"].str.replace("_", " "))
    best = rows.groupby(["model", "series", "kind", "batch_size"], as_index=False)["speedup_vs_cpu"].max()
    models = sorted(best["model"].unique())
    palette = series_palette(frame)
    series = [label for label in palette if label in set(best["series"])]
    kinds = [kind for kind in ("epoch", "train step", "forward") if kind in set(best["kind"])]
    with chart_style():
        figure, axes = small_multiples(len(models), height_in=3.8)
        for index, (ax, model) in enumerate(zip(axes, models, strict=True)):
            sns.lineplot(data=best[best["model"] == model], x="batch_size", y="speedup_vs_cpu", hue="series",
                         hue_order=series, style="kind", style_order=kinds, markers=True, palette=palette,
                         errorbar=None, estimator=None, ax=ax, legend=index == len(models) - 1)
            ax.axhline(1.0, color="0.4", linewidth=1, linestyle="--")
            ax.set_title(f"model: {model}")
            batch_size_axis(ax, best["batch_size"])
            log = spans_decades(best["speedup_vs_cpu"])
            if log:
                log_axis(ax.yaxis, best["speedup_vs_cpu"], lambda value: f"{value:g}x")
            else:
                ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}x"))
            ax.set_ylabel("speedup over CPU" + (" (log)" if log else "") if index == 0 else "")
        outside_legend(axes[-1], len(series) + len(kinds) + 2, {"series": "machine · device", "kind": "measured"})
    return Chart("gpu_speedup", title, sentence + note, figure)
