"""Stage 4, html: records -> one self-contained HTML page (a string; nothing is written here).

The page has the figures inline (SVG as data URIs in <img>: no network, no scripts, and a
chart's text cannot become markup), the tables formatted for reading, and the diagnosis of
`reports.diagnosis` when that module is present. The Jinja2 template escapes every value
(autoescape on); nothing that comes from a result file is ever marked safe. Numbers are
rounded here, at display, and nowhere earlier.
"""

from __future__ import annotations

import base64
import importlib
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd

from reports import charts as charts_stage
from reports import tidy as tidy_stage
from reports.load import Record

GROUP_TITLES = {
    "loader": "DataLoader alone",
    "forward": "Forward pass",
    "train_step": "Train step",
    "epoch": "Training epoch",
}
GROUP_SENTENCES = {
    "loader": "images per second an input pipeline serves on its own, without training",
    "forward": "a forward pass of the model on data already on the device",
    "train_step": "forward, backward and optimizer step on data already on the device: the ceiling",
    "epoch": "whole training epochs through the input pipeline, as the tutorial's loop runs them",
}
DETAILS_OPEN_ROWS = 200  # longer tables start folded
WIDE_TEXT_CHARS = 40  # a text column with longer cells wraps in a wide column
SUMMARY_SHOWN = 6  # machines' summary paragraphs shown unfolded


def build_report(records: Sequence[Record], prices: dict | None = None, title: str | None = None) -> str:
    """The whole report for `records` as an HTML string (pure: reads no result files, writes nothing)."""
    frame = tidy_stage.tidy(records)
    timeline_frame = tidy_stage.timelines(records, tidy_stage.select_timeline_cases(frame))
    chart_list = charts_stage.report_charts(frame, timeline_frame)
    diagnosis = run_diagnosis(frame, prices)
    return render(
        frame=frame,
        machines=tidy_stage.machines_table(records),
        chart_list=chart_list,
        diagnosis=diagnosis,
        not_measured=tidy_stage.cases_not_measured(records),
        title=title,
    )


def run_diagnosis(frame: pd.DataFrame, prices: dict | None = None):
    """`reports.diagnosis.diagnose` on our rows, or None when that module is not there."""
    try:
        diagnosis = importlib.import_module("reports.diagnosis")  # optional stage, written separately
    except ModuleNotFoundError as error:
        if error.name != "reports.diagnosis":
            raise  # the module is there but something it imports is not: say so
        return None
    rows = tidy_stage.ours(frame)
    if rows.empty:
        return None
    return diagnosis.diagnose(rows, prices=prices)


@dataclass
class Table:
    """Display-ready cells, left-aligned for text and right-aligned for numbers.

    The `text_columns` leading columns are text (styled by one class on the table, which
    keeps long tables small); further text columns are listed in `left_columns`.
    """

    headers: list[str]
    rows: list[list[str]]
    text_columns: int = 1
    text_last: bool = False
    left_columns: list[int] = field(default_factory=list)
    wide_columns: list[int] = field(default_factory=list)  # long text: wraps in a wide column
    notes: list[str] = field(default_factory=list)


@dataclass
class ChartView:
    title: str
    sentence: str
    src: str | None  # data URI of the SVG
    reason: str | None


def render(frame: pd.DataFrame, machines: pd.DataFrame, chart_list: Sequence, diagnosis=None,
           not_measured: pd.DataFrame | None = None, title: str | None = None) -> str:
    """Fill the template. Figures in `chart_list` (and in the diagnosis) are encoded and closed."""
    ours = tidy_stage.ours(frame)
    foreign = tidy_stage.foreign(frame)
    verdicts = _verdict_lookup(getattr(diagnosis, "verdicts", None))
    context = {
        "title": title or "cifarbench report",
        "overview": _overview(ours, foreign, machines),
        "summary": list(getattr(diagnosis, "summary_paragraphs", None) or []),
        "machines": _machines_table(machines[machines["cifarbench"]]) if not machines.empty else None,
        "foreign_machines": _machines_table(machines[~machines["cifarbench"]])
        if not machines.empty and (~machines["cifarbench"]).any() else None,
        "best": _best_table(tidy_stage.best_configurations(frame)) if not ours.empty else None,
        "charts": [_chart_view(chart.title, chart.sentence, chart.figure, chart.reason) for chart in chart_list],
        "diagnosis": _diagnosis_view(diagnosis),
        "groups": _group_tables(ours, verdicts),
        "foreign": _foreign_table(foreign) if not foreign.empty else None,
        "not_measured": _not_measured_table(not_measured)
        if not_measured is not None and not not_measured.empty else None,
        "details_open_rows": DETAILS_OPEN_ROWS,
        "summary_shown": SUMMARY_SHOWN,
    }
    return _template().render(**context)


def _template() -> jinja2.Template:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # on for every template: values from result files are never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["joined"] = joined
    return environment.get_template("report.html.j2")


def _chart_view(title: str, sentence: str, figure, reason: str | None) -> ChartView:
    if figure is None:
        return ChartView(title, sentence, None, reason or "not drawn")
    svg = charts_stage.to_svg(figure)
    return ChartView(title, sentence, "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
                     None)


# Display formats. Each takes a value (maybe None or NaN) and returns text; "" when unknown.

def _known(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return False
    return not (isinstance(value, float) and math.isnan(value))


def fmt_rate(value) -> str:
    """Images/s and similar counts per second: thousands separators."""
    if not _known(value):
        return ""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def fmt_seconds(value) -> str:
    """Seconds with about three significant digits; in exponent form below 0.1 ms."""
    if not _known(value):
        return ""
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    if magnitude >= 1e-4:
        decimals = 2 - math.floor(math.log10(magnitude))  # three significant digits
        return f"{value:.{decimals}f}"
    return f"{value:.2e}" if magnitude else "0"


def fmt_number(value) -> str:
    """Any other number: three significant digits, thousands separators above 1,000."""
    if not _known(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == int(value) and abs(value) < 1000:
        return f"{int(value)}"
    return f"{value:.3g}"


def fmt_fraction(value) -> str:
    """A fraction (0.123) as a percentage (12.3%)."""
    return fmt_pct(value * 100) if _known(value) else ""


def fmt_pct(value) -> str:
    """A percentage already in percent: 12.3%, 87%."""
    if not _known(value):
        return ""
    return f"{value:.1f}%" if abs(value) < 10 else f"{value:,.0f}%"


def fmt_int(value) -> str:
    return f"{int(value):,}" if _known(value) else ""


def fmt_text(value) -> str:
    if not _known(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def fmt_version(value) -> str:
    """A version as recorded; a whole number (cuDNN's 92600) without a decimal point."""
    if isinstance(value, float) and _known(value) and value.is_integer():
        return str(int(value))
    return fmt_text(value)


def fmt_flag(value) -> str:
    return ("yes" if value else "no") if _known(value) else ""


def fmt_money(value) -> str:
    if not _known(value):
        return ""
    return f"${value:,.2f}" if abs(value) >= 0.1 else f"${value:.3g}"


def fmt_epoch(seconds, projected) -> str:
    """Seconds per 50,000-image epoch; marked with * when projected from fewer images."""
    text = fmt_seconds(seconds)
    return f"{text}*" if text and projected is True else text


Column = tuple[str, str, Callable]  # header, tidy column, formatter

_IDENTITY: dict[str, Column] = {
    "machine": ("machine", "machine", fmt_text),
    "device": ("device", "device", fmt_text),
    "model": ("model", "model", fmt_text),
    "loader": ("pipeline", "loader", fmt_text),
    "transform": ("transform", "transform", fmt_text),
    "batch_size": ("batch", "batch_size", fmt_int),
    "num_workers": ("workers", "num_workers", fmt_int),
    "pin_memory": ("pinned", "pin_memory", fmt_flag),
    "amp": ("bf16 autocast", "amp", fmt_flag),
    "channels_last": ("channels last", "channels_last", fmt_flag),
}
_FIGURES: dict[str, Column] = {
    "images_per_sec": ("images/s", "images_per_sec", fmt_rate),
    "median_s": ("median round s", "median_s", fmt_seconds),
    "first_batch_seconds": ("first batch s", "first_batch_seconds", fmt_seconds),
    "achieved_tflops": ("TFLOP/s", "achieved_tflops", fmt_number),
    "fraction_of_peak": ("of peak", "fraction_of_peak", fmt_fraction),
    "eval_accuracy": ("accuracy", "eval_accuracy", fmt_fraction),
    "train_loss": ("loss", "train_loss", fmt_number),
    "peak_mem_mib": ("peak mem MiB", "peak_mem_mib", fmt_rate),
    "gpu_util_pct_mean": ("GPU busy", "gpu_util_pct_mean", fmt_pct),
    "cpu_pct_mean": ("CPU", "cpu_pct_mean", fmt_pct),
    "cpu_core_pct_max_mean": ("busiest core", "cpu_core_pct_max_mean", fmt_pct),
    "workers_cpu_pct_mean": ("workers CPU", "workers_cpu_pct_mean", fmt_pct),
    "speedup_vs_cpu": ("speedup vs CPU", "speedup_vs_cpu", fmt_number),
    "images_per_joule": ("images/J", "images_per_joule", fmt_number),
    "joules_per_epoch": ("kJ/epoch", "joules_per_epoch", lambda value: fmt_number(value / 1000)
                         if _known(value) else ""),
}

GROUP_COLUMNS = {
    "loader": (["machine", "loader", "transform", "batch_size", "num_workers", "pin_memory", "device"],
               ["images_per_sec", "first_batch_seconds", "median_s", "cpu_pct_mean", "cpu_core_pct_max_mean",
                "workers_cpu_pct_mean"]),
    "forward": (["machine", "device", "model", "batch_size"],
                ["images_per_sec", "achieved_tflops", "fraction_of_peak", "median_s", "peak_mem_mib",
                 "gpu_util_pct_mean", "cpu_pct_mean", "speedup_vs_cpu"]),
    "train_step": (["machine", "device", "model", "batch_size", "amp", "channels_last"],
                   ["images_per_sec", "achieved_tflops", "fraction_of_peak", "train_loss", "peak_mem_mib",
                    "gpu_util_pct_mean", "cpu_pct_mean", "speedup_vs_cpu", "images_per_joule"]),
    "epoch": (["machine", "device", "model", "loader", "transform", "batch_size", "num_workers"],
              ["images_per_sec", "full_epoch_seconds", "eval_accuracy", "fraction_of_peak", "gpu_util_pct_mean",
               "cpu_pct_mean", "cpu_core_pct_max_mean", "workers_cpu_pct_mean", "speedup_vs_cpu",
               "joules_per_epoch"]),
}
# Axes left out of a group's table when every row has the same value (said in a note instead).
FOLDABLE_AXES = ("transform", "pin_memory", "amp", "channels_last")
VERDICT_KEYS = ("machine", "device", "model", "batch_size", "num_workers", "loader")


def _columns(frame: pd.DataFrame, identity: Sequence[str], figures: Sequence[str]) -> list[Column]:
    """The identity columns (always) and the figures with at least one known value."""
    columns = [_IDENTITY[name] for name in identity]
    for name in figures:
        if name == "full_epoch_seconds":
            columns.append(("s per 50k epoch", name, fmt_seconds))
        elif name in frame.columns and frame[name].notna().any():
            columns.append(_FIGURES[name])
    return columns


def _cells(frame: pd.DataFrame, columns: Sequence[Column]) -> list[list[str]]:
    rows = []
    for record in frame.to_dict("records"):
        cells = []
        for _, name, formatter in columns:
            if name == "full_epoch_seconds":
                cells.append(fmt_epoch(record.get(name), record.get("full_epoch_projected")))
            else:
                cells.append(formatter(record.get(name)))
        rows.append(cells)
    return rows


def _group_tables(ours: pd.DataFrame, verdicts: dict) -> list[dict]:
    tables = []
    for group in tidy_stage.GROUPS:
        rows = ours[ours["group"] == group]
        if rows.empty:
            continue
        identity, figures = GROUP_COLUMNS[group]
        constant = [name for name in identity if name in FOLDABLE_AXES and rows[name].nunique(dropna=False) == 1]
        identity = [name for name in identity if name not in constant]
        columns = _columns(rows, identity, figures)
        cells = _cells(rows, columns)
        table = Table([header for header, _, _ in columns], cells, text_columns=len(identity))
        folded = [f"{_IDENTITY[name][0]} {_IDENTITY[name][2](rows[name].iloc[0]) or 'n/a'}" for name in constant]
        if folded:
            table.notes.append(f"Every row: {', '.join(folded)}.")
        if verdicts:
            found = [verdicts.get(_verdict_key(record)) for record in rows.to_dict("records")]
            if any(found):
                table.headers.append("verdict")
                for cells_of_row, verdict in zip(table.rows, found, strict=True):
                    cells_of_row.append(verdict or "")
                table.text_last = True
        if group == "epoch" and rows["full_epoch_projected"].eq(True).any():
            table.notes.append("* projected to 50,000 images from the images timed.")
        tables.append({"group": group, "title": GROUP_TITLES[group], "sentence": GROUP_SENTENCES[group],
                       "table": table})
    # Groups the report does not know (e.g. the sampler's own overhead benchmark): generic columns.
    for group in dict.fromkeys(ours["group"].dropna()):
        if group in tidy_stage.GROUPS:
            continue
        rows = ours[ours["group"] == group]
        table = Table(["machine", "benchmark", "params", "median s", "mean s", "stddev s", "rounds"],
                      [[fmt_text(record["machine"]), fmt_text(record["name"]), fmt_text(record["params"]),
                        fmt_seconds(record["median_s"]), fmt_seconds(record["mean_s"]),
                        fmt_seconds(record["stddev_s"]), fmt_int(record["rounds"])]
                       for record in rows.to_dict("records")], text_columns=3)
        tables.append({"group": str(group), "title": str(group), "sentence": "timings as recorded",
                       "table": table})
    return tables


def _verdict_key(record: dict) -> tuple:
    key = []
    for name in VERDICT_KEYS:
        value = record.get(name)
        if not _known(value):
            key.append(None)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            key.append(float(value))
        else:
            key.append(str(value))
    return tuple(key)


def _verdict_lookup(verdicts) -> dict:
    """{key of VERDICT_KEYS: verdict text} from the diagnosis' verdicts table."""
    if not isinstance(verdicts, pd.DataFrame) or verdicts.empty or "verdict" not in verdicts.columns:
        return {}
    lookup: dict[tuple, str] = {}
    for record in verdicts.to_dict("records"):
        key = _verdict_key(record)
        text = fmt_text(record.get("verdict"))
        lookup[key] = f"{lookup[key]}; {text}" if key in lookup and text not in lookup[key] else text
    return lookup


def _overview(ours: pd.DataFrame, foreign: pd.DataFrame, machines: pd.DataFrame) -> dict:
    """What was measured: groups, machines, profiles, data, dates, incomplete runs."""
    ours_machines = machines[machines["cifarbench"]] if not machines.empty else machines
    groups = [{"title": GROUP_TITLES[group], "sentence": GROUP_SENTENCES[group],
               "count": int((ours["group"] == group).sum())}
              for group in tidy_stage.GROUPS if (ours["group"] == group).any()]
    started = pd.to_datetime(ours["run_started"], utc=True) if not ours.empty else pd.Series(dtype=object)
    incomplete = [fmt_text(row["machine"]) for _, row in ours_machines.iterrows() if row["complete"] is False]
    return {
        "cases": len(ours),
        "machines": [fmt_text(name) for name in ours_machines["machine"]] if not ours_machines.empty else [],
        "groups": groups,
        "profiles": sorted({fmt_text(value) for value in ours["profile"].dropna()}),
        "data": sorted({_data_label(value) for value in ours["data_source"].dropna()}),
        "first": started.min().strftime("%Y-%m-%d %H:%M UTC") if started.notna().any() else None,
        "last": started.max().strftime("%Y-%m-%d %H:%M UTC") if started.notna().any() else None,
        "incomplete": incomplete,
        "foreign_rows": len(foreign),
        "foreign_files": int(foreign["file"].nunique()) if not foreign.empty else 0,
        "devices": sorted({fmt_text(value) for value in ours["device"].dropna()}),
        "models": sorted({fmt_text(value) for value in ours["model"].dropna()}),
    }


def _data_label(source: str) -> str:
    return "synthetic CIFAR-10-shaped data" if source == "synthetic" else f"CIFAR-10 from {source}"


def _machines_table(machines: pd.DataFrame) -> Table:
    headers = ["machine", "CPU", "cores", "torch threads", "RAM GiB", "GPUs", "driver", "python", "torch",
               "torchvision", "CUDA", "cuDNN", "peak TFLOP/s (measured)", "price / hour", "profile", "files"]
    rows = []
    for record in machines.to_dict("records"):
        cores = fmt_int(record["cores_usable"])
        if _known(record["cores_logical"]) and fmt_int(record["cores_logical"]) != cores:
            cores = f"{cores} of {fmt_int(record['cores_logical'])}" if cores else fmt_int(record["cores_logical"])
        rows.append([
            fmt_text(record["machine"]), fmt_text(record["cpu"]), cores, fmt_int(record["torch_threads"]),
            fmt_number(record["ram_gib"]), fmt_text(record["gpus"]) or "none", fmt_text(record["driver"]),
            *(fmt_version(record[name]) for name in ("python", "torch", "torchvision", "cuda", "cudnn")),
            _peaks(record["peak_tflops"]), fmt_money(record["price_per_hour"]),
            fmt_text(record["profile"]), fmt_int(record["files"]),
        ])
    keep = [index for index in range(len(headers)) if any(row[index] for row in rows)]
    return Table([headers[index] for index in keep], [[row[index] for index in keep] for row in rows],
                 text_columns=len(keep))


def _peaks(peaks) -> str:
    if not isinstance(peaks, dict):
        return ""
    parts = []
    for device, per_dtype in peaks.items():
        if isinstance(per_dtype, dict):
            values = ", ".join(f"{fmt_number(value)} {dtype.replace('float', 'fp').replace('bfloat', 'bf')}"
                               for dtype, value in per_dtype.items() if _known(value))
            parts.append(f"{device}: {values}")
    return "; ".join(parts)


def _best_table(best: pd.DataFrame) -> Table | None:
    if best.empty:
        return None
    identity = ["machine", "model", "device", "loader", "batch_size", "num_workers"]
    figures = ["images_per_sec", "full_epoch_seconds", "fraction_of_peak", "gpu_util_pct_mean", "cpu_pct_mean"]
    columns = _columns(best, identity, figures)
    table = Table([header for header, _, _ in columns], _cells(best, columns), text_columns=len(identity))
    if (best["group"] != "epoch").any():
        table.notes.append("Rows without a pipeline come from train steps: no epoch was measured there.")
    if best["full_epoch_projected"].eq(True).any():
        table.notes.append("* projected to 50,000 images from the images timed.")
    return table


def _foreign_table(foreign: pd.DataFrame) -> Table:
    headers = ["machine", "file", "group", "benchmark", "params", "median s", "mean s", "stddev s", "min s",
               "rounds"]
    rows = [[fmt_text(record["machine"]), Path(str(record["file"])).name, fmt_text(record["group"]),
             fmt_text(record["name"]), fmt_text(record["params"]), fmt_seconds(record["median_s"]),
             fmt_seconds(record["mean_s"]), fmt_seconds(record["stddev_s"]), fmt_seconds(record["min_s"]),
             fmt_int(record["rounds"])]
            for record in foreign.to_dict("records")]
    return Table(headers, rows, text_columns=5)


def _not_measured_table(cases: pd.DataFrame) -> Table:
    headers = ["machine", "group", "case", "outcome", "reason"]
    rows = [[fmt_text(record["machine"]), fmt_text(record["group"]),
             fmt_text(record["nodeid"]).rpartition("::")[2], fmt_text(record["outcome"]),
             fmt_text(record["reason"])]
            for record in cases.to_dict("records")]
    return Table(headers, rows, text_columns=len(headers))


def frame_table(frame: pd.DataFrame, text_last: bool = False) -> Table:
    """Any DataFrame as a table: headers from column names, numbers formatted by name and type."""
    columns = list(frame.columns)
    formatters = [_formatter_for(name, frame[name]) for name in columns]
    text = [formatter is fmt_text for formatter in formatters]
    text_columns = next((index for index, is_text in enumerate(text) if not is_text), len(text))
    rows = [[formatter(value) for formatter, value in zip(formatters, values, strict=True)]
            for values in frame.itertuples(index=False, name=None)]
    wide = [index for index, is_text in enumerate(text)
            if is_text and any(len(row[index]) > WIDE_TEXT_CHARS for row in rows)]
    return Table([str(name).replace("_", " ") for name in columns], rows, text_columns=text_columns,
                 text_last=text_last,
                 left_columns=[index for index, is_text in enumerate(text) if is_text and index >= text_columns],
                 wide_columns=wide)


def _formatter_for(name: str, values: pd.Series) -> Callable:
    name = str(name)
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric:
        return fmt_text
    if name in ("batch_size", "num_workers") or name.endswith("_count"):
        return fmt_int
    if "fraction" in name or name.endswith("_share"):
        return fmt_fraction
    if name.endswith("_pct") or "_pct_" in name:
        return fmt_pct
    if "per_sec" in name:
        return fmt_rate
    if name.endswith(("_s", "_seconds")):
        return fmt_seconds
    if any(word in name for word in ("price", "cost", "usd", "dollars")):
        return fmt_money
    return fmt_number


def _diagnosis_view(diagnosis) -> dict | None:
    if diagnosis is None:
        return None
    verdicts = getattr(diagnosis, "verdicts", None)
    recommendations = getattr(diagnosis, "recommendations", None)
    costs = getattr(diagnosis, "costs", None)
    return {
        "reason": fmt_text(getattr(diagnosis, "reason", None)),
        "verdicts": _optional_table(verdicts),
        "recommendations": _optional_table(recommendations),
        "costs": _optional_table(costs),
        "charts": [_chart_view(*chart) for chart in getattr(diagnosis, "charts", None) or []],
    }


def _optional_table(frame) -> Table | None:
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        return None
    return frame_table(frame)


def joined(items: Iterable[str]) -> str:
    """'a, b and c'"""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""
