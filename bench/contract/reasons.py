"""Why a case is `noisy` or `invalid`: a reason is a record, made into a sentence only when shown.

`extra_info["trust"]["reasons"]` is a list of `Reason.as_dict()`: a `code` (below), the `level`
it gives, the measured `figure` in the code's unit, the `threshold` it was held against, and
`detail` for what the sentence needs besides (the resolution of the other-CPU figure, the CPU
limit, the GPU's clock events). The report groups reasons by code and ranks them by figure;
its sentences are made in one place (reports' words), from these fields. Nothing parses a
sentence back into numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# code -> (unit of `figure`, what it means)
CODES: dict[str, tuple[str, str]] = {
    "other_cpu": ("percent of one core", "other processes used the CPU while the rounds ran; detail: "
                  "resolution_pct (2 sd of the figure), steal_pct (the part the hypervisor gave to other guests)"),
    "throttled": ("fraction of the enforcement periods", "the cgroup's CPU limit throttled the sweep in this share "
                  "of the periods of its timed rounds; detail: limit_cores, throttled_periods, periods, "
                  "throttled_seconds, cgroup"),
    "starved": ("fraction of the threads' wall time", "the sweep's own CPU time over its threads' wall time, where "
                "no throttling counter can be read: a starved process gets little of its threads' time; "
                "detail: threads"),
    "few_rounds": ("rounds", "fewer timed rounds than the threshold: no spread to judge by"),
    "rounds_spread": ("fraction", "(max - min) / median of the timed rounds' seconds"),
    "projected": ("batches", "an epoch projected to 50,000 images from this many batches a round"),
    "gpu_slowdown": ("count", "the GPU slowed its clocks for heat or power; detail: events"),
    "recompiles": ("count", "torch.compile compiled inside the timed rounds"),
    "machine_drift": ("fraction", "the machine's own speed (the canary) changed this much between the readings "
                      "before and after the case; detail: before, after (canary images/s)"),
    "repeats_disagree": ("fraction", "(max - min) / median of the repeats' figures"),
    "invalid_repeats": ("count", "repeats of the case measured while the machine was busy or throttled; "
                        "detail: repeats"),
    "legacy": ("", "a reason written as a sentence by a harness older than these codes; detail: text"),
}


@dataclass(frozen=True)
class Reason:
    code: str
    level: str  # noisy or invalid
    figure: float | None = None
    threshold: float | None = None
    detail: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.code not in CODES:
            raise ValueError(f"unknown trust reason code {self.code!r}; add it to bench/contract/reasons.py")

    def as_dict(self) -> dict:
        return {"code": self.code, "level": self.level, "figure": self.figure, "threshold": self.threshold,
                "detail": dict(self.detail)}

    @classmethod
    def from_dict(cls, data: dict) -> Reason:
        return cls(code=data["code"], level=data["level"], figure=data.get("figure"),
                   threshold=data.get("threshold"), detail=dict(data.get("detail") or {}))
