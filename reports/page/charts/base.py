"""Stage 5, charts: the tidy DataFrame and the analysis -> matplotlib figures, saving nothing.

This module holds what every chart shares: the `Chart` type, SVG output, the style, palettes,
axis and legend helpers. The charts themselves are in the modules beside it, by family.

Every chart function takes the tidy frame (or, for timelines, `reports.reading.timelines`'s
frame; for the answer, the costs and the scaling, the analysis) and returns a `Chart`, the one
chart type of the report:
a figure, or no figure and the reason it was left out (a CPU-only machine has no GPU
utilization, a run without the sampler has no timelines, ...). Figures are
`matplotlib.figure.Figure` objects made without pyplot, so no GUI backend and no global
figure registry are involved (Agg draws them); `to_svg` encodes one and closes it.
"""

from __future__ import annotations

import contextlib
import io
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

from reports.page import display as show
from reports.reading.tidy import ours

MARKERS = ("o", "X", "s", "^", "D", "v", "P")
WIDTH_IN = 11.0  # about the report's column width at 96 dpi
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


def our_rows(frame: pd.DataFrame, groups: Sequence[str], required: Sequence[str]) -> pd.DataFrame:
    """Our rows of `groups` with every `required` column present and known."""
    if frame.empty or any(column not in frame.columns for column in required):
        return frame.iloc[0:0]
    rows = ours(frame)
    rows = rows[rows["group"].isin(groups)]
    return rows.dropna(subset=list(required))


def series_of(rows: pd.DataFrame) -> pd.Series:
    """'machine · device': one line per device of each machine."""
    return rows["machine"].astype(str) + " · " + rows["device"].astype(str)


def series_palette(frame: pd.DataFrame) -> dict[str, tuple]:
    """A color per 'machine · device' of the whole frame, the same in every chart."""
    return {f"{machine} · {device}": color for (machine, device), color in _device_colors(frame).items()}


def machine_palette(frame: pd.DataFrame) -> dict[str, tuple]:
    """A color per machine: the color of its first device's series."""
    palette: dict[str, tuple] = {}
    for (machine, _), color in _device_colors(frame).items():
        palette.setdefault(machine, color)
    return palette


def _device_colors(frame: pd.DataFrame) -> dict[tuple[str, str], tuple]:
    rows = ours(frame).dropna(subset=["device"])
    pairs = sorted(set(zip(rows["machine"].astype(str), rows["device"].astype(str), strict=True)))
    return dict(zip(pairs, color_palette([str(pair) for pair in pairs]).values(), strict=True))


def color_palette(labels: Sequence[str], name: str | None = None) -> dict[str, tuple]:
    labels = list(dict.fromkeys(labels))
    if name is None:
        name = "tab10" if len(labels) <= 10 else "tab20" if len(labels) <= 20 else "husl"
    return dict(zip(labels, sns.color_palette(name, max(len(labels), 1)), strict=False))


@contextlib.contextmanager
def chart_style():
    """seaborn's whitegrid look plus the report's sizes, only inside the `with` block."""
    with sns.axes_style("whitegrid"), mpl.rc_context(STYLE):
        yield


def small_multiples(count: int, height_in: float, per_row: int = 3, sharey: bool = True, sharex: bool = False,
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


def fastest_machines(rows: pd.DataFrame, limit: int = MAX_MACHINES) -> tuple[pd.DataFrame, str]:
    """The rows of the `limit` machines with the fastest rows (by images/s), and a note when some are left out.

    Hundreds of lines in one chart read as none, and take seconds to draw.
    """
    fastest = rows.groupby("machine")["images_per_sec"].max().sort_values(ascending=False, kind="stable")
    if len(fastest) <= limit:
        return rows, ""
    kept = set(fastest.index[:limit])
    return (rows[rows["machine"].isin(kept)],
            f" (The {limit} fastest of {len(fastest)} machines are drawn; every machine is in the tables.)")


def capped(items: list, limit: int, what: str) -> tuple[list, str]:
    if len(items) <= limit:
        return items, ""
    return items[:limit], f" (The first {limit} of {len(items)} {what} are shown.)"


def spans_decades(values: pd.Series) -> bool:
    positive = pd.to_numeric(values, errors="coerce")
    positive = positive[positive > 0]
    return not positive.empty and positive.max() / positive.min() >= 10


def throughput_axis(ax, values: pd.Series, label: str | None) -> None:
    """Images/s: a log axis when the values span a decade or more, labelled 1k, 2k, 5k, 10k."""
    if spans_decades(values):
        log_axis(ax.yaxis, values, show.rate)
    else:
        label = label.replace(" (log)", "") if label else label
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: show.rate(value)))
    ax.set_ylabel(label or "")


def log_axis(axis, values: pd.Series, label) -> None:
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


def batch_size_axis(ax, batch_sizes: pd.Series) -> None:
    """Batch sizes double: a log2 axis with a tick at each size measured."""
    sizes = sorted(pd.unique(batch_sizes.dropna()))
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_locator(FixedLocator(sizes))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(EngFormatter(places=0, sep=""))
    ax.set_xlabel("batch size")


def outside_legend(ax, entries: int, headings: dict[str, str] | None = None) -> None:
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


def sectioned_legend(ax, sections: dict[str, list], labels: list[list[str]]) -> None:
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


