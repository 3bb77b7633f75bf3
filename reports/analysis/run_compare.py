"""Stage 3h, run compare: two runs of a sweep, case by case, with the noise each run measured.

asv's rule (`asv compare`, `asv/statistics.py` `is_different`), made stricter by our intervals:
a case changed measurably only when all of these hold —

1. the ratio new/old of its images/s is beyond the minimum factor (`factor`, 1.1: faster from
   1.1x, slower from 1/1.1x);
2. each run's figure lies outside the other run's 90% interval (`extra_info["images_per_sec_interval"]`).
   That interval is built to hold what another run of the same sweep on that machine reads
   (`bench.contract.derive.interval`: the repeats' spread and the run's pooled run-to-run noise,
   with the other run's own noise in its width), so a figure outside it is what no run of the
   unchanged sweep should read. Asking the two intervals to be apart instead would count that
   noise twice: on this 2-core VM (90% intervals about +-30% wide) one torch thread's 0.6x on
   the batch-128 forward would read as no change;
3. a two-sided Mann-Whitney U test over every timed round's images/s (all repeats) gives
   p < `alpha`, where the rounds allow it: with too few rounds even the most extreme ranking
   cannot reach alpha (asv's check, 1 / C(n + m, min(n, m)) >= alpha), and without scipy (the GPU
   images carry none) there is no test; either way rule 3 is skipped, and the result says so.

Every rule's outcome is kept as a `Check` record (rule, held, figure, threshold, why skipped) so
the words can say "slower: 0.52x, intervals apart, p = 0.0002" without deciding anything.

A case is not compared (`NOT_COMPARABLE`, with `Obstacle` records) when either side is invalid,
has no images/s figure, or was measured with settings that change what was measured: the
params, the data source, the device. Versions of torch, CUDA, the driver, and the machine itself
are not obstacles (comparing them is often the point): they are listed as `Change`s of the run.
Nor are torch's threads (`cpu_threads`, and the `threads` param where the sweep had that axis):
they are the CPU the run was given, and a run that got fewer (a container's limit, an
OMP_NUM_THREADS left set) is exactly the slowdown a gate must catch; the case is compared and
the difference is named beside its verdict (`CaseComparison.resources`). The machines' own
speed (the canary) is compared when both runs read it, and never used to correct a figure.
Not checked: the work per round of epochs with fixed-work rounds (--bench-epoch-images), since
a results file does not say whether its rounds were fixed or sized by time, and time-sized
rounds differ between runs by design.

Within a side, when several files hold the same case (same machine label and name), the newest
run's is used, as the report does. Cases match by name; when a side holds several machines they
match by (machine, name), which needs the same machines on both sides (`MixedMachinesError` else).

Pure: records in, frozen dataclasses out. scipy is imported only when a rank test can run.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from bench.contract import Canary, Case, Loader, Machine, derive
from bench.contract import File as RunKeys
from bench.contract import Trust as TrustKeys
from bench.contract.vocab import EPOCH, INVALID
from reports.reading.load import Record

DEFAULT_FACTOR = 1.1
DEFAULT_ALPHA = 0.01


class Verdict(str, Enum):
    FASTER = "faster"
    SLOWER = "slower"
    SAME = "no measurable change"
    NOT_COMPARABLE = "not comparable"


class Rule(str, Enum):
    FACTOR = "factor"  # figure: new/old; threshold: the minimum factor
    INTERVALS = "intervals"  # held: the two intervals are apart
    RANK_TEST = "rank test"  # figure: p (or, skipped, the smallest p the rounds allow); threshold: alpha


# Why a rule was skipped.
NO_INTERVAL = "no_interval"  # a side has no interval: it may overlap, so rule 2 cannot hold
TOO_FEW_ROUNDS = "too_few_rounds"  # figure: the smallest p the rounds allow (asv's check)
NO_SCIPY = "no_scipy"  # scipy is not installed

# Why a case is not compared (Obstacle.code).
INVALID_RUN = "invalid"  # old, new: the two trust levels
NO_FIGURE = "no_figure"  # old, new: the two figures (None where missing)
SETTING = "setting"  # fact, old, new: a setting that changes what was measured
RESOURCE = "resource"  # fact, old, new: the CPU the run was given; named, never blocking

# The facts that change what was measured, as the obstacles name them.
THREADS, DATA_SOURCE, DEVICE, FIXED_WORK = "torch threads", "data source", "device", "images per epoch round"
THREADS_PARAM = "threads"  # the threads axis' param (a case's id names it where it is not the default)


@dataclass(frozen=True)
class Measured:
    """One case as one side measured it (the newest run of its machine that holds it)."""

    name: str
    machine: str
    file: str
    group: str | None
    images_per_sec: float | None
    interval: tuple[float, float] | None = None
    interval_basis: str | None = None  # "repeats", or "rounds" (within one run only)
    round_images_per_sec: tuple[float, ...] = ()  # every timed round, all repeats
    trust: str | None = None  # ok, noisy, invalid; None: not assessed (older files)
    params: tuple[tuple[str, object], ...] = ()
    cpu_threads: int | None = None
    data_source: str | None = None
    device_name: str | None = None
    fixed_epoch_images: float | None = None  # --bench-epoch-images of an epoch case's run; None: sized by time

    @property
    def rounds(self) -> int:
        return len(self.round_images_per_sec)


@dataclass(frozen=True)
class Check:
    """One rule's outcome: held True/False, or None when skipped (`skipped` says why)."""

    rule: Rule
    held: bool | None
    figure: float | None = None
    threshold: float | None = None
    skipped: str | None = None
    rounds: tuple[int, int] = (0, 0)  # the rank test's rounds, old and new


@dataclass(frozen=True)
class Obstacle:
    """Why a case's two figures do not compare; put in words by reports.page.compare_text."""

    code: str
    fact: str | None = None
    old: object = None
    new: object = None


@dataclass(frozen=True)
class CaseComparison:
    """One case, old against new."""

    name: str
    machine: str | None  # the machine it matched on; None when each side holds one machine
    old: Measured
    new: Measured
    verdict: Verdict
    ratio: float | None = None  # new/old images/s
    checks: tuple[Check, ...] = ()
    obstacles: tuple[Obstacle, ...] = ()
    resources: tuple[Obstacle, ...] = ()  # RESOURCE records: compared anyway, named beside the verdict

    def check(self, rule: Rule) -> Check | None:
        return next((check for check in self.checks if check.rule is rule), None)

    @property
    def changed(self) -> bool:
        return self.verdict in (Verdict.FASTER, Verdict.SLOWER)


@dataclass(frozen=True)
class Change:
    """A fact of the run that differs between the sides and does not stop the comparison."""

    fact: str  # machine, torch, cuda, driver, python, preset
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class Side:
    """One side's runs as a whole: which files, machines and versions its compared cases came from."""

    files: tuple[str, ...]
    machines: tuple[str, ...]
    facts: tuple[tuple[str, tuple[str, ...]], ...]  # (fact, distinct values) for Change
    canary_images_per_sec: tuple[float, ...] = ()  # every canary reading of those files
    interval_bases: tuple[tuple[str, int], ...] = ()  # (basis, cases)

    @property
    def canary_median(self) -> float | None:
        return statistics.median(self.canary_images_per_sec) if self.canary_images_per_sec else None


@dataclass(frozen=True)
class RunComparison:
    """Two runs, case by case, with what the comparison rests on."""

    old: Side
    new: Side
    cases: tuple[CaseComparison, ...]
    without_figure: tuple[str, ...]  # on both sides, neither with an images/s figure: left out
    only_old: tuple[str, ...]
    only_new: tuple[str, ...]
    changes: tuple[Change, ...]
    factor: float
    alpha: float
    rank_test_available: bool

    @property
    def canary_ratio(self) -> float | None:
        """The machine's own speed, new over old (canary medians); None unless both runs read it."""
        old, new = self.old.canary_median, self.new.canary_median
        return new / old if old and new else None

    @property
    def canary_beyond_factor(self) -> bool:
        ratio = self.canary_ratio
        return ratio is not None and not 1 / self.factor < ratio < self.factor

    def counts(self) -> dict[Verdict, int]:
        return {verdict: sum(case.verdict is verdict for case in self.cases) for verdict in Verdict}

    def fails(self, fail_on: str | None) -> bool:
        """Whether a gate `--fail-on slower|changed` fails on this comparison."""
        if fail_on == "slower":
            return any(case.verdict is Verdict.SLOWER for case in self.cases)
        if fail_on == "changed":
            return any(case.changed for case in self.cases)
        return False


class CompareError(ValueError):
    """The two sides cannot be compared at all (reports.page.compare_text says why and the fix)."""


class MixedMachinesError(CompareError):
    """A side holds several machines and the other side not the same ones."""

    def __init__(self, old: tuple[str, ...], new: tuple[str, ...]):
        super().__init__(old, new)
        self.old, self.new = old, new


class NoCaseInCommonError(CompareError):
    """No case name (or machine and name) is on both sides."""

    def __init__(self, old_cases: int, new_cases: int):
        super().__init__(old_cases, new_cases)
        self.old_cases, self.new_cases = old_cases, new_cases


def _started(record: Record) -> tuple[int, float]:
    """Sort key of a record's run: unknown times first, then by the sweep's start."""
    text = record.run.get(RunKeys.started) or record.datetime
    try:
        return 1, datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0, 0.0


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def measured(record: Record) -> Measured:
    """A record as the comparison reads it."""
    benchmark = record.benchmark
    info = benchmark.get("extra_info") or {}
    images = _float(info.get(Case.images_per_round))
    seconds = [value for value in (benchmark.get("stats") or {}).get("data") or [] if _float(value)]
    interval = info.get(Case.images_per_sec_interval)
    interval = ((float(interval[0]), float(interval[1]))
                if isinstance(interval, list | tuple) and len(interval) == 2
                and all(_float(end) is not None for end in interval) else None)
    trust = info.get(Case.trust)
    threads = _float(info.get(Case.cpu_threads))
    data_source = info.get(Loader.data_source)  # the same key in epoch and ddp cases
    return Measured(
        name=str(benchmark["name"]), machine=record.machine, file=record.file, group=benchmark.get("group"),
        images_per_sec=_float(info.get(Case.images_per_sec)), interval=interval,
        interval_basis=info.get(Case.images_per_sec_interval_basis),
        round_images_per_sec=tuple(derive.round_images_per_sec(images, seconds)) if images else (),
        trust=trust.get(TrustKeys.level) if isinstance(trust, dict) else None,
        params=tuple(sorted((benchmark.get("params") or {}).items())),
        cpu_threads=None if threads is None else int(threads),
        data_source=None if data_source is None else str(data_source),
        device_name=None if info.get(Case.device_name) is None else str(info[Case.device_name]),
        fixed_epoch_images=_float(record.run.get(RunKeys.epoch_images)) if benchmark.get("group") == EPOCH else None,
    )


def newest_cases(records: Sequence[Record]) -> dict[tuple[str, str], tuple[Measured, Record]]:
    """cifarbench's cases by (machine, name), each from the newest run of its machine that holds it."""
    found: dict[tuple[str, str], tuple[Measured, Record]] = {}
    for record in sorted((record for record in records if record.cifarbench), key=_started):
        case = measured(record)
        found[(case.machine, case.name)] = (case, record)  # sorted oldest first: the newest stays
    return found


def _side(chosen: Sequence[tuple[Measured, Record]]) -> Side:
    by_file = {record.file: record for _, record in chosen}
    facts: dict[str, list[str]] = {"machine": [], "torch": [], "cuda": [], "driver": [], "python": [],
                                   "preset": []}
    canary: list[float] = []
    for record in by_file.values():
        machine = record.facts
        versions = machine.get(Machine.versions) or {}
        values = {"machine": record.machine, "torch": versions.get("torch"), "cuda": versions.get("cuda"),
                  "python": versions.get("python"), "preset": record.run.get(RunKeys.preset)}
        drivers = [gpu.get("driver") for gpu in machine.get(Machine.gpus) or [] if isinstance(gpu, dict)]
        for fact, value in [*values.items(), *(("driver", driver) for driver in drivers)]:
            if value is not None and str(value) not in facts[fact]:
                facts[fact].append(str(value))
        readings = (machine.get(Machine.canary) or {}).get(Canary.readings) or []
        canary.extend(value for reading in readings if isinstance(reading, dict)
                      and (value := _float(reading.get("images_per_sec"))))
    bases: dict[str, int] = {}
    for case, _ in chosen:
        if case.interval_basis:
            bases[case.interval_basis] = bases.get(case.interval_basis, 0) + 1
    return Side(
        files=tuple(by_file), machines=tuple(dict.fromkeys(case.machine for case, _ in chosen)),
        facts=tuple((fact, tuple(values)) for fact, values in facts.items()), canary_images_per_sec=tuple(canary),
        interval_bases=tuple(sorted(bases.items())),
    )


RankTest = Callable[[Sequence[float], Sequence[float]], float]


def scipy_rank_test() -> RankTest | None:
    """scipy's two-sided Mann-Whitney U p-value, or None where scipy is not installed."""
    try:
        from scipy.stats import mannwhitneyu
    except ImportError:
        return None

    def p_value(old: Sequence[float], new: Sequence[float]) -> float:
        return float(mannwhitneyu(old, new, alternative="two-sided").pvalue)

    return p_value


def smallest_p(old_rounds: int, new_rounds: int) -> float:
    """The smallest p the rank test can give these rounds (asv's check: 1 / C(n + m, min(n, m)))."""
    if not old_rounds or not new_rounds:
        return 1.0
    return 1 / math.comb(old_rounds + new_rounds, min(old_rounds, new_rounds))


def obstacles(old: Measured, new: Measured) -> tuple[Obstacle, ...]:
    """What stops the two from being compared: an invalid side, a missing figure, a different setting."""
    found = []
    if INVALID in (old.trust, new.trust):
        found.append(Obstacle(INVALID_RUN, old=old.trust, new=new.trust))
    if old.images_per_sec is None or new.images_per_sec is None:
        found.append(Obstacle(NO_FIGURE, old=old.images_per_sec, new=new.images_per_sec))
    old_params, new_params = dict(old.params), dict(new.params)
    for name in dict.fromkeys([*old_params, *new_params]):
        if name != THREADS_PARAM and old_params.get(name) != new_params.get(name):
            found.append(Obstacle(SETTING, name, old_params.get(name), new_params.get(name)))
    for fact, before, after in ((DATA_SOURCE, old.data_source, new.data_source),
                                (DEVICE, old.device_name, new.device_name),
                                (FIXED_WORK, old.fixed_epoch_images, new.fixed_epoch_images)):
        if before is not None and after is not None and before != after:
            found.append(Obstacle(SETTING, fact, before, after))
    return tuple(found)


def resources(old: Measured, new: Measured) -> tuple[Obstacle, ...]:
    """The CPU each side was given, where it differs: torch's threads (else the `threads` param)."""
    if old.cpu_threads is not None and new.cpu_threads is not None and old.cpu_threads != new.cpu_threads:
        return (Obstacle(RESOURCE, THREADS, old.cpu_threads, new.cpu_threads),)
    before, after = dict(old.params).get(THREADS_PARAM), dict(new.params).get(THREADS_PARAM)
    if before != after:
        return (Obstacle(RESOURCE, THREADS_PARAM, before, after),)
    return ()


def outside_each_other(old: Measured, new: Measured) -> bool:
    """Rule 2: each side's figure outside the other's interval (both intervals known)."""
    return not (old.interval[0] <= new.images_per_sec <= old.interval[1]
                or new.interval[0] <= old.images_per_sec <= new.interval[1])


def compare_case(old: Measured, new: Measured, factor: float = DEFAULT_FACTOR, alpha: float = DEFAULT_ALPHA,
                 rank_test: RankTest | None = None, machine: str | None = None) -> CaseComparison:
    """One case's verdict by the three rules (module docstring); `rank_test` None: no scipy."""
    blocked = obstacles(old, new)
    ratio = new.images_per_sec / old.images_per_sec if old.images_per_sec and new.images_per_sec else None
    if blocked or ratio is None:  # obstacles() names a missing figure
        return CaseComparison(old.name, machine, old, new, Verdict.NOT_COMPARABLE, ratio, obstacles=blocked,
                              resources=resources(old, new))
    checks = (
        Check(Rule.FACTOR, ratio >= factor or ratio <= 1 / factor, ratio, factor),
        Check(Rule.INTERVALS, outside_each_other(old, new))
        if old.interval and new.interval else Check(Rule.INTERVALS, False, skipped=NO_INTERVAL),
        _rank_check(old, new, alpha, rank_test),
    )
    measurable = all(check.held is not False for check in checks)
    verdict = (Verdict.FASTER if ratio > 1 else Verdict.SLOWER) if measurable else Verdict.SAME
    return CaseComparison(old.name, machine, old, new, verdict, ratio, checks, resources=resources(old, new))


def _rank_check(old: Measured, new: Measured, alpha: float, rank_test: RankTest | None) -> Check:
    rounds = (old.rounds, new.rounds)
    floor = smallest_p(*rounds)
    if floor >= alpha:
        return Check(Rule.RANK_TEST, None, floor, alpha, TOO_FEW_ROUNDS, rounds)
    if rank_test is None:
        return Check(Rule.RANK_TEST, None, None, alpha, NO_SCIPY, rounds)
    p = rank_test(old.round_images_per_sec, new.round_images_per_sec)
    return Check(Rule.RANK_TEST, p < alpha, p, alpha, rounds=rounds)


def compare_runs(old_records: Sequence[Record], new_records: Sequence[Record], factor: float = DEFAULT_FACTOR,
                 alpha: float = DEFAULT_ALPHA) -> RunComparison:
    """Every case the two sides share, compared; `CompareError` when they cannot be compared at all."""
    if factor <= 1:
        raise ValueError(f"the minimum factor must be above 1, not {factor}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, not {alpha}")
    test = scipy_rank_test()
    old_cases, new_cases = newest_cases(old_records), newest_cases(new_records)
    old_machines = tuple(dict.fromkeys(machine for machine, _ in old_cases))
    new_machines = tuple(dict.fromkeys(machine for machine, _ in new_cases))
    # One machine each side: match by name (the machines may differ: that is a Change). Several:
    # by machine and name, which needs the same machines on both sides.
    by_machine = not (len(old_machines) == 1 and len(new_machines) == 1)
    if by_machine and set(old_machines) != set(new_machines):
        raise MixedMachinesError(old_machines, new_machines)
    old_keyed = {_key(found, by_machine): value for found, value in old_cases.items()}
    new_keyed = {_key(found, by_machine): value for found, value in new_cases.items()}
    common = [found for found in old_keyed if found in new_keyed]
    # Cases that time something other than images (the sampler's overhead) have no figure on
    # either side: they are left out and counted, not called "not comparable".
    shared = [found for found in common
              if old_keyed[found][0].images_per_sec is not None or new_keyed[found][0].images_per_sec is not None]
    if not shared:
        raise NoCaseInCommonError(len(old_keyed), len(new_keyed))
    compared = tuple(
        compare_case(old_keyed[found][0], new_keyed[found][0], factor, alpha, test,
                     machine=old_keyed[found][0].machine if by_machine else None)
        for found in shared)
    old_side = _side([old_keyed[found] for found in shared])
    new_side = _side([new_keyed[found] for found in shared])
    return RunComparison(
        old=old_side, new=new_side, cases=compared,
        without_figure=tuple(_shown(found) for found in common if found not in shared),
        only_old=tuple(_shown(found) for found in old_keyed if found not in new_keyed),
        only_new=tuple(_shown(found) for found in new_keyed if found not in old_keyed),
        changes=_changes(old_side, new_side), factor=factor, alpha=alpha, rank_test_available=test is not None,
    )


def _key(machine_and_name: tuple[str, str], by_machine: bool) -> str | tuple[str, str]:
    return machine_and_name if by_machine else machine_and_name[1]


def _shown(key: str | tuple[str, str]) -> str:
    return key if isinstance(key, str) else f"{key[0]}: {key[1]}"


def _changes(old: Side, new: Side) -> tuple[Change, ...]:
    new_facts = dict(new.facts)
    return tuple(Change(fact, values, new_facts[fact]) for fact, values in old.facts
                 if values and new_facts.get(fact) and set(values) != set(new_facts[fact]))
