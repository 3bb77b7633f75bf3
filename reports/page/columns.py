"""The column spec: every table column declared once (name, header, unit, format), and tables built from it.

Tables pick columns by name and never guess a format from a name; the formats themselves are
`reports.page.display`'s. A row's value may be a `Cell` instead of a raw number: text already
written (a figure with its interval, a shared rank) that still sorts by its number, and may
carry a small inline bar (a share, 0 to 1). A column's `wrap` says how its cells break:
"" (never), "short" (a phrase), "wide" (a sentence), "lines" (a few short facts, one a line) or
"stack" (a figure over its range or its count, one a line, no wider than they are).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reports.page.display import (
    epochs,
    flag,
    fraction,
    integer,
    known,
    money,
    number,
    percent,
    rate,
    seconds,
    text,
    times,
    version,
)


@dataclass(frozen=True)
class Column:
    """One table column: the field it shows, its header, its unit and how a value is written."""

    name: str
    header: str
    unit: str = ""
    format: Callable[[object], str] = text
    numeric: bool = False  # right-aligned, sorted as a number
    wrap: str = ""  # "", "short", "wide", "lines" or "stack" (see the module docstring)

    @property
    def title(self) -> str:
        return f"{self.header} ({self.unit})" if self.unit else self.header


@dataclass(frozen=True)
class Cell:
    """A value written already (`text`) that sorts by `sort` and may draw a bar of `bar` (0 to 1)."""

    text: str
    sort: float | None = None
    bar: float | None = None


def _column(name, header, unit="", format=text, numeric=None, wrap="") -> Column:
    return Column(name, header, unit, format, format is not text if numeric is None else numeric, wrap)


COLUMNS: dict[str, Column] = {column.name: column for column in [
    _column("machine", "machine"),
    _column("trust", "trust"),
    _column("device", "device"),
    _column("model", "model"),
    _column("loader", "pipeline"),
    _column("transform", "transform"),
    _column("configuration", "configuration", wrap="short"),
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
    _column("payoff", "pays off?", wrap="wide"),
    _column("images_per_sec", "images/s", "median round", rate),
    _column("images_per_sec_range", "rounds' range", "images/s", numeric=False),
    _column("rounds", "rounds", format=integer),
    _column("rounds_spread", "rounds' spread", "% of median", fraction),
    _column("median_s", "median round", "s", seconds),
    _column("first_batch_seconds", "first batch", "s", seconds),
    _column("full_epoch_seconds", "epoch", "s per 50,000 images", seconds),
    _column("epoch_note", "epoch timed", numeric=False, wrap="short"),
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
    _column("limit", "what limits it", numeric=False, wrap="short"),
    _column("verdict", "verdict"),
    _column("fraction_of_ceiling", "of step ceiling", "%", fraction),
    _column("epoch_images_per_sec", "epoch", "images/s", rate),
    _column("step_images_per_sec", "train-step ceiling", "images/s", rate),
    _column("loader_images_per_sec", "loader ceiling", "images/s", rate),
    _column("evidence", "evidence", wrap="lines"),
    _column("advice", "advice", wrap="lines"),
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
    _column("reason", "reason", wrap="wide"),
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
    # The answer by time to a trained classifier (reports.analysis.to_target) and its evidence.
    _column("where", "machine · device"),
    _column("fastest_to_target", "fastest to target", "configuration · learning rate", wrap="lines"),
    _column("time_to_target", "time to target", "median [seeds' range]", numeric=True, wrap="stack"),
    _column("cost_to_target", "cost to target", "median [seeds' range]", numeric=True, wrap="stack"),
    _column("energy_to_target", "energy to target", "kJ, median", numeric=True),
    _column("tutorial_to_target", "the tutorial's settings", "batch 4, 2 workers, pil, lr 0.001", wrap="lines"),
    _column("fastest_per_image", "fastest per image", "its throughput · to target", wrap="lines"),
    _column("lr_plan", "learning rate", "lr · rule · warm-up", wrap="short"),
    _column("seeds", "seeds", "reached / trained", numeric=False),
    _column("best_accuracy", "best accuracy", "%", fraction),
    _column("images_per_sec_interval", "images/s", "median [interval]", numeric=True),
    _column("hardware", "instance", wrap="short"),
    _column("share_waiting", "waits for input", "% of each step", fraction),
    _column("share_computing", "computes", "% of each step", fraction),
    _column("facts", "why", wrap="lines"),
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
    bars: list[list[float | None]] = field(default_factory=list)  # per cell: a share to draw, 0 to 1

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
    cells = [[_text(row.get(column.name), formats.get(column.name) or column.format) for column in columns]
             for row in rows]
    keys = [[_sort_key(row.get(column.name)) if column.numeric else "" for column in columns] for row in rows]
    bars = [[_bar(row.get(column.name)) for column in columns] for row in rows]
    if drop_empty and rows:
        keep = [index for index in range(len(columns)) if any(row[index] for row in cells)]
        columns = [columns[index] for index in keep]
        cells = [[row[index] for index in keep] for row in cells]
        keys = [[row[index] for index in keep] for row in keys]
        bars = [[row[index] for index in keep] for row in bars]
    if not any(bar is not None for row in bars for bar in row):
        bars = []
    return Table(columns, cells, keys, list(notes), id, bars=bars)


def _text(value: object, format: Callable[[object], str]) -> str:
    return value.text if isinstance(value, Cell) else format(value)


def _bar(value: object) -> float | None:
    """A cell's bar as a share from 0 to 1 (clipped), or None."""
    if not isinstance(value, Cell) or not known(value.bar):
        return None
    return min(max(float(value.bar), 0.0), 1.0)


def _sort_key(value: object) -> str:
    if isinstance(value, Cell):
        value = value.sort
    if not known(value) or isinstance(value, str):
        return ""
    try:
        return repr(float(value))
    except (TypeError, ValueError):
        return ""


def fold(records: list[dict], names: Sequence[str], foldable: Sequence[str]) -> tuple[list[str], list[str]]:
    """(columns to show, notes): a `foldable` column whose every row agrees is said once, in a note."""
    said, shown = [], []
    for name in names:
        values = {text(record.get(name)) for record in records}
        if name in foldable and len(values) == 1:
            said.append(f"{COLUMNS[name].header} {values.pop() or 'n/a'}")
        else:
            shown.append(name)
    return shown, [f"Every row: {', '.join(said)}."] if said else []


def money_formats(currency: str | None) -> dict[str, Callable]:
    """`table`'s `formats` for the money columns: amounts in `currency` (the prices file's)."""
    return {name: (lambda value: money(value, currency)) for name in ("cost_per_epoch", "price_per_hour")}
