"""Derived figures: each computed by exactly one function here, for both sides of the file.

The rule (see `bench.contract`): bench/ writes raw measured facts (images per round, each
round's seconds, FLOPs per image, joules over the rounds, ...). A figure made from them is
derived, here, once: the harness calls these functions where it writes a headline figure into
the JSON for readers without the report (images/s, its interval, achieved TFLOP/s, seconds per
full epoch), and the report calls the same functions for every other figure and for files that
lack one. Pure arithmetic on floats; no torch, no pandas.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from bench.contract.vocab import FULL_EPOCH_IMAGES


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def images_per_sec(images_per_round: float, round_seconds: Sequence[float]) -> float:
    """A case's headline: images one round processed over the median round's seconds."""
    return images_per_round / median(round_seconds)


def round_images_per_sec(images_per_round: float, round_seconds: Sequence[float]) -> list[float]:
    """Each round's images/s (the samples a rank test compares)."""
    return [images_per_round / seconds for seconds in round_seconds if seconds > 0]


def rounds_spread(round_seconds: Sequence[float]) -> float | None:
    """(max - min) / median of the rounds' seconds; None for fewer than two rounds."""
    if len(round_seconds) < 2:
        return None
    middle = median(round_seconds)
    return (max(round_seconds) - min(round_seconds)) / middle if middle > 0 else None


def achieved_tflops(flops_per_image: float | None, images_per_sec: float | None) -> float | None:
    if not flops_per_image or not images_per_sec:
        return None
    return flops_per_image * images_per_sec / 1e12


def fraction_of_peak(achieved: float | None, peak_tflops: float | None) -> float | None:
    if achieved is None or not peak_tflops:
        return None
    return achieved / peak_tflops


def full_epoch_seconds(images_per_sec: float) -> float:
    """Seconds for a 50,000-image epoch at this rate (projected where fewer images were timed)."""
    return FULL_EPOCH_IMAGES / images_per_sec


def images_per_joule(images: float, energy_j: float | None) -> float | None:
    """Images per joule of GPU energy; None when no energy was measured (or none counted)."""
    if energy_j is None or energy_j <= 0:
        return None
    return images / energy_j


def joules_per_epoch(energy_j: float | None, images: float | None) -> float | None:
    """GPU joules for a 50,000-image epoch, from the joules and images of the timed rounds."""
    if energy_j is None or not images:
        return None
    return energy_j / images * FULL_EPOCH_IMAGES


def scaling_efficiency(images_per_sec: float, world_size: int, one_rank_images_per_sec: float | None) -> float | None:
    """images/s at N ranks over N times one rank's: 1.0 is perfect weak scaling."""
    if not one_rank_images_per_sec or world_size < 1:
        return None
    return images_per_sec / (world_size * one_rank_images_per_sec)


def relative_spread(values: Sequence[float]) -> float | None:
    """(max - min) / median; None for fewer than two values."""
    if len(values) < 2:
        return None
    middle = median(values)
    return (max(values) - min(values)) / middle if middle > 0 else None


def log_sd(values: Sequence[float]) -> float | None:
    """The sample standard deviation of the logs (about the relative sd); None for fewer than two."""
    positive = [math.log(value) for value in values if value > 0]
    if len(positive) < 2:
        return None
    return statistics.stdev(positive)


# Student's t, the 95th percentile (a two-sided 90% interval), by degrees of freedom. A table
# rather than scipy.stats.t.ppf: the GPU images cifarbench runs on carry no scipy, and the
# harness writes intervals there too. Between entries the next smaller df is used (wider).
_T95 = {1: 6.314, 2: 2.920, 3: 2.353, 4: 2.132, 5: 2.015, 6: 1.943, 7: 1.895, 8: 1.860, 9: 1.833,
        10: 1.812, 12: 1.782, 15: 1.753, 20: 1.725, 30: 1.697, 60: 1.671}
_Z95 = 1.645
# How much the run's pooled repeat noise weighs against a case's own repeats, in degrees of
# freedom: a case with two or three repeats knows its own spread poorly, the run's many cases
# know the machine's well; a case that really is noisier still widens its own interval.
POOLED_WEIGHT_DF = 6


def t95(degrees_of_freedom: float) -> float:
    """The 95th percentile of Student's t with `degrees_of_freedom` (at least 1)."""
    if degrees_of_freedom < 1:
        raise ValueError("at least one degree of freedom")
    known = [df for df in _T95 if df <= degrees_of_freedom]
    if degrees_of_freedom > max(_T95):
        return _Z95
    return _T95[max(known)]


@dataclass(frozen=True)
class PooledNoise:
    """The run-to-run noise a run measured: the relative sd of a case's repeats, pooled over its cases."""

    log_sd: float  # about the relative standard deviation of one repeat's figure
    degrees_of_freedom: int
    cases: int


def pooled_noise(repeat_figures: Sequence[Sequence[float]]) -> PooledNoise | None:
    """Pool the log-variance of every case's repeat figures (cases with two repeats or more)."""
    squares, freedom, cases = 0.0, 0, 0
    for figures in repeat_figures:
        sd = log_sd(figures)
        if sd is None:
            continue
        squares += sd**2 * (len(figures) - 1)
        freedom += len(figures) - 1
        cases += 1
    if not freedom:
        return None
    return PooledNoise(log_sd=math.sqrt(squares / freedom), degrees_of_freedom=freedom, cases=cases)


def interval(figure: float, repeat_figures: Sequence[float], round_figures: Sequence[float],
             pooled: PooledNoise | None) -> tuple[float, float] | None:
    """A two-sided 90% interval for the figure another run of the same sweep would read.

    With several repeats (`repeat_figures`, each repeat's images/s): the repeats' own spread,
    weighed with the run's pooled repeat noise (`POOLED_WEIGHT_DF` degrees of freedom of it),
    scaled for the difference of two figures of as many repeats each: half-width
    t95(df) x s x sqrt(2 / repeats) in logs, around `figure`. With one repeat the rounds'
    figures stand in for the repeats (within one run only: the caller says so), pooled noise
    weighed in where the run measured some. None with nothing to go by.
    """
    samples = repeat_figures if len(repeat_figures) >= 2 else round_figures
    own = log_sd(samples)
    if own is None and pooled is None:
        return None
    own_df = len(samples) - 1 if own is not None else 0
    prior_df = min(POOLED_WEIGHT_DF, pooled.degrees_of_freedom) if pooled is not None else 0
    variance = ((own or 0.0) ** 2 * own_df + (pooled.log_sd**2 * prior_df if pooled else 0.0)) / (own_df + prior_df)
    count = max(len(repeat_figures), 1)
    half = t95(own_df + prior_df) * math.sqrt(variance) * math.sqrt(2 / count)
    return figure * math.exp(-half), figure * math.exp(half)


def overlap(first: Sequence[float] | None, second: Sequence[float] | None) -> bool:
    """Whether two [low, high] intervals share a point (no interval: they may, so True)."""
    if not first or not second:
        return True
    return first[0] <= second[1] and second[0] <= first[1]


@dataclass(frozen=True)
class TimeToTarget:
    """A converge case's answer over its seeds (from extra_info["seeds"]).

    `seconds`: the median training seconds to the target over the seeds that reached it, with
    `seconds_low`/`seconds_high` their range (one seed: the same value); the other figures are
    medians over the same seeds; `reached`/`seeds`: how many seeds reached it, of how many.
    `best_accuracy`: the best evaluation accuracy any seed reached (what a run that missed got).
    """

    seeds: int
    reached: int
    seconds: float | None
    seconds_low: float | None
    seconds_high: float | None
    eval_seconds: float | None
    epochs: float | None
    images: float | None
    steps: float | None
    energy_j: float | None
    best_accuracy: float | None

    @property
    def share_reached(self) -> float:
        return self.reached / self.seeds if self.seeds else 0.0


def time_to_target(seeds: Sequence[dict]) -> TimeToTarget:
    """The median time to target, its range and the share of seeds that reached it."""
    reached = [run for run in seeds if run.get("reached") and run.get("seconds_to_target") is not None]

    def middle(key: str) -> float | None:
        values = [run[key] for run in reached if run.get(key) is not None]
        return median(values) if values else None

    seconds = [run["seconds_to_target"] for run in reached]
    accuracies = [run["best_accuracy"] for run in seeds if run.get("best_accuracy") is not None]
    return TimeToTarget(
        seeds=len(seeds), reached=len(reached), seconds=median(seconds) if seconds else None,
        seconds_low=min(seconds) if seconds else None, seconds_high=max(seconds) if seconds else None,
        eval_seconds=middle("eval_seconds_to_target"), epochs=middle("epochs_to_target"),
        images=middle("images_to_target"), steps=middle("steps_to_target"), energy_j=middle("energy_j_to_target"),
        best_accuracy=max(accuracies) if accuracies else None)


def cost(seconds: float | None, price_per_hour: float | None) -> float | None:
    """What `seconds` of a machine cost at `price_per_hour`."""
    if seconds is None or price_per_hour is None:
        return None
    return seconds / 3600.0 * price_per_hour
