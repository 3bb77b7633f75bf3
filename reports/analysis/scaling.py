"""Stage 3f, scaling: the `ddp` group's rows of the tidy frame -> typed scaling points.

A ddp case trains one epoch on every rank under DistributedDataParallel; its `images_per_sec`
is all ranks together. `scaling_points` derives, once, each case's scaling efficiency: its
images/s over world size x the one-rank case of the same machine and configuration (model,
device, pipeline, batch size per rank, weak or strong scaling). A rank's efficiency is its own
images/s over that one-rank figure (ideal: 1, under weak and strong scaling alike), so the
spread across ranks shows stragglers. Without a one-rank case on the same machine (a
multi-node file on its own), the efficiency the sweep recorded is used, else None.

The page shows the points as a table (`reports.page.parts.evidence.scaling_table`) and a
chart (`reports.page.charts.scaling`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from reports.reading.tidy import DDP_GROUP

GROUP = DDP_GROUP
CONFIG = ("model", "device", "loader", "batch_size")


@dataclass(frozen=True)
class ScalingPoint:
    """One ddp case: how its ranks together compare with one rank of the same configuration."""

    machine: str
    name: str
    model: str | None
    device: str | None
    loader: str | None
    batch_size: int | None  # per rank
    scaling: str | None  # weak or strong
    world_size: int
    nnodes: int
    backend: str | None
    images_per_sec: float  # all ranks together
    baseline_images_per_sec: float | None  # one rank, same machine and configuration
    scaling_efficiency: float | None  # images_per_sec / (world_size x baseline)
    rank_efficiency_min: float | None  # the slowest rank's images/s over the baseline
    rank_efficiency_max: float | None  # the fastest rank's
    straggler_ratio: float | None  # slowest rank's busy seconds / the median rank's
    allreduce_share: float | None  # share of a step in the gradient all-reduce backward does not hide
    trust: str | None = None

    @property
    def configuration(self) -> tuple:
        return (self.machine, self.model, self.device, self.loader, self.batch_size, self.scaling)


def _number(value) -> float | None:
    if value is None or isinstance(value, bool | str):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def scaling_points(frame: pd.DataFrame) -> list[ScalingPoint]:
    """Every measured ddp case of the tidy frame, by machine, configuration and world size."""
    if frame.empty or "world_size" not in frame.columns:
        return []
    rows = frame[frame["cifarbench"] & (frame["group"] == GROUP) & frame["images_per_sec"].notna()
                 & frame["world_size"].notna()]
    baselines: dict[tuple, float] = {}
    for row in rows.itertuples(index=False):
        if int(row.world_size) == 1:
            baselines[_key(row)] = float(row.images_per_sec)
    points = []
    for row in rows.itertuples(index=False):
        world_size = int(row.world_size)
        baseline = baselines.get(_key(row))
        rates = [rate for rate in row.rank_images_per_sec if math.isfinite(rate)]
        if baseline:
            efficiency = row.images_per_sec / (world_size * baseline)
            ranks = [rate / baseline for rate in rates]
        else:
            efficiency, ranks = _number(row.scaling_efficiency), []
        points.append(ScalingPoint(
            machine=row.machine, name=row.name, model=_text(row.model), device=_text(row.device),
            loader=_text(row.loader), batch_size=None if pd.isna(row.batch_size) else int(row.batch_size),
            scaling=_text(row.scaling), world_size=world_size,
            nnodes=1 if pd.isna(row.nnodes) else int(row.nnodes), backend=_text(row.backend),
            images_per_sec=float(row.images_per_sec), baseline_images_per_sec=baseline,
            scaling_efficiency=efficiency, rank_efficiency_min=min(ranks) if ranks else None,
            rank_efficiency_max=max(ranks) if ranks else None, straggler_ratio=_number(row.straggler_ratio),
            allreduce_share=_number(row.allreduce_share), trust=_text(row.trust_level),
        ))
    return sorted(points, key=lambda point: (tuple(str(part) for part in point.configuration), point.world_size))


def _key(row) -> tuple:
    return (row.machine, *(str(getattr(row, axis)) for axis in CONFIG), str(row.scaling))


