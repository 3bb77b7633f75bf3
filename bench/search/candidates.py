"""The configurations an adaptive search chooses from: `Candidate`, and the list built from axis values.

A candidate is one epoch configuration: its axis values under the grid's column names
(`device`, `loader`, `batch_size`, `num_workers`, `threads`, `pin_memory`, ...). Torch's
threads are not an axis of their own: they are tried together with the DataLoader workers
(`threads_for`), because on a CPU the workers and torch's threads share the same cores.

The reference is the tutorial's own settings (`TUTORIAL_SETTINGS`); every answer is given
against it, so the search always measures it (bench/search/scheduler.py).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bench.contract import vocab

DEVICE = "device"
LOADER = "loader"
BATCH_SIZE = "batch_size"
NUM_WORKERS = "num_workers"
# The threads axis of the cases (bench/grid.py GROUP_AXES): torch's intra-op threads.
CPU_THREADS = "threads"
PIN_MEMORY = "pin_memory"
PREFETCH_FACTOR = "prefetch_factor"
PERSISTENT_WORKERS = "persistent_workers"

# The pipeline that keeps the data set on the device: no DataLoader, so no workers, pinning or prefetching.
DEVICE_LOADER = "device"

# The tutorial's own DataLoader and batch settings (pytorch.org's "Training a Classifier"; the
# contract's words). Threads None: torch's default, as the tutorial never sets it.
TUTORIAL_SETTINGS: dict[str, object] = {**vocab.TUTORIAL_SETTINGS, CPU_THREADS: None}


@dataclass(frozen=True)
class Candidate:
    """One configuration: (axis, value) pairs sorted by axis, so equal settings are one key.

    Values are JSON scalars (str, int, float, bool, None): the path goes into a results file.
    """

    params: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, params: Mapping[str, object] | None = None, **more: object) -> Candidate:
        merged = {**(params or {}), **more}
        return cls(tuple(sorted(merged.items())))

    def as_dict(self) -> dict[str, object]:
        return dict(self.params)

    def get(self, axis: str, default: object = None) -> object:
        for name, value in self.params:
            if name == axis:
                return value
        return default

    def replace(self, **changes: object) -> Candidate:
        return Candidate.of(self.as_dict(), **changes)

    def without(self, *axes: str) -> tuple[tuple[str, object], ...]:
        """The other axes' values: candidates equal here differ only in `axes`."""
        return tuple(pair for pair in self.params if pair[0] not in axes)

    def __str__(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.params)


@dataclass(frozen=True)
class CandidateSet:
    """What a search chooses from: every candidate (the reference among them) and the reference."""

    candidates: tuple[Candidate, ...]
    reference: Candidate


def threads_for(num_workers: int, cores: int) -> tuple[int, ...]:
    """Torch threads to try beside `num_workers` DataLoader workers on `cores` cores, most first.

    The cores the workers leave (cores minus workers, at least 1), and fewer: the powers of two
    below that. Fewer threads than cores is often faster for the tutorial's small batches (a
    step too short to share among threads), and halving keeps the list short on 16 cores.
    """
    top = max(1, cores - num_workers)
    fewer = [2**power for power in range(top.bit_length()) if 2**power < top]
    return (top, *sorted(fewer, reverse=True))


def possible(case: Mapping[str, object], defaults: Mapping[str, object]) -> bool:
    """Whether a combination means something (impossible ones are left out, not measured).

    The device pipeline has no DataLoader: no workers, pinning, prefetching or persistent
    workers (bench/grid.py leaves them out the same way). Pinned memory speeds host-to-GPU
    copies only. Without workers, DataLoader refuses a prefetch factor and persistent
    workers: only their default (first listed) value runs.
    """
    workers = case.get(NUM_WORKERS, 0)
    loader_axes = (PIN_MEMORY, PREFETCH_FACTOR, PERSISTENT_WORKERS)
    if case.get(LOADER) == DEVICE_LOADER and (workers or any(
            case[axis] != defaults[axis] for axis in loader_axes if axis in case)):
        return False
    if case.get(PIN_MEMORY) and not str(case.get(DEVICE, "cpu")).startswith("cuda"):
        return False
    return bool(workers) or all(case[axis] == defaults[axis]
                                for axis in (PREFETCH_FACTOR, PERSISTENT_WORKERS) if axis in case)


def build_candidates(axes: Mapping[str, Sequence[object]], cores: int,
                     reference: Mapping[str, object] | None = None) -> CandidateSet:
    """Every possible combination of `axes`, with `threads` from `threads_for`, and the reference.

    `axes`: each axis's values, its default first (the value the reference takes unless the
    tutorial or `reference` says otherwise: `pin_memory` (False, True), `compile` ("eager", ...)).
    It must name `num_workers` and must not name `threads` (derived from the workers).
    The reference is the tutorial's settings on the first listed device, `reference`
    overriding any axis; it is added when the axes do not make it (threads: torch's default).
    """
    if CPU_THREADS in axes:
        raise ValueError(f"{CPU_THREADS} is derived from {NUM_WORKERS} (threads_for); do not list it")
    if NUM_WORKERS not in axes:
        raise ValueError(f"the axes must name {NUM_WORKERS}")
    if cores < 1:
        raise ValueError(f"cores must be at least 1, not {cores}")
    empty = [axis for axis, values in axes.items() if not values]
    if empty:
        raise ValueError(f"axes without values: {', '.join(empty)}")
    defaults = {axis: values[0] for axis, values in axes.items()}
    names = list(axes)
    found: dict[Candidate, None] = {}
    for combo in itertools.product(*(axes[name] for name in names)):
        case = dict(zip(names, combo, strict=True))
        if not possible(case, defaults):
            continue
        for threads in threads_for(int(case[NUM_WORKERS]), cores):
            found[Candidate.of(case, **{CPU_THREADS: threads})] = None
    settings = {**defaults, **{axis: value for axis, value in TUTORIAL_SETTINGS.items()
                               if axis in axes or axis == CPU_THREADS}}
    ref = Candidate.of(settings, **(reference or {}))
    found.setdefault(ref, None)
    return CandidateSet(tuple(found), ref)


def search_order(candidates: Iterable[Candidate], reference: Candidate, seed: int) -> tuple[Candidate, ...]:
    """The order the first rung measures candidates in: the reference, then a seeded shuffle.

    Hyperband samples its configurations at random; when the budget cannot measure every
    candidate at the first rung, the measured ones are a random sample of the grid, not its
    first corner. One adjustment: among candidates that differ only in their worker count,
    the fewest workers take the earliest of their shuffled places, so that the input-wait
    rule (bench/search/rules.py) has its evidence before the candidates it would prune.
    """
    rest = [candidate for candidate in dict.fromkeys(candidates) if candidate != reference]
    random.Random(seed).shuffle(rest)
    places: dict[tuple, list[int]] = {}
    for index, candidate in enumerate(rest):
        places.setdefault(candidate.without(NUM_WORKERS), []).append(index)
    ordered: list[Candidate | None] = [None] * len(rest)
    for indices in places.values():
        members = sorted((rest[index] for index in indices), key=lambda candidate: candidate.get(NUM_WORKERS) or 0)
        for index, member in zip(indices, members, strict=True):
            ordered[index] = member
    return (reference, *(candidate for candidate in ordered if candidate is not None))
