"""Whether a case's figure can be trusted: `ok`, `noisy` or `invalid`, with the reasons.

Every case gets `extra_info["trust"]` from `assess`, made from what was measured during its
timed rounds (bench/ records raw facts; reports/ reads the verdict and refuses to draw
conclusions from an invalid case). The thresholds live here, in `Thresholds`, each with the
reason for its value.

- `invalid`: the figure does not describe this machine: other processes took a large share of
  the CPU while the rounds ran (the rounds still agree with each other, so nothing else in the
  numbers shows it).
- `noisy`: usable, with its spread: the rounds disagree, there were too few of them, an epoch
  was projected from few batches, other processes took a small share of the CPU, the GPU
  slowed its clocks for heat or power, or torch.compile recompiled inside the timed rounds.
- `ok`: none of the above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

LEVELS = ("ok", "noisy", "invalid")

# GPU clock events that slow the work itself (decoded names from the sampler). A power cap
# under full load is how data-centre GPUs run and is not listed; thermal and hardware
# slowdowns are not the machine's normal state.
SLOWDOWN_CLOCK_EVENTS = ("hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown")


@dataclass(frozen=True)
class Thresholds:
    """The values that decide a trust level, and why each has its value."""

    # Half a core: one busy process on a 2-core VM reads 60-70% here and makes torch timings
    # 10-100x slower (OpenMP regions wait for a descheduled thread), while the rounds agree.
    invalid_other_cpu_pct: float = 50.0
    # A tenth of a core: quiet runs read 0-2% (the kernel, an ssh session); an indexer, a
    # browser tab or a build step reads more and costs a few percent of a CPU-bound case.
    noisy_other_cpu_pct: float = 10.0
    # (max - min) / median of the timed rounds: 10% is twice the run-to-run variation of a
    # quiet machine's medians, and the smallest difference the report calls a difference.
    noisy_rounds_spread: float = 0.10
    # Fewer rounds give no spread to judge by.
    min_rounds: int = 2
    # An epoch projected to 50,000 images from fewer batches than this is one where the first
    # batches' start-up and the last partial batch weigh too much.
    min_projected_batches: int = 20


THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Trust:
    level: str
    reasons: list[str] = field(default_factory=list)
    other_cpu_pct: float | None = None  # mean over the timed rounds, percent of one core
    other_cpu_resolution_pct: float | None = None  # how finely that is known (2 sd), percent of one core
    rounds_spread: float | None = None  # (max - min) / median of the timed rounds' seconds
    rounds: int = 0
    images_timed: float | None = None  # images over all timed rounds

    def as_dict(self) -> dict:
        return asdict(self)


def rounds_spread(round_seconds: Sequence[float]) -> float | None:
    """(max - min) / median of the rounds' seconds; None for fewer than two rounds."""
    if len(round_seconds) < 2:
        return None
    ordered = sorted(round_seconds)
    middle = len(ordered) // 2
    median = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return (ordered[-1] - ordered[0]) / median if median > 0 else None


def assess(round_seconds: Sequence[float], other_cpu_pct: float | None, images_timed: float | None = None,
           throttle_reasons: Sequence[str] = (), projected_batches: int | None = None,
           recompiles: int = 0, thresholds: Thresholds = THRESHOLDS,
           other_cpu_resolution_pct: float | None = None, steal_cpu_pct: float | None = None) -> Trust:
    """The trust level of one case from its timed rounds and what was sampled during them.

    `projected_batches`: for an epoch projected to a full one, the batches a round trained.
    `recompiles`: frames torch.compile compiled inside the timed rounds (compiled cases).
    `other_cpu_resolution_pct`: how finely `other_cpu_pct` is known; only what lies beyond it
    counts (the kernel's tick-counted CPU time over a 10 ms window on 16 cores reads more than
    a core of "other" from nothing). `steal_cpu_pct`: the part of it the hypervisor gave to
    other guests; said in the reason when it is most of it (the fix is another host, not
    stopping a program).
    """
    invalid: list[str] = []
    noisy: list[str] = []
    if other_cpu_pct is not None:
        margin = other_cpu_resolution_pct or 0.0
        known = other_cpu_pct - margin  # at least this much, at two standard deviations
        told = (f"{other_cpu_pct:.0f}% of a core" if not margin
                else f"{other_cpu_pct:.0f}% \u00b1 {margin:.0f}% of a core")
        if steal_cpu_pct is not None and other_cpu_pct > 0 and steal_cpu_pct >= other_cpu_pct / 2:
            told += (f" ({steal_cpu_pct:.0f}% of a core was steal: the hypervisor gave these cores to other "
                     "guests)")
        if known >= thresholds.invalid_other_cpu_pct:
            invalid.append(f"other processes used {told} while the rounds ran "
                           f"(at most {thresholds.noisy_other_cpu_pct:.0f}% is quiet): the timing is not this "
                           "machine's; measure again on a quiet machine")
        elif known >= thresholds.noisy_other_cpu_pct:
            noisy.append(f"other processes used {told} while the rounds ran")
    spread = rounds_spread(round_seconds)
    if len(round_seconds) < thresholds.min_rounds:
        noisy.append(f"{len(round_seconds)} timed round: no spread to judge it by")
    elif spread is not None and spread > thresholds.noisy_rounds_spread:
        noisy.append(f"the rounds spread {spread:.0%} around their median "
                     f"(more than {thresholds.noisy_rounds_spread:.0%})")
    if projected_batches is not None and projected_batches < thresholds.min_projected_batches:
        noisy.append(f"projected to a full epoch from {projected_batches} batches a round "
                     f"(fewer than {thresholds.min_projected_batches})")
    slowdowns = [reason for reason in throttle_reasons if reason.split(":")[-1] in SLOWDOWN_CLOCK_EVENTS]
    if slowdowns:
        noisy.append(f"the GPU slowed its clocks: {', '.join(slowdowns)}")
    if recompiles:
        # Any compile there is a recompile (the first one ran before the rounds): its seconds
        # are in a round, and the figure is no longer the compiled steady state alone.
        noisy.append(f"torch.compile recompiled {recompiles} time{'s' if recompiles != 1 else ''} inside the "
                     "timed rounds: compile time is in the rounds")
    level = "invalid" if invalid else "noisy" if noisy else "ok"
    return Trust(level=level, reasons=invalid + noisy, other_cpu_pct=other_cpu_pct,
                 other_cpu_resolution_pct=other_cpu_resolution_pct, rounds_spread=spread,
                 rounds=len(round_seconds), images_timed=images_timed)


def worst(levels: Sequence[str]) -> str:
    """The worst of several trust levels ("ok" for none)."""
    return max(levels, key=LEVELS.index, default="ok")
