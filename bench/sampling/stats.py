"""Statistics of one sampled series: its summary, its percentiles, and the points a timeline keeps."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The `q` quantile (0..1) of sorted values: linear interpolation between closest ranks (numpy's default)."""
    position = (len(sorted_values) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def summarize(values: Sequence[float]) -> dict[str, float]:
    """mean, p50, p95, max and n of a non-empty series."""
    ordered = sorted(values)
    return {
        "mean": math.fsum(ordered) / len(ordered),
        "p50": percentile(ordered, 0.50),
        "p95": percentile(ordered, 0.95),
        "max": ordered[-1],
        "n": len(ordered),
    }


def downsample_indices(count: int, max_points: int) -> list[int]:
    """At most `max_points` evenly spaced indices into `count` points, first and last kept.

    Picks, not bucket means: each point of the timeline stays a real sample at its real time,
    and peaks are in the summary's max.
    """
    if count <= max_points:
        return list(range(count))
    return [round(i * (count - 1) / (max_points - 1)) for i in range(max_points)]
