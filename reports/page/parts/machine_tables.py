"""Where the numbers were measured: the machines table and the runs table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from reports.page import display as show
from reports.page.columns import Column, Table, table
from reports.reading.runs import Run


def machines_table(machines: pd.DataFrame) -> Table:
    """One row per machine of ours: CPU, cores, GPUs, versions, measured peaks and all-reduce bandwidth."""
    rows = []
    for record in machines.to_dict("records"):
        cores = show.integer(record["cores_usable"])
        if show.known(record["cores_logical"]) and show.integer(record["cores_logical"]) != cores:
            cores = f"{cores} of {show.integer(record['cores_logical'])}" if cores else show.integer(
                record["cores_logical"])
        gpu = show.known(record["gpus"]) and bool(record["gpus"])
        rows.append({**record, "cores": cores, "gpus": record["gpus"] if gpu else "none",
                     "peaks": _peaks(record["peak_tflops"]), "busbw": _busbw(record["allreduce_busbw_gb_per_s"]),
                     # CUDA and cuDNN are the torch build's; on a machine without a GPU they say nothing.
                     "cuda": record["cuda"] if gpu else None, "cudnn": record["cudnn"] if gpu else None,
                     "preset": record["preset"]})
    return table(rows, ["machine", "cpu", "cores", "torch_threads", "ram_gib", "gpus", "driver", "python", "torch",
                        "torchvision", "cuda", "cudnn", "peaks", "busbw", "price_per_hour", "preset", "files"],
                 id="machines",
                 formats={"price_per_hour": show.number})


def _peaks(peaks) -> str:
    if not isinstance(peaks, dict):
        return ""
    parts = []
    for device, per_dtype in peaks.items():
        if isinstance(per_dtype, dict):
            values = ", ".join(f"{show.number(value)} {dtype.replace('bfloat', 'bf').replace('float', 'fp')}"
                               for dtype, value in per_dtype.items() if show.known(value))
            parts.append(f"{device}: {values}")
    return "; ".join(parts)


def _busbw(busbw) -> str:
    """'gloo, 2 ranks: 0.104 at 256 KiB, 0.789 at 4 MiB'."""
    if not isinstance(busbw, dict):
        return ""
    parts = []
    for key, per_size in busbw.items():
        if not isinstance(per_size, dict):
            continue
        backend, _, ranks = str(key).partition(":ws")
        where = f"{backend}, {show.plural(int(ranks), 'rank')}" if ranks.isdigit() else str(key)
        sizes = sorted((int(size), value) for size, value in per_size.items()
                       if str(size).isdigit() and show.known(value))
        parts.append(f"{where}: " + ", ".join(f"{show.number(value)} at {show.size(size)}" for size, value in sizes))
    return "; ".join(parts)


def runs_table(all_runs: list[Run], frame: pd.DataFrame) -> Table:
    """Every run, older ones included, with how many of its cases the report shows."""
    used = frame["file"].value_counts().to_dict() if not frame.empty else {}
    rows = [{"machine": run.machine, "file": Path(run.file).name, "started": _when(run.started), "preset": run.preset,
             "cases": run.cases, "used": used.get(run.file, 0),
             "params": f"{run.commit}{' (uncommitted changes)' if run.dirty else ''}" if run.commit else ""}
            for run in all_runs]
    found = table(rows, ["machine", "file", "started", "preset", "cases", "used", "params"], id="runs")
    found.columns = [Column("commit", "sweep commit") if column.name == "params" else column
                     for column in found.columns]
    return found


def _when(started: str | None) -> str:
    stamp = pd.to_datetime(started, utc=True, errors="coerce", format="ISO8601") if started else pd.NaT
    return "" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d %H:%M")

