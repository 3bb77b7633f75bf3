"""Whether a case's figure can be trusted: `ok`, `noisy` or `invalid`, with the reasons.

Every case gets `extra_info["trust"]` from `assess`, made from what was measured during its
timed rounds (bench/ records raw facts; reports/ reads the verdict and refuses to draw
conclusions from an invalid case). The thresholds live here, in `Thresholds`, each with the
reason for its value. Reasons are records (`bench.contract.Reason`: a code, the figure, the
threshold it was held against); the report makes their sentences.

- `invalid`: the figure does not describe this machine: other processes took a large share of
  the CPU while the rounds ran (the rounds still agree with each other, so nothing else in the
  numbers shows it), or the cgroup's CPU limit throttled the sweep.
- `noisy`: usable, with its spread: the rounds disagree, there were too few of them, an epoch
  was projected from few batches, other processes took a small share of the CPU, the GPU
  slowed its clocks for heat or power, torch.compile recompiled inside the timed rounds, or the
  sweep's threads got little of their wall time (starved, where no throttling counter reads).
- `ok`: none of the above.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.contract import Reason, derive
from bench.contract import Trust as TrustKeys
from bench.contract.vocab import INVALID, NOISY, OK, worst_level

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
    # Throttled in a tenth of the enforcement periods (100 ms each): in each, every thread of
    # the sweep stood still for the rest of the period. At a half-core limit the sweep was
    # throttled in 629 of 635 periods. Any throttled period at all makes the case noisy: the
    # limit, not the machine, set part of its pace.
    invalid_throttled_periods: float = 0.10
    # Where no throttling counter reads: a CPU-bound case whose threads got under half of their
    # wall time (its own CPU seconds over threads x seconds) was starved by something it cannot
    # see; compute-bound torch threads read 90-100% here on a quiet machine.
    starved_cpu_share: float = 0.5
    # The canary's change between its readings before and after a case: beyond this, the
    # machine's own speed moved under the case (bench/canary.py measures it).
    noisy_machine_drift: float = 0.15


THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Trust:
    level: str
    reasons: list[Reason] = field(default_factory=list)
    other_cpu_pct: float | None = None  # mean over the timed rounds, percent of one core
    other_cpu_resolution_pct: float | None = None  # how finely that is known (2 sd), percent of one core
    rounds_spread: float | None = None  # (max - min) / median of the timed rounds' seconds
    rounds: int = 0
    images_timed: float | None = None  # images over all timed rounds

    def as_dict(self) -> dict:
        return {
            TrustKeys.level: self.level,
            TrustKeys.reasons: [reason.as_dict() for reason in self.reasons],
            TrustKeys.other_cpu_pct: self.other_cpu_pct,
            TrustKeys.other_cpu_resolution_pct: self.other_cpu_resolution_pct,
            TrustKeys.rounds_spread: self.rounds_spread,
            TrustKeys.rounds: self.rounds,
            TrustKeys.images_timed: self.images_timed,
        }


@dataclass(frozen=True)
class CpuThrottle:
    """The cgroup's throttling over the timed rounds (bench.cgroup readings, subtracted)."""

    periods: int
    throttled_periods: int
    throttled_seconds: float
    limit_cores: float | None = None
    cgroup: str | None = None


def assess(round_seconds: Sequence[float], other_cpu_pct: float | None, images_timed: float | None = None,
           throttle_reasons: Sequence[str] = (), projected_batches: int | None = None,
           recompiles: int = 0, thresholds: Thresholds = THRESHOLDS,
           other_cpu_resolution_pct: float | None = None, steal_cpu_pct: float | None = None,
           cpu_throttle: CpuThrottle | None = None, cpu_share: float | None = None,
           threads: int | None = None) -> Trust:
    """The trust level of one case from its timed rounds and what was sampled during them.

    `projected_batches`: for an epoch projected to a full one, the batches a round trained.
    `recompiles`: frames torch.compile compiled inside the timed rounds (compiled cases).
    `other_cpu_resolution_pct`: how finely `other_cpu_pct` is known; only what lies beyond it
    counts (the kernel's tick-counted CPU time over a 10 ms window on 16 cores reads more than
    a core of "other" from nothing). `steal_cpu_pct`: the part of it the hypervisor gave to
    other guests (the fix is another host, not stopping a program).
    `cpu_throttle`: the cgroup's throttling over the rounds, where its counters read.
    `cpu_share`: where they do not, the case's own CPU seconds over `threads` x the rounds'
    seconds, for a case whose threads should be busy (a compute case, no workers).
    """
    reasons: list[Reason] = []
    if other_cpu_pct is not None:
        margin = other_cpu_resolution_pct or 0.0
        known = other_cpu_pct - margin  # at least this much, at two standard deviations
        detail = {"resolution_pct": other_cpu_resolution_pct, "steal_pct": steal_cpu_pct}
        if known >= thresholds.invalid_other_cpu_pct:
            reasons.append(Reason("other_cpu", INVALID, other_cpu_pct, thresholds.invalid_other_cpu_pct, detail))
        elif known >= thresholds.noisy_other_cpu_pct:
            reasons.append(Reason("other_cpu", NOISY, other_cpu_pct, thresholds.noisy_other_cpu_pct, detail))
    if cpu_throttle is not None and cpu_throttle.throttled_periods > 0 and cpu_throttle.periods > 0:
        share = cpu_throttle.throttled_periods / cpu_throttle.periods
        level = INVALID if share >= thresholds.invalid_throttled_periods else NOISY
        reasons.append(Reason("throttled", level, share, thresholds.invalid_throttled_periods, {
            "limit_cores": cpu_throttle.limit_cores, "throttled_periods": cpu_throttle.throttled_periods,
            "periods": cpu_throttle.periods, "throttled_seconds": cpu_throttle.throttled_seconds,
            "cgroup": cpu_throttle.cgroup}))
    elif cpu_throttle is None and cpu_share is not None and cpu_share < thresholds.starved_cpu_share:
        reasons.append(Reason("starved", NOISY, cpu_share, thresholds.starved_cpu_share, {"threads": threads}))
    spread = derive.rounds_spread(round_seconds)
    if len(round_seconds) < thresholds.min_rounds:
        reasons.append(Reason("few_rounds", NOISY, len(round_seconds), thresholds.min_rounds))
    elif spread is not None and spread > thresholds.noisy_rounds_spread:
        reasons.append(Reason("rounds_spread", NOISY, spread, thresholds.noisy_rounds_spread))
    if projected_batches is not None and projected_batches < thresholds.min_projected_batches:
        reasons.append(Reason("projected", NOISY, projected_batches, thresholds.min_projected_batches))
    slowdowns = [reason for reason in throttle_reasons if reason.split(":")[-1] in SLOWDOWN_CLOCK_EVENTS]
    if slowdowns:
        reasons.append(Reason("gpu_slowdown", NOISY, len(slowdowns), None, {"events": slowdowns}))
    if recompiles:
        # Any compile there is a recompile (the first one ran before the rounds): its seconds
        # are in a round, and the figure is no longer the compiled steady state alone.
        reasons.append(Reason("recompiles", NOISY, recompiles, 0))
    reasons.sort(key=lambda reason: reason.level != INVALID)  # invalid first, in the order found
    return Trust(level=worst_level([OK, *(reason.level for reason in reasons)]), reasons=reasons,
                 other_cpu_pct=other_cpu_pct, other_cpu_resolution_pct=other_cpu_resolution_pct,
                 rounds_spread=spread, rounds=len(round_seconds), images_timed=images_timed)


def with_reasons(trust: dict, reasons: Sequence[Reason]) -> dict:
    """A copy of a trust dict (as written) with `reasons` added and its level raised to match."""
    if not reasons:
        return trust
    added = [reason.as_dict() for reason in reasons]
    level = worst_level([trust.get(TrustKeys.level) or OK, *(reason.level for reason in reasons)])
    return {**trust, TrustKeys.level: level, TrustKeys.reasons: [*trust.get(TrustKeys.reasons, []), *added]}


def worst(levels: Sequence[str]) -> str:
    """The worst of several trust levels ("ok" for none)."""
    return worst_level(levels)
