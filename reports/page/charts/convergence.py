"""The convergence chart: evaluation accuracy against training seconds, from the time-to-target answers.

One panel per machine, device, model and target (`reports.analysis.to_target`): the configurations
that matter there (the fastest to the target, the tutorial's own recipe, the fastest per image),
one thin line per seed, the target as a dashed line. Where a curve crosses the target is its
time to target; a curve that stays below it did not reach the target within its budget.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from reports.analysis.to_target import TargetAnswer, ToTarget
from reports.page import display as show
from reports.page import target_words
from reports.page.charts.base import WIDTH_IN, Chart, capped, chart_style, log_axis, small_multiples, spans_decades

MAX_PANELS = 6
ROLES = (("fastest to target", "#1f6fb4", "-"), ("the tutorial's recipe", "#d1495b", "--"),
         ("fastest per image", "#2a9d3a", ":"))


def _lines(answer: TargetAnswer) -> list[tuple[str, ToTarget]]:
    """(role, row) for each configuration that matters, each once (the first role it has)."""
    found: list[tuple[str, ToTarget]] = []
    for (role, _color, _style), row in zip(ROLES, (answer.fastest, answer.tutorial,
                                                   answer.fastest_per_image_to_target), strict=True):
        if row is not None and row.case.curves and all(row is not other for _, other in found):
            found.append((role, row))
    return found


def accuracy_curves(answers: Sequence[TargetAnswer]) -> Chart:
    """Accuracy against training seconds per machine, device and model: the configurations that matter."""
    title = "Accuracy against training time"
    sentence = ("Test accuracy after each epoch against the training seconds so far (evaluations excluded), one "
                "thin line per seed: the fastest configuration to the target, the tutorial's own recipe and the "
                "fastest configuration per image. The dashed line is the target; where a curve crosses it is its "
                "time to target.")
    panels = [(answer, _lines(answer)) for answer in answers]
    panels = [(answer, lines) for answer, lines in panels if lines]
    if not panels:
        return Chart("accuracy_curves", title, sentence, None, "no valid converge case recorded its curve")
    panels, note = capped(panels, MAX_PANELS, "machines")
    seconds = pd.Series([point[0] for _, lines in panels for _, row in lines for curve in row.case.curves
                         for point in curve if point[0]], dtype="float64")
    colors = {role: (color, style) for role, color, style in ROLES}
    with chart_style():
        width = min(WIDTH_IN, 2.0 + 3.4 * min(len(panels), 3))  # one panel is not drawn page-wide
        figure, axes = small_multiples(len(panels), height_in=3.2, per_row=3, sharey=False, width_in=width)
        for ax, (answer, lines) in zip(axes, panels, strict=True):
            for role, row in lines:
                color, style = colors[role]
                for curve in row.case.curves:
                    points = [(x, y) for x, y in curve if x is not None and y is not None]
                    if points:
                        ax.plot([x for x, _ in points], [y for _, y in points], color=color, linestyle=style,
                                linewidth=1.2, marker="o", markersize=2.5, alpha=0.85)
            ax.axhline(answer.target_accuracy, color="0.35", linestyle=(0, (4, 3)), linewidth=1)
            ax.annotate(f"target {show.accuracy(answer.target_accuracy)}", (0.01, answer.target_accuracy),
                        xycoords=("axes fraction", "data"), xytext=(0, 3), textcoords="offset points",
                        fontsize=8, color="0.3")
            machine, device, model = answer.where
            ax.set_title(f"{machine} · {device} · {model}", fontsize=10, loc="left")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: show.accuracy(value)))
            ax.set_ylabel(f"test accuracy ({target_words.data_words(answer.data_source)})", fontsize=8)
            if spans_decades(seconds):
                log_axis(ax.xaxis, seconds, show.duration)
            else:
                ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: show.duration(value)))
            ax.set_xlabel("training seconds")
        drawn = {role for _, lines in panels for role, _ in lines}
        shown = [(role, color, style) for role, color, style in ROLES if role in drawn]
        handles = [Line2D([], [], color=color, linestyle=style, linewidth=1.5) for _, color, style in shown]
        figure.legend(handles, [role for role, _, _ in shown], loc="outside upper right", frameon=False,
                      ncol=len(shown), fontsize=9)
    return Chart("accuracy_curves", title, sentence + note, figure)
