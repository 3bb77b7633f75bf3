"""Domain pruning: what measurements already say about candidates not yet measured.

A rule is any callable `rule(candidate, observations) -> Reason | None`: given a candidate the
search is about to measure and every observation so far, it returns why the candidate need not
be measured, or None. The scheduler hands rules only observations that are not `invalid` (a
busy machine's figure proves nothing), and asks them only about candidates without a figure of
their own (a candidate's own measurement outweighs an inference about it). A rule's `name` (or
its function's name) is recorded in the search's scheme.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.search.candidates import BATCH_SIZE, DEVICE, NUM_WORKERS, Candidate
from bench.search.records import Measurement, Reason


@dataclass(frozen=True)
class Observation:
    """One measurement a rule may read: the candidate, the rung it was measured at, and what it found."""

    candidate: Candidate
    rung: int
    measurement: Measurement


Rule = Callable[[Candidate, Sequence[Observation]], "Reason | None"]


def rule_name(rule: Rule) -> str:
    return getattr(rule, "name", None) or getattr(rule, "__name__", None) or repr(rule)


@dataclass(frozen=True)
class OutOfMemoryBound:
    """A batch size that ran out of memory on a device bounds every batch size from it up there.

    "There": the same device and the same values of the axes that set the memory a step needs
    per image (`same_axes`, those the candidates have): model, precision, channels_last and
    compile mode. Workers, threads and pinning feed the step and do not change it, so the same
    batch size with other workers is bounded too. Not counted: the data set the device pipeline
    keeps on the device (150 MB of CIFAR-10 training images).
    """

    same_axes: tuple[str, ...] = ("model", "precision", "amp", "channels_last", "compile")
    name: str = "out_of_memory_bound"

    def __call__(self, candidate: Candidate, observations: Sequence[Observation]) -> Reason | None:
        batch_size = candidate.get(BATCH_SIZE)
        if batch_size is None:
            return None
        for seen in observations:
            other = seen.candidate
            if (seen.measurement.out_of_memory and other.get(DEVICE) == candidate.get(DEVICE)
                    and other.get(BATCH_SIZE) is not None and other.get(BATCH_SIZE) <= batch_size
                    and all(other.get(axis) == candidate.get(axis) for axis in self.same_axes)):
                return Reason("oom_bound", figure=float(other.get(BATCH_SIZE)), because=other)
        return None


@dataclass(frozen=True)
class WorkersWithoutInputWait:
    """Where an epoch barely waits for input, more DataLoader workers for the same settings cannot help.

    Pruned: a candidate equal to a measured one in every axis (device, loader, batch size,
    threads, ...) but with more workers, when the measured one waited for input less than
    `max_input_wait_share` of its epoch. Removing all the waiting would speed that epoch up
    by at most 1 / (1 - share): 5.3% at the default 0.05, under the 10% the trust thresholds
    call the smallest difference worth reporting (bench/trust.py `noisy_rounds_spread`); and
    on a CPU the extra workers take cores from torch's threads.
    """

    max_input_wait_share: float = 0.05
    name: str = "workers_without_input_wait"

    def __call__(self, candidate: Candidate, observations: Sequence[Observation]) -> Reason | None:
        workers = candidate.get(NUM_WORKERS)
        if not workers:
            return None
        settings = candidate.without(NUM_WORKERS)
        for seen in observations:
            share = seen.measurement.input_wait_share
            if (seen.measurement.usable and share is not None and share < self.max_input_wait_share
                    and (seen.candidate.get(NUM_WORKERS) or 0) < workers
                    and seen.candidate.without(NUM_WORKERS) == settings):
                return Reason("input_not_bottleneck", figure=share, threshold=self.max_input_wait_share,
                              because=seen.candidate)
        return None


DEFAULT_RULES: tuple[Rule, ...] = (OutOfMemoryBound(), WorkersWithoutInputWait())
