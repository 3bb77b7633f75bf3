"""Stage 2b, cases: the tidy frame's cifarbench rows as typed values, checked once.

`Config` is the one key of the analysis: a machine, a device, a model, the input
settings and torch.compile's mode (`eager` without it). `Case` is one measured case with its
figures as floats or None (never NaN), its rounds and its trust. The analysis stages take
`Case` values and trust them. A data-parallel case (group `ddp`) is a `Case` for its
machine's trust only; its `Config` has no world size, and `reports.analysis.scaling` reads those
cases in full.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from bench.contract import Reason, derive, vocab
from reports.reading.tidy import PHASE_NAMES

TRUST_ORDER = {level: rank for rank, level in enumerate(vocab.TRUST_LEVELS)}  # best to worst


@dataclass(frozen=True, order=True)
class Config:
    """What was run where: the key of every verdict, recommendation and cost."""

    machine: str
    device: str
    model: str | None = None
    batch_size: int | None = None
    num_workers: int | None = None
    loader: str | None = None
    transform: str | None = None
    compile: str = "eager"  # or the torch.compile mode (train_step and epoch cases)
    threads: int | None = None  # torch's intra-op threads (forward, train_step and epoch cases)

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    def where(self) -> tuple[str, str, str | None]:
        """(machine, device, model): the answer table's row."""
        return self.machine, self.device, self.model


@dataclass(frozen=True)
class Case:
    """One measured cifarbench case, typed."""

    group: str
    config: Config
    images_per_sec: float
    images_per_sec_min: float | None = None  # the slowest timed round
    images_per_sec_max: float | None = None  # the fastest timed round
    # Where another run of the same sweep on this machine is expected to read the figure
    # (bench.contract.derive.interval), and what it rests on: "repeats", or "rounds" (one run).
    interval: tuple[float, float] | None = None
    interval_basis: str | None = None
    repeats: int | None = None
    rounds: int | None = None
    rounds_spread: float | None = None  # (max - min) / median of the rounds' seconds
    pin_memory: bool | None = None
    amp: bool = False
    channels_last: bool = False
    full_epoch_seconds: float | None = None
    full_epoch_projected: bool = False
    epoch_images: float | None = None
    eval_accuracy: float | None = None
    fraction_of_peak: float | None = None
    achieved_tflops: float | None = None
    gpu_util_pct_mean: float | None = None  # NVML utilization.gpu: share of time any kernel was active
    sm_active_pct: float | None = None  # GPM (Hopper and later): share of SMs busy
    tensor_active_pct: float | None = None  # GPM: share of time the tensor pipes worked
    joules_per_epoch: float | None = None
    cpu_threads: int | None = None
    compile_seconds: float | None = None  # compiled cases: first compiled step/pass minus an eager one
    recompiles: int | None = None  # compiled cases: compiles inside the timed rounds
    trust: str | None = None  # ok, noisy, invalid; None where the file predates the assessment
    trust_reasons: tuple[Reason, ...] = field(default_factory=tuple)  # records: bench.contract.Reason
    # Converge cases: the answer over the seeds (bench.contract.derive.time_to_target), the target,
    # the learning rate with its warm-up and rule, and each seed's (training seconds, accuracy) curve.
    to_target: derive.TimeToTarget | None = None
    target_accuracy: float | None = None
    lr: float | None = None
    warmup_steps: int | None = None
    lr_rule: str | None = None
    curves: tuple[tuple[tuple[float, float], ...], ...] = ()
    data_source: str | None = None
    # Epochs: where the time went, (phase, share of the timed rounds) pairs; () in older files.
    phase_shares: tuple[tuple[str, float], ...] = ()
    device_idle_share: float | None = None  # CUDA: the device idle between steps, a share

    @property
    def phases(self) -> dict[str, float]:
        return dict(self.phase_shares)

    @property
    def wait_share(self) -> float | None:
        """The share of the epoch spent waiting for input: the device's idle on CUDA, else the host's wait."""
        if self.device_idle_share is not None:
            return self.device_idle_share
        return self.phases.get("input_wait")

    @property
    def compute_share(self) -> float | None:
        """forward + backward + optimizer, as a share of the epoch."""
        phases = self.phases
        if not phases:
            return None
        return sum(phases.get(name, 0.0) for name in ("forward", "backward", "optimizer"))

    @property
    def invalid(self) -> bool:
        return self.trust == "invalid"

    @property
    def epoch_seconds(self) -> float:
        """Seconds per 50,000-image epoch: as recorded, else from the images/s."""
        if self.full_epoch_seconds is not None:
            return self.full_epoch_seconds
        return vocab.FULL_EPOCH_IMAGES / self.images_per_sec

    @property
    def fp32_nchw(self) -> bool:
        return not self.amp and not self.channels_last

    @property
    def eager(self) -> bool:
        return self.config.compile == "eager"


def _float(value) -> float | None:
    if value is None or isinstance(value, bool | str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value) -> int | None:
    number = _float(value)
    return None if number is None else int(number)


def _str(value) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _bool(value) -> bool | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else bool(value)


def cases(frame: pd.DataFrame) -> list[Case]:
    """cifarbench's rows of the tidy frame with a measured speed, as `Case` values."""
    if frame.empty:
        return []
    rows = frame[frame["cifarbench"] & frame["images_per_sec"].notna() & frame["device"].notna()]
    found = []
    for row in rows.itertuples(index=False):
        found.append(Case(
            group=row.group,
            config=Config(row.machine, row.device, _str(row.model), _int(row.batch_size), _int(row.num_workers),
                          _str(row.loader), _str(row.transform), _str(row.compile) or "eager", _int(row.threads)),
            images_per_sec=float(row.images_per_sec),
            images_per_sec_min=_float(row.images_per_sec_min), images_per_sec_max=_float(row.images_per_sec_max),
            interval=_interval(row), interval_basis=_str(row.interval_basis), repeats=_int(row.repeats),
            rounds=_int(row.rounds), rounds_spread=_float(row.rounds_spread),
            pin_memory=_bool(row.pin_memory), amp=bool(_bool(row.amp)), channels_last=bool(_bool(row.channels_last)),
            full_epoch_seconds=_float(row.full_epoch_seconds),
            full_epoch_projected=bool(_bool(row.full_epoch_projected)),
            epoch_images=_float(row.epoch_images), eval_accuracy=_float(row.eval_accuracy),
            fraction_of_peak=_float(row.fraction_of_peak), achieved_tflops=_float(row.achieved_tflops),
            gpu_util_pct_mean=_float(row.gpu_util_pct_mean), sm_active_pct=_float(row.sm_active_pct),
            tensor_active_pct=_float(row.tensor_active_pct), joules_per_epoch=_float(row.joules_per_epoch),
            cpu_threads=_int(row.cpu_threads), compile_seconds=_float(row.compile_seconds),
            recompiles=_int(row.recompiles), trust=_str(row.trust_level),
            trust_reasons=tuple(row.trust_reasons) if isinstance(row.trust_reasons, tuple) else (),
            phase_shares=_phase_shares(row), device_idle_share=_float(row.device_idle_share),
            **_converge(row),
        ))
    return found


def _converge(row) -> dict:
    """A converge case's fields (nothing for other groups)."""
    if row.group != vocab.CONVERGE or not _int(row.seeds):
        return {}
    answer = derive.TimeToTarget(
        seeds=_int(row.seeds), reached=_int(row.seeds_reached) or 0, seconds=_float(row.time_to_target_s),
        seconds_low=_float(row.time_to_target_low_s), seconds_high=_float(row.time_to_target_high_s),
        eval_seconds=_float(row.eval_seconds_to_target), epochs=_float(row.epochs_to_target),
        images=_float(row.images_to_target), steps=_float(row.steps_to_target),
        energy_j=_float(row.energy_j_to_target), best_accuracy=_float(row.best_accuracy))
    curves = row.curves if isinstance(row.curves, tuple) else ()
    return {"to_target": answer, "target_accuracy": _float(row.target_accuracy), "lr": _float(row.lr),
            "warmup_steps": _int(row.warmup_steps), "lr_rule": _str(row.lr_rule), "curves": curves,
            "data_source": _str(row.data_source)}


def _interval(row) -> tuple[float, float] | None:
    low, high = _float(row.images_per_sec_low), _float(row.images_per_sec_high)
    return (low, high) if low is not None and high is not None else None


def _phase_shares(row) -> tuple[tuple[str, float], ...]:
    shares = tuple((name, _float(getattr(row, f"phase_{name}_share"))) for name in PHASE_NAMES)
    return tuple((name, share) for name, share in shares if share is not None)


def worst_trust(levels: Sequence[str | None]) -> str | None:
    """The worst assessed level of `levels`; None when none was assessed."""
    assessed = [level for level in levels if level in TRUST_ORDER]
    return max(assessed, key=TRUST_ORDER.__getitem__) if assessed else None
