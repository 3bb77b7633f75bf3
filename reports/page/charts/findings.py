"""The analysis's charts: what limits each best configuration (the answer), where an epoch's time
goes (its phases), and cost against time per epoch."""

from __future__ import annotations

import itertools
import math

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from reports.analysis.analyse import Analysis
from reports.page import display as show
from reports.page.charts.base import (
    MARKERS,
    MAX_BARS,
    WIDTH_IN,
    Chart,
    capped,
    chart_style,
    color_palette,
    log_axis,
    spans_decades,
)

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
    rows, note = capped(rows, MAX_BARS, "configurations")
    values = [case.images_per_sec for _, found in rows for case in found if case is not None]
    with chart_style():
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
        if spans_decades(series):
            log_axis(ax.xaxis, series, show.rate)
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
    rows, note = capped(rows, MAX_BARS, "configurations")
    with chart_style():
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
    with chart_style():
        figure = Figure(figsize=(9.0, 5.5), layout="constrained")
        ax = figure.add_subplot()
        models = sorted({str(cost.config.model) for cost in priced})
        markers = dict(zip(models, itertools.cycle(MARKERS), strict=False))
        machines = sorted({cost.config.machine for cost in priced})
        colors = dict(zip(machines, color_palette(machines).values(), strict=True))
        for cost in priced:
            ax.scatter(cost.seconds, cost.cost_per_epoch, s=60, color=colors[cost.config.machine],
                       marker=markers[str(cost.config.model)], label=f"{cost.config.machine} · {cost.config.model}")
            ax.annotate(cost.config.device, (cost.seconds, cost.cost_per_epoch), textcoords="offset points",
                        xytext=(6, 4), fontsize=8)
        seconds = pd.Series([cost.seconds for cost in priced], dtype="float64")
        money = pd.Series([cost.cost_per_epoch for cost in priced], dtype="float64")
        if spans_decades(seconds):
            log_axis(ax.xaxis, seconds, lambda value: f"{value:g}")
        if spans_decades(money):
            log_axis(ax.yaxis, money, show.money)
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: show.money(value)))
        ax.set_xlabel("seconds per 50,000-image epoch")
        ax.set_ylabel(f"cost per epoch{currency}")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(unique.values(), unique.keys(), title="machine · model", loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), frameon=False, ncol=max(1, math.ceil(len(unique) / 24)))
    return Chart("cost", title, sentence, figure)
