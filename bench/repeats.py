"""A case measured several times in one sweep, made into one case of the results file.

`--bench-repeats K` runs the whole selection K times, interleaved (A B C, A B C, ...), as asv
runs its benchmarks in several processes: what varies between two runs on this machine (the
host's load on a cloud VM, the clock, the cache and memory state) then varies between the
repeats too. pytest-benchmark keeps one entry per run; `merge` makes each case one entry again
when the results file is written:

- Its rounds are the rounds of all its valid repeats together (`stats` recomputed by
  pytest-benchmark's own `Stats`), and its figure the median of them all
  (`contract.derive.images_per_sec`). A repeat measured while the machine was busy or
  throttled (`invalid`) is left out of the figure where another repeat is valid, and said
  (reason `invalid_repeats`).
- Its interval (`images_per_sec_interval`, `contract.derive.interval`) comes from the repeats'
  figures, weighed with the run-to-run noise pooled over every case of the run; with one
  repeat, from its rounds alone (basis `rounds`: within one run only).
- `repeats` lists each repeat: its figure, rounds, when it started and how long it took, its
  trust. A repeat during which the machine's own speed (the canary, bench/canary.py) moved
  beyond the threshold gets reason `machine_drift`.
- The other facts (utilization, phases, evaluation, ...) are the first valid repeat's: the one
  that sized the work and evaluated the model.
- A converge case's repeats are its seeds: `seeds` keeps every seed's run (invalid ones too:
  whether a seed reached the target does not depend on the machine's load; its seconds do).
- A case of the adaptive search (`extra_info["search"]`, bench/search) measured at several
  rungs is the entries of its highest rung; the lower rungs' figures stay in its `search` facts.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_benchmark.stats import Stats

from bench.canary import Canary
from bench.contract import Case, Converge, Epoch, Reason, derive
from bench.contract import Trust as TrustKeys
from bench.contract.vocab import INTERVAL_FROM_REPEATS, INTERVAL_FROM_ROUNDS, INVALID, NOISY, OK, worst_level
from bench.trust import THRESHOLDS, Thresholds, with_reasons


@dataclass(frozen=True)
class RunFacts:
    """When one run of a case happened (sweep seconds) and which repeat it was."""

    started_s: float
    seconds: float
    repeat: int


def merge(entries: Sequence[dict], runs: Sequence[RunFacts | None], canary: Canary | None = None,
          thresholds: Thresholds = THRESHOLDS) -> tuple[list[dict], derive.PooledNoise | None]:
    """One entry per case from pytest-benchmark's entries of every run (in run order), and the
    run's pooled repeat noise. `runs[i]` says when `entries[i]` ran (None: unknown)."""
    groups: dict[str, list[tuple[dict, RunFacts | None]]] = {}
    for entry, run in zip(entries, runs, strict=True):
        groups.setdefault(entry.get("fullname") or entry["name"], []).append((entry, run))
    prepared = [_prepare(_highest_rung(group), canary, thresholds) for group in groups.values()]
    pooled = derive.pooled_noise([[derive_figure(entry) for entry in valid] for valid, _ in prepared
                                  if len(valid) >= 2 and _has_figure(valid[0])])
    return [_merged(valid, left_out, pooled) if _has_figure(valid[0]) else _rounds_only(valid)
            for valid, left_out in prepared], pooled


def _has_figure(entry: dict) -> bool:
    """Whether the case has an images/s figure (the overhead groups' sampler cases have none)."""
    return Case.images_per_round in entry["extra_info"]


def _rounds_only(valid: list[dict]) -> dict:
    """A case without an images/s figure: its rounds together, its facts the first run's."""
    merged = {key: value for key, value in valid[0].items() if key != "_run"}
    rounds = [seconds for entry in valid for seconds in entry["stats"]["data"]]
    stats = Stats()
    for seconds in rounds:
        stats.update(seconds)
    merged["stats"] = {**valid[0]["stats"], **stats.as_dict(), "data": rounds}
    return merged


def derive_figure(entry: dict) -> float:
    info = entry["extra_info"]
    return derive.images_per_sec(info[Case.images_per_round], entry["stats"]["data"])


def _highest_rung(group: list[tuple[dict, RunFacts | None]]) -> list[tuple[dict, RunFacts | None]]:
    rungs = [(entry["extra_info"].get(Case.search) or {}).get("rung", 0) for entry, _ in group]
    top = max(rungs)
    return [pair for pair, rung in zip(group, rungs, strict=True) if rung == top]


def _prepare(group: list[tuple[dict, RunFacts | None]], canary: Canary | None,
             thresholds: Thresholds) -> tuple[list[dict], list[dict]]:
    """Each repeat with its drift reason and run facts; the valid ones apart from the invalid ones."""
    repeats = []
    for index, (entry, run) in enumerate(group):
        entry = copy.deepcopy(entry)
        info = entry["extra_info"]
        drift = _drift(run, canary, thresholds)
        if drift is not None and Case.trust in info:
            info[Case.trust] = with_reasons(info[Case.trust], [drift])
        entry["_run"] = (index, run)
        repeats.append(entry)
    valid = [entry for entry in repeats if _level(entry) != INVALID]
    if not valid:
        return repeats, []
    return valid, [entry for entry in repeats if _level(entry) == INVALID]


def _level(entry: dict) -> str | None:
    return (entry["extra_info"].get(Case.trust) or {}).get(TrustKeys.level)


def _drift(run: RunFacts | None, canary: Canary | None, thresholds: Thresholds) -> Reason | None:
    """`machine_drift` where the canary's readings around the run differ beyond the threshold."""
    if run is None or canary is None:
        return None
    around = canary.around(run.started_s, run.started_s + run.seconds)
    if around is None:
        return None
    before, after = around
    change = after.images_per_sec / before.images_per_sec - 1.0
    if abs(change) <= thresholds.noisy_machine_drift:
        return None
    return Reason("machine_drift", NOISY, change, thresholds.noisy_machine_drift,
                  {"before": before.images_per_sec, "after": after.images_per_sec})


def _merged(valid: list[dict], left_out: list[dict], pooled: derive.PooledNoise | None) -> dict:
    first = valid[0]
    merged = {key: value for key, value in first.items() if key != "_run"}
    info = dict(first["extra_info"])
    rounds = [seconds for entry in valid for seconds in entry["stats"]["data"]]
    images_per_round = sum(entry["extra_info"][Case.images_per_round] for entry in valid) / len(valid)
    stats = Stats()
    for seconds in rounds:
        stats.update(seconds)
    merged["stats"] = {**first["stats"], **stats.as_dict(), "data": rounds}
    figure = derive.images_per_sec(images_per_round, rounds)
    figures = [derive_figure(entry) for entry in valid]
    info[Case.images_per_round] = images_per_round
    info[Case.median_round_seconds] = derive.median(rounds)
    info[Case.images_per_sec] = figure
    if info.get(Case.flops_per_image):
        info[Case.achieved_tflops] = derive.achieved_tflops(info[Case.flops_per_image], figure)
    if Epoch.full_epoch_seconds in info:
        info[Epoch.epoch_seconds] = derive.median(rounds)
        info[Epoch.full_epoch_seconds] = derive.full_epoch_seconds(figure)
    energies = [entry["extra_info"].get(Case.energy_j) for entry in valid]
    if all(energy is not None for energy in energies) and len(valid) > 1:
        info[Case.energy_j] = sum(energies)
        info[Case.energy_j_per_round] = sum(energies) / len(rounds)
        info[Case.images_per_joule] = derive.images_per_joule(images_per_round * len(rounds), sum(energies))
    round_figures = derive.round_images_per_sec(images_per_round, rounds)
    several = len(valid) >= 2
    info[Case.images_per_sec_interval] = list(derive.interval(
        figure, figures if several else [], round_figures, pooled) or (figure, figure))
    info[Case.images_per_sec_interval_basis] = INTERVAL_FROM_REPEATS if several else INTERVAL_FROM_ROUNDS
    in_order = sorted([*valid, *left_out], key=lambda e: e["_run"][0])
    info[Case.repeats] = [_repeat(entry) for entry in in_order]
    if Converge.seeds in info:  # a converge case: each repeat trained another seed, every one is kept
        info[Converge.seeds] = [run for entry in in_order for run in entry["extra_info"].get(Converge.seeds, [])]
    if Case.trust in info:
        info[Case.trust] = _trust(valid, left_out, rounds)
    merged["extra_info"] = info
    return merged


def _repeat(entry: dict) -> dict:
    _, run = entry["_run"]
    trust = entry["extra_info"].get(Case.trust) or {}
    return {"images_per_sec": derive_figure(entry), "rounds": len(entry["stats"]["data"]),
            "started_s": run.started_s if run else None, "seconds": run.seconds if run else None,
            "trust_level": trust.get(TrustKeys.level),
            "reasons": [reason.get("code") for reason in trust.get(TrustKeys.reasons, [])]}


def _trust(valid: list[dict], left_out: list[dict], rounds: list[float]) -> dict:
    """The merged case's trust: the worst of its valid repeats, their reasons, and the left-out ones."""
    trusts = [entry["extra_info"][Case.trust] for entry in valid]
    reasons = []
    for entry, trust in zip(valid, trusts, strict=True):
        for reason in trust.get(TrustKeys.reasons, []):
            reasons.append({**reason, "detail": {**(reason.get("detail") or {}), "repeat": entry["_run"][0] + 1}}
                           if len(valid) > 1 else reason)
    if left_out:
        reasons.append(Reason("invalid_repeats", NOISY, len(left_out), 0,
                              {"repeats": [entry["_run"][0] + 1 for entry in left_out]}).as_dict())
    level = worst_level([OK, *(reason["level"] for reason in reasons if reason.get("level"))])
    if any(trust.get(TrustKeys.level) is None for trust in trusts):
        level = None  # older harness: not assessed
    others = [trust.get(TrustKeys.other_cpu_pct) for trust in trusts if trust.get(TrustKeys.other_cpu_pct) is not None]
    return {
        **trusts[0],
        TrustKeys.level: level,
        TrustKeys.reasons: reasons,
        TrustKeys.other_cpu_pct: max(others) if others else None,
        TrustKeys.rounds_spread: trusts[0].get(TrustKeys.rounds_spread) if len(valid) == 1
        else max((trust.get(TrustKeys.rounds_spread) or 0.0) for trust in trusts),
        TrustKeys.rounds: len(rounds),
        TrustKeys.images_timed: sum(trust.get(TrustKeys.images_timed) or 0.0 for trust in trusts),
    }
