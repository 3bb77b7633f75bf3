"""Display: how every number, unit and column of the report is written, in one place.

Numbers stay unrounded through every stage and are rounded here only, for the tables, the
charts and the sentences alike. Every table column is declared once in `COLUMNS` (its name,
header, unit and format); tables pick columns by name and never guess a format from a name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

FULL_EPOCH_IMAGES = 50_000


def known(value: object) -> bool:
    """False for None and NaN (pandas' missing values included), True for anything else."""
    if value is None:
        return False
    try:
        return value == value  # NaN, pd.NA and NaT are not equal to themselves
    except (TypeError, ValueError):  # pd.NA refuses a truth value
        return False


def rate(images_per_sec: float | None) -> str:
    """Images per second: 412, 6.1k, 61k, 1.2M."""
    if not known(images_per_sec):
        return ""
    value = float(images_per_sec)
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{value / 1e3:.0f}k"
    if abs(value) >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.2g}"


def rate_unit(images_per_sec: float | None) -> str:
    """Images per second with its unit: '6.1k img/s'."""
    text = rate(images_per_sec)
    return f"{text} img/s" if text else ""


def seconds(value: float | None) -> str:
    """Seconds with about three significant digits, never in e-notation: 0.000123, 1.23, 123."""
    if not known(value):
        return ""
    value = float(value)
    magnitude = abs(value)
    if magnitude == 0:
        return "0"
    if magnitude >= 100:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(magnitude)))
    return f"{value:.{decimals}f}"


def duration(value: float | None) -> str:
    """A duration for sentences and chart labels: 8.2 s, 4.1 min, 1.5 h."""
    if not known(value):
        return ""
    value = float(value)
    if value >= 3600:
        return f"{value / 3600:.1f} h"
    if value >= 120:
        return f"{value / 60:.1f} min"
    if value >= 10:
        return f"{value:.0f} s"
    return f"{value:.2g} s"


def percent(value: float | None) -> str:
    """A value already in percent: 7.5%, 82%."""
    if not known(value):
        return ""
    value = float(value)
    return f"{value:.1f}%" if 0 < abs(value) < 9.95 else f"{value:,.0f}%"


def fraction(value: float | None) -> str:
    """A fraction as a percentage: 0.823 -> 82%."""
    return percent(float(value) * 100) if known(value) else ""


def times(ratio: float | None) -> str:
    """A ratio: 1.7x, 12x."""
    if not known(ratio):
        return ""
    ratio = float(ratio)
    return f"{ratio:.2f}x" if ratio < 1.095 else f"{ratio:.1f}x" if ratio < 9.95 else f"{ratio:.0f}x"


def epochs(value: float | str | None) -> str:
    """A number of epochs (3.2, 0.41, 1,250), or a word in its place ("never")."""
    if isinstance(value, str):
        return value
    if not known(value):
        return ""
    value = float(value)
    return f"{value:,.0f}" if value >= 100 else f"{value:.2g}" if value < 10 else f"{value:.0f}"


def integer(value: float | None) -> str:
    return f"{int(value):,}" if known(value) else ""


def number(value: float | None) -> str:
    """Any other number: three significant digits, thousands separators from 1,000."""
    if not known(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    value = float(value)
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value.is_integer():
        return f"{int(value)}"
    return f"{value:.3g}"


def text(value: object) -> str:
    if not known(value):
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def flag(value: object) -> str:
    return ("yes" if value else "no") if known(value) else ""


def version(value: object) -> str:
    """A version as recorded; cuDNN's whole number (92600) as 9.26.0."""
    if isinstance(value, int | float) and not isinstance(value, bool) and known(value):
        whole = int(value)
        if whole >= 1000:  # cuDNN encodes major*10000 + minor*100 + patch (8.x: major*1000 + ...)
            major, rest = (whole // 10000, whole % 10000) if whole >= 10000 else (whole // 1000, whole % 1000)
            return f"{major}.{rest // 100}.{rest % 100}"
        return str(whole) if float(value).is_integer() else str(value)
    return text(value)


def money(amount: float | None, currency: str | None = None) -> str:
    """An amount with three significant digits, never in e-notation; the currency when named.

    The prices file is in one currency; without its name no symbol is printed.
    """
    if not known(amount):
        return ""
    amount = float(amount)
    if amount == 0:
        figure = "0"
    elif abs(amount) >= 100:
        figure = f"{amount:,.0f}"
    else:
        decimals = max(2 if abs(amount) >= 1 else 0, 2 - math.floor(math.log10(abs(amount))))
        figure = f"{amount:.{decimals}f}"
    return f"{figure} {currency}" if currency else figure


def size(message_bytes: int) -> str:
    """A message size in binary units: 256 KiB, 4 MiB, 1 GiB."""
    value = float(message_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:g} {unit}"
        value /= 1024
    return ""


def ordinal(value: int) -> str:
    suffix = "th" if 10 <= value % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(value % 10, "th")
    return f"{value}{suffix}"


def plural(count: int, word: str, words: str | None = None) -> str:
    return f"{count} {word if count == 1 else (words or word + 's')}"


def joined(items: Sequence[str], last: str = "and") -> str:
    """'a, b and c'."""
    items = [item for item in items if item]
    if not items:
        return ""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {last} {items[-1]}"


def config(batch_size: int | None, workers: int | None, loader: str | None) -> str:
    """'batch 128, 0 workers, tensor pipeline'."""
    parts = []
    if batch_size is not None:
        parts.append(f"batch {batch_size}")
    if workers is not None and loader != "device":
        parts.append(plural(workers, "worker"))
    if loader:
        parts.append(f"{loader} pipeline")
    return ", ".join(parts)


def spread_range(low: float | None, high: float | None, format_one: Callable = rate) -> str:
    """'5.9k-6.2k' for the min and max of the rounds."""
    if not known(low) or not known(high):
        return ""
    return f"{format_one(low)}\N{EN DASH}{format_one(high)}"


# --- the column spec -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One table column: the field it shows, its header, its unit and how a value is written."""

    name: str
    header: str
    unit: str = ""
    format: Callable[[object], str] = text
    numeric: bool = False  # right-aligned, sorted as a number

    @property
    def title(self) -> str:
        return f"{self.header} ({self.unit})" if self.unit else self.header


def _column(name, header, unit="", format=text, numeric=None) -> Column:
    return Column(name, header, unit, format, format is not text if numeric is None else numeric)


COLUMNS: dict[str, Column] = {column.name: column for column in [
    _column("machine", "machine"),
    _column("trust", "trust"),
    _column("device", "device"),
    _column("model", "model"),
    _column("loader", "pipeline"),
    _column("transform", "transform"),
    _column("configuration", "configuration"),
    _column("batch_size", "batch", format=integer),
    _column("num_workers", "workers", format=integer),
    _column("pin_memory", "pinned memory", format=flag, numeric=False),
    _column("amp", "bf16 autocast", format=flag, numeric=False),
    _column("channels_last", "channels last", format=flag, numeric=False),
    _column("compile", "torch.compile"),
    _column("compile_seconds", "compile", "s", seconds),
    _column("recompiles", "recompiles in the rounds", format=integer),
    _column("eager_images_per_sec", "eager", "images/s", rate),
    _column("compiled_images_per_sec", "compiled", "images/s", rate),
    _column("speedup_vs_eager", "speed-up over eager", "x", times),
    _column("eager_epoch_seconds", "eager epoch", "s", seconds),
    _column("compiled_epoch_seconds", "compiled epoch", "s", seconds),
    _column("break_even_epochs", "break-even", "epochs", epochs, numeric=True),
    _column("payoff", "pays off?"),
    _column("images_per_sec", "images/s", "median round", rate),
    _column("images_per_sec_range", "rounds' range", "images/s", numeric=False),
    _column("rounds", "rounds", format=integer),
    _column("rounds_spread", "rounds' spread", "% of median", fraction),
    _column("median_s", "median round", "s", seconds),
    _column("first_batch_seconds", "first batch", "s", seconds),
    _column("full_epoch_seconds", "epoch", "s per 50,000 images", seconds),
    _column("epoch_note", "epoch timed", numeric=False),
    _column("achieved_tflops", "achieved", "TFLOP/s", number),
    _column("fraction_of_peak", "of measured peak", "%", fraction),
    _column("eval_accuracy", "eval accuracy", "%", fraction),
    _column("train_loss", "train loss", format=number),
    _column("peak_mem_mib", "peak memory", "MiB", number),
    # NVML's utilization.gpu: the share of time any kernel ran, not how much of the GPU worked.
    _column("gpu_util_pct_mean", "GPU kernel active", "% of time", percent),
    _column("sm_active_pct", "SM active", "% (GPM)", percent),
    _column("sm_occupancy_pct", "SM occupancy", "% (GPM)", percent),
    _column("tensor_active_pct", "tensor pipes active", "% (GPM)", percent),
    _column("dram_bw_util_pct", "DRAM bandwidth", "% of peak (GPM)", percent),
    _column("cpu_pct_mean", "CPU, all cores", "%", percent),
    _column("cpu_core_pct_max_mean", "busiest core", "%", percent),
    _column("workers_cpu_pct_mean", "workers' CPU", "% of a core", percent),
    _column("other_cpu_pct", "other processes' CPU", "% of a core", percent),
    _column("speedup_vs_cpu", "speed-up over CPU", "x", times),
    _column("speedup_vs_tutorial", "speed-up over tutorial", "x", times),
    _column("images_per_joule", "images per joule", format=number),
    _column("joules_per_epoch", "energy", "kJ per epoch", lambda value: number(value / 1000)
            if known(value) else ""),
    _column("limit", "what limits it", numeric=False),
    _column("verdict", "verdict"),
    _column("fraction_of_ceiling", "of step ceiling", "%", fraction),
    _column("epoch_images_per_sec", "epoch", "images/s", rate),
    _column("step_images_per_sec", "train-step ceiling", "images/s", rate),
    _column("loader_images_per_sec", "loader ceiling", "images/s", rate),
    _column("evidence", "evidence"),
    _column("advice", "advice"),
    _column("price_per_hour", "price", "per hour", number),
    _column("cost_per_epoch", "cost", "per epoch", money),
    _column("time_rank", "rank by time", format=integer),
    _column("cost_rank", "rank by cost", format=integer),
    _column("rank", "rank", format=integer),
    _column("files", "files", format=integer),
    _column("file", "file"),
    _column("started", "started (UTC)"),
    _column("preset", "preset"),
    _column("cases", "cases", format=integer),
    _column("used", "cases shown", format=integer),
    _column("group", "group"),
    _column("name", "benchmark"),
    _column("params", "parameters"),
    _column("mean_s", "mean round", "s", seconds),
    _column("stddev_s", "standard deviation", "s", seconds),
    _column("min_s", "fastest round", "s", seconds),
    _column("outcome", "outcome"),
    _column("reason", "reason"),
    _column("cpu", "CPU"),
    _column("cores", "cores"),
    _column("torch_threads", "torch threads", format=integer),
    _column("ram_gib", "RAM", "GiB", number),
    _column("gpus", "GPUs"),
    _column("driver", "driver"),
    _column("python", "Python"),
    _column("torch", "torch"),
    _column("torchvision", "torchvision"),
    _column("cuda", "CUDA"),
    _column("cudnn", "cuDNN", format=version, numeric=False),
    _column("peaks", "measured peak", "TFLOP/s"),
    _column("busbw", "all-reduce bus bandwidth", "GB/s"),
    _column("scaling", "scaling"),
    _column("world_size", "ranks", format=integer),
    _column("nnodes", "nodes", format=integer),
    _column("backend", "backend"),
    _column("rank_batch_size", "batch per rank", "images", integer),
    _column("baseline_images_per_sec", "one rank", "images/s", rate),
    _column("scaling_efficiency", "scaling efficiency", "% of ranks x one rank", fraction),
    _column("rank_efficiency_range", "ranks' efficiency", "% slowest\N{EN DASH}fastest", numeric=False),
    _column("straggler_ratio", "straggler ratio", "slowest / median rank", times),
    _column("allreduce_share", "exposed all-reduce", "% of a step", fraction),
]}


@dataclass
class Table:
    """Display-ready cells with the columns they came from, for the template.

    `sort_keys` holds, per cell, the raw number a sortable table sorts by ("" for text).
    """

    columns: list[Column]
    rows: list[list[str]]
    sort_keys: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    id: str | None = None
    row_attributes: list[dict[str, str]] = field(default_factory=list)

    @property
    def headers(self) -> list[str]:
        return [column.title for column in self.columns]


def table(rows: Sequence[dict], names: Sequence[str], *, drop_empty: bool = True, notes: Sequence[str] = (),
          id: str | None = None, formats: dict[str, Callable] | None = None) -> Table:
    """A table of `rows` (dicts of raw values) with the declared columns `names`, in order.

    A column whose every cell is empty is left out when `drop_empty`. `formats` overrides the
    spec's format of a column for this table (money with the prices' currency, say).
    """
    columns = [COLUMNS[name] for name in names]
    formats = formats or {}
    cells = [[(formats.get(column.name) or column.format)(row.get(column.name)) for column in columns]
             for row in rows]
    keys = [[_sort_key(row.get(column.name)) if column.numeric else "" for column in columns] for row in rows]
    if drop_empty and rows:
        keep = [index for index in range(len(columns)) if any(row[index] for row in cells)]
        columns = [columns[index] for index in keep]
        cells = [[row[index] for index in keep] for row in cells]
        keys = [[row[index] for index in keep] for row in keys]
    return Table(columns, cells, keys, list(notes), id)


def _sort_key(value: object) -> str:
    if not known(value) or isinstance(value, str):
        return ""
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return ""
