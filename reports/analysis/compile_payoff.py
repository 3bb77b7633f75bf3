"""Stage 3g, compile payoff: does torch.compile pay off on this machine, and after how many epochs?

Every compiled case (`train_step` or `epoch` with a torch.compile mode) is paired with the
eager case of the same configuration: machine, device, model, batch size, workers,
pipeline, transform, bf16 autocast and channels_last. From the pair:

- speed-up: the compiled case's images/s over the eager one's (median rounds);
- compile time: the compiled case's `compile_seconds` (its first compiled step or pass
  minus a warm eager one, measured before the timed rounds and kept out of them);
- break-even: epochs of 50,000 images before the compile time is paid back,
  compile_seconds / (eager epoch seconds - compiled epoch seconds), or never when the
  compiled case is not faster. For an epoch case the epoch seconds are its full (or
  projected) epoch's; for a train step, 50,000 images at the step's rate: the compute alone,
  the break-even of an epoch whose input pipeline keeps up.

No break-even is given from an invalid case (either side), nor for a compiled case whose
rounds recompiled (their seconds hold compile time). A speed-up within the rounds' spread is
said to be one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from reports.reading.cases import Case, worst_trust
from reports.reading.tidy import FULL_EPOCH_IMAGES


@dataclass(frozen=True)
class CompilePayoff:
    """One compiled case against its eager twin (None where the sweep did not measure one)."""

    compiled: Case
    eager: Case | None

    @property
    def group(self) -> str:
        return self.compiled.group

    @property
    def mode(self) -> str:
        return self.compiled.config.compile

    @property
    def speedup(self) -> float | None:
        return self.compiled.images_per_sec / self.eager.images_per_sec if self.eager else None

    @property
    def compile_seconds(self) -> float | None:
        return self.compiled.compile_seconds

    @property
    def eager_epoch_seconds(self) -> float | None:
        return _epoch_seconds(self.eager) if self.eager else None

    @property
    def compiled_epoch_seconds(self) -> float:
        return _epoch_seconds(self.compiled)

    @property
    def saved_seconds_per_epoch(self) -> float | None:
        eager = self.eager_epoch_seconds
        return None if eager is None else eager - self.compiled_epoch_seconds

    @property
    def trust(self) -> str | None:
        return worst_trust([self.compiled.trust, self.eager.trust if self.eager else None])

    @property
    def outcome(self) -> str:
        """pays_off (with a break-even), never (compiled is not faster), not_judged (an invalid
        case, or recompiles in the rounds), unknown (no eager twin or no compile time)."""
        if self.eager is None or self.compile_seconds is None:
            return "unknown"
        if self.trust == "invalid" or (self.compiled.recompiles or 0) > 0:
            return "not_judged"
        return "pays_off" if (self.saved_seconds_per_epoch or 0.0) > 0 else "never"

    @property
    def break_even_epochs(self) -> float | None:
        """Epochs before the compile time is paid back; None unless `outcome` is pays_off."""
        if self.outcome != "pays_off":
            return None
        return max(self.compile_seconds, 0.0) / self.saved_seconds_per_epoch

    @property
    def within_spread(self) -> bool:
        """The speed-up is within the larger of the two cases' rounds' spread."""
        if self.speedup is None:
            return False
        spread = max(self.compiled.rounds_spread or 0.0, self.eager.rounds_spread or 0.0)
        return abs(math.log(self.speedup)) <= math.log1p(spread)


def _epoch_seconds(case: Case) -> float:
    if case.group == "epoch":
        return case.epoch_seconds
    return FULL_EPOCH_IMAGES / case.images_per_sec


def _twin_key(case: Case) -> tuple:
    return (case.group, replace(case.config, compile="eager"), case.amp, case.channels_last)


def payoffs(cases: Sequence[Case]) -> list[CompilePayoff]:
    """A `CompilePayoff` per compiled case, in the order given."""
    eager = {_twin_key(case): case for case in cases if case.eager and case.group in ("train_step", "epoch")}
    return [CompilePayoff(case, eager.get(_twin_key(case))) for case in cases if not case.eager]
