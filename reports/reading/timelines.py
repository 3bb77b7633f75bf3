"""The sampler's timelines: which cases are worth a look, and their samples as one long frame."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from reports.reading.load import Record
from reports.reading.tidy import ours

TIMELINE_COLUMNS = ("case", "machine", "name", "t_s", "metric", "value")


def select_timeline_cases(frame: pd.DataFrame, limit: int = 6) -> pd.DataFrame:
    """Cases whose timelines are worth a look: the fastest and the slowest epoch per machine and device.

    Only rows with a timeline of two samples or more; CUDA devices first; at most `limit`.
    Falls back to train-step, then loader rows when no epoch row has a timeline.
    """
    rows = ours(frame)
    rows = rows[(rows["timeline_points"] >= 2) & rows["images_per_sec"].notna()]
    for group in ("epoch", "train_step", "loader"):
        candidates = rows[rows["group"] == group]
        if candidates.empty:
            continue
        by_device = candidates.groupby(["machine", "device"], sort=False)["images_per_sec"]
        picked = candidates.loc[list(dict.fromkeys([*by_device.idxmax(), *by_device.idxmin()]))]
        picked = picked.assign(_cpu=picked["device_kind"] != "cuda", _speed=-picked["images_per_sec"])
        picked = picked.sort_values(["_cpu", "machine", "device", "_speed"], kind="stable")
        return picked.drop(columns=["_cpu", "_speed"]).head(limit).reset_index(drop=True)
    return rows.iloc[0:0]


def timelines(records: Iterable[Record], cases: pd.DataFrame) -> pd.DataFrame:
    """The sampler's timelines of `cases` (rows of the tidy frame), long form.

    Columns: case (a readable label), machine, name, t_s, metric, value.
    """
    wanted = {(file, fullname): label for file, fullname, label in zip(
        cases["file"], cases["fullname"], _case_labels(cases), strict=True)}
    columns: dict[str, list] = {name: [] for name in TIMELINE_COLUMNS}
    for record in records:
        key = (record.file, record.benchmark.get("fullname") or record.benchmark.get("name"))
        label = wanted.get(key)
        if label is None:
            continue
        timeline = (record.benchmark.get("extra_info") or {}).get("timeline") or {}
        seconds = timeline.get("t_s") or []
        for metric, values in timeline.items():
            if metric == "t_s" or not isinstance(values, list) or len(values) != len(seconds):
                continue
            count = len(values)
            columns["case"] += [label] * count
            columns["machine"] += [record.machine] * count
            columns["name"] += [record.benchmark.get("name")] * count
            columns["t_s"] += seconds
            columns["metric"] += [metric] * count
            columns["value"] += values
    frame = pd.DataFrame(columns, columns=list(TIMELINE_COLUMNS))
    # In the order of `cases` (the charts draw them so), not the files' order.
    order = {label: index for index, label in enumerate(wanted.values())}
    frame = frame.iloc[frame["case"].map(order).argsort(kind="stable")].reset_index(drop=True)
    for name in ("t_s", "value"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame


def _case_labels(cases: pd.DataFrame) -> list[str]:
    labels = []
    for _, row in cases.iterrows():
        parts = [row["machine"], row["device"], row["model"]]
        if not _missing(row["loader"]):
            parts.append(row["loader"])
        if not _missing(row["batch_size"]):
            parts.append(f"batch {int(row['batch_size'])}")
        if not _missing(row["num_workers"]):
            parts.append(f"{int(row['num_workers'])} workers")
        labels.append(" · ".join(str(part) for part in parts if not _missing(part)))
    return labels


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA
