"""Where an epoch's time goes: each training step split into phases, without added syncs.

Phases of a step, in order: `input_wait` (the host blocked in the input pipeline's iterator
for the next batch), `copy` (to the device), `forward` (with the loss), `backward`,
`optimizer` (zero_grad and the SGD step); `other` is the rest of the timed round (the loop
itself, the loss bookkeeping, the round's closing synchronization), so the phases add up to
the rounds' total time.

- On the CPU work is synchronous: `time.perf_counter` at the phase boundaries is honest, and
  costs well under a microsecond a boundary.
- On CUDA the host runs ahead of the device, so host timestamps would time launches. Events
  are recorded on the stream doing the work, taken from a pool (never allocated per step),
  and resolved once, after the round's closing synchronization: nothing is added inside the
  round, no `.item()` per step. The device's timeline gives copy, forward, backward and
  optimizer; `input_wait` there is the device idle between one step's end and the next step's
  start (the device waiting for the host: the honest "input-bound" signal on a GPU, where host
  waiting is not device idle while the queue is deep), and the host's own blocked time is kept
  apart as `host_input_wait`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PHASES = ("input_wait", "copy", "forward", "backward", "optimizer")
# Boundaries recorded per step: before the copy, after the copy, after forward, after
# backward, after the optimizer step.
MARKS_PER_STEP = 5


@dataclass
class PhaseSeconds:
    """Seconds per phase summed over steps (and rounds), plus the host's own input wait on CUDA."""

    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PHASES, 0.0))
    host_input_wait: float = 0.0
    device_idle: float | None = None  # CUDA: the device's idle time between steps

    def add(self, other: PhaseSeconds) -> None:
        for name in PHASES:
            self.seconds[name] += other.seconds[name]
        self.host_input_wait += other.host_input_wait
        if other.device_idle is not None:
            self.device_idle = (self.device_idle or 0.0) + other.device_idle

    def as_extra_info(self, total_seconds: float) -> dict:
        """extra_info["phases"]: seconds and shares of the rounds' `total_seconds`, `other` the rest."""
        seconds = dict(self.seconds)
        seconds["other"] = max(total_seconds - math.fsum(seconds.values()), 0.0)
        share = {name: value / total_seconds for name, value in seconds.items()} if total_seconds > 0 else None
        return {
            "seconds": seconds,
            "share": share,
            "device_idle_share": (self.device_idle / total_seconds
                                  if self.device_idle is not None and total_seconds > 0 else None),
            "host_input_wait_seconds": self.host_input_wait,
            "clock": "cuda events" if self.device_idle is not None else "host perf_counter",
        }


class HostPhaseClock:
    """Phase boundaries on the host clock: for the CPU, where work is synchronous."""

    def __init__(self, now: Callable[[], float] = time.perf_counter):
        self._now = now
        self._result = PhaseSeconds()
        self._last = 0.0
        self._phase_started = 0.0

    def start_round(self) -> None:
        self._result = PhaseSeconds()

    def before_fetch(self) -> None:
        self._last = self._now()

    def mark(self, index: int) -> None:
        """Boundary `index` of this step: 0 before the copy (the fetch ends), 1..4 after each phase."""
        now = self._now()
        self._result.seconds[PHASES[index]] += now - self._last
        self._last = now

    def finish_round(self) -> PhaseSeconds:
        return self._result


class EventPhaseClock:
    """Phase boundaries as CUDA events on the current stream, from a pool, resolved after the round.

    `event_factory` makes one reusable timing event (torch.cuda.Event(enable_timing=True) by
    default; tests pass a fake with `record()` and `elapsed_time(other)` in milliseconds).
    """

    def __init__(self, event_factory: Callable[[], object] | None = None, now: Callable[[], float] = time.perf_counter):
        if event_factory is None:
            import torch

            def event_factory():
                return torch.cuda.Event(enable_timing=True)
        self._event_factory = event_factory
        self._now = now
        self._pool: list = []
        self._used = 0
        self._host_wait = 0.0
        self._fetch_started = 0.0

    def _event(self):
        if self._used == len(self._pool):
            # Grows during the warm-up rounds; the timed rounds reuse what is there.
            self._pool.append(self._event_factory())
        event = self._pool[self._used]
        self._used += 1
        return event

    def start_round(self) -> None:
        self._used = 0
        self._host_wait = 0.0

    def before_fetch(self) -> None:
        self._fetch_started = self._now()

    def mark(self, index: int) -> None:
        if index == 0:
            self._host_wait += self._now() - self._fetch_started
        self._event().record()  # on the current stream: no host-device sync

    def finish_round(self) -> PhaseSeconds:
        """Resolve the round's events; call after the round's closing synchronization."""
        result = PhaseSeconds(host_input_wait=self._host_wait, device_idle=0.0)
        events = self._pool[:self._used]
        steps = len(events) // MARKS_PER_STEP
        for step in range(steps):
            marks = events[step * MARKS_PER_STEP:(step + 1) * MARKS_PER_STEP]
            for index in range(1, MARKS_PER_STEP):
                result.seconds[PHASES[index]] += marks[index - 1].elapsed_time(marks[index]) / 1000.0
            if step:  # idle between the previous step's end and this step's start
                previous_end = events[step * MARKS_PER_STEP - 1]
                idle = max(previous_end.elapsed_time(marks[0]) / 1000.0, 0.0)
                result.device_idle += idle
                result.seconds["input_wait"] += idle
        return result


def phase_clock(device) -> HostPhaseClock | EventPhaseClock:
    """The right clock for a device: events on CUDA, the host clock elsewhere."""
    return EventPhaseClock() if getattr(device, "type", str(device)) == "cuda" else HostPhaseClock()
