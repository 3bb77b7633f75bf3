"""Checking a results file against the contract, and reading older files through one explicit path.

`upgrade(document)` turns a file written by an older harness into today's form (`profile` ->
`preset`, trust reasons written as sentences -> reason records (the sentences the old harness
wrote are read back once, here; any other stays a record of code `legacy`), no trust
check yet -> level None (not assessed), no interval -> the rounds' range, keys since renamed or
retired); the report reads every file through it, and `problems(document)` checks
the upgraded file: every key written is in the contract (bench/contract/keys.py) and every
required key is there. A key that a harness wrote once and no longer writes is listed in
`RETIRED` with what replaced it, so an old file still passes.
"""

from __future__ import annotations

import copy
import re

from bench.contract.keys import Case, File, Machine, documented_case_keys, group_section
from bench.contract.reasons import CODES
from bench.contract.schema import Section
from bench.contract.vocab import IMAGE_GROUPS, INTERVAL_FROM_ROUNDS, SAMPLER_OVERHEAD

# Keys older harnesses wrote that today's does not; (section, key) -> what happened to it.
RETIRED: dict[tuple[str, str], str] = {
    ("File", "profile"): "renamed preset (round 2)",
}


def upgrade(document: dict) -> dict:
    """A copy of `document` in today's form; today's files come back unchanged."""
    document = copy.deepcopy(document)
    run = document.get("cifarbench")
    if isinstance(run, dict):
        if "profile" in run:
            run.setdefault("preset", run.pop("profile"))
        run.setdefault("trust", {"level": None, "cases": {}})  # older than the trust check: not assessed
    for bench in document.get("benchmarks") or []:
        if isinstance(bench, dict) and isinstance(bench.get("extra_info"), dict):
            _upgrade_case(bench)
    return document


def _upgrade_case(bench: dict) -> None:
    info = bench["extra_info"]
    if bench.get("group") in IMAGE_GROUPS:
        info.setdefault("trust", {"level": None, "reasons": []})  # older than the trust check: not assessed
    trust = info.get("trust")
    if isinstance(trust, dict):
        trust["reasons"] = [reason if isinstance(reason, dict) else legacy_reason(str(reason), trust.get("level"))
                            for reason in trust.get("reasons") or []]
    if bench.get("group") == SAMPLER_OVERHEAD and info.get("sampler") in ("off", "on"):
        del info["sampler"]  # once the case's off/on; the parameter says it
    if "images_per_sec" in info and "images_per_sec_interval" not in info:
        # One run, no repeats: the rounds' own range is all an old file can give.
        stats = bench.get("stats") or {}
        images = info.get("images_per_round")
        if images and stats.get("min") and stats.get("max"):
            info["images_per_sec_interval"] = [images / stats["max"], images / stats["min"]]
            info["images_per_sec_interval_basis"] = INTERVAL_FROM_ROUNDS
    if bench.get("group") in IMAGE_GROUPS:
        info.setdefault("repeats", [])  # measured once, before repeats


# The sentences harnesses before round 3 wrote as trust reasons, read back into records once,
# here, at the boundary (figures as printed: whole percents); anything else stays `legacy`.
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
_LEGACY: tuple[tuple[str, re.Pattern], ...] = (
    ("other_cpu", re.compile(rf"other processes used {_NUMBER}% (?:\u00b1 {_NUMBER}% )?of a core"
                             rf"(?: \({_NUMBER}% of a core was steal)?")),
    ("rounds_spread", re.compile(rf"the rounds spread {_NUMBER}% around their median \(more than {_NUMBER}%\)")),
    ("few_rounds", re.compile(rf"^{_NUMBER} timed rounds?: no spread")),
    ("projected", re.compile(rf"projected to a full epoch from {_NUMBER} batches a round \(fewer than {_NUMBER}\)")),
    ("gpu_slowdown", re.compile(r"the GPU slowed its clocks: (.+)$")),
    ("recompiles", re.compile(rf"torch.compile recompiled {_NUMBER} times?")),
)


def legacy_reason(text: str, level: str | None) -> dict:
    """An old harness's reason sentence as a reason record (code `legacy` where no pattern fits)."""
    for code, pattern in _LEGACY:
        found = pattern.search(text)
        if found is None:
            continue
        numbers = [float(group.replace(",", "")) if group and group[0].isdigit() else group
                   for group in found.groups()]
        record = {"code": code, "level": level, "figure": None, "threshold": None, "detail": {"text": text}}
        if code == "other_cpu":
            invalid = "is quiet" in text  # only the invalid sentence said what is quiet
            record.update(level="invalid" if invalid else "noisy", figure=numbers[0],
                          threshold=THRESHOLDS_BEFORE["invalid_other_cpu_pct" if invalid else "noisy_other_cpu_pct"])
            record["detail"].update(resolution_pct=numbers[1], steal_pct=numbers[2])
        elif code == "rounds_spread":
            record.update(level="noisy", figure=numbers[0] / 100, threshold=numbers[1] / 100)
        elif code == "projected":
            record.update(level="noisy", figure=numbers[0], threshold=numbers[1])
        elif code == "gpu_slowdown":
            record.update(level="noisy", figure=None)
            record["detail"]["events"] = [event.strip() for event in numbers[0].split(",")]
        else:
            record.update(level="noisy", figure=numbers[0], threshold=2 if code == "few_rounds" else 0)
        return record
    return {"code": "legacy", "level": level, "figure": None, "threshold": None, "detail": {"text": text}}


# The thresholds the old sentences were held against (bench/trust.py then, the same values as now).
THRESHOLDS_BEFORE = {"invalid_other_cpu_pct": 50.0, "noisy_other_cpu_pct": 10.0}


def problems(document: dict) -> list[str]:
    """What in an (upgraded) cifarbench results file breaks the contract; empty when nothing."""
    found: list[str] = []
    facts = (document.get("machine_info") or {}).get("cifarbench")
    if not isinstance(facts, dict):
        return ["machine_info has no 'cifarbench' section: not a cifarbench results file"]
    found += _section_problems("machine_info.cifarbench", facts, Machine)
    found += _section_problems("cifarbench", document.get("cifarbench") or {}, File)
    for bench in document.get("benchmarks") or []:
        where = f"benchmark {bench.get('name')}"
        info = bench.get("extra_info") or {}
        unknown = set(info) - documented_case_keys(bench.get("group"))
        found += [f"{where}: extra_info[{key!r}] is not in the contract (bench/contract/keys.py)"
                  for key in sorted(unknown)]
        if bench.get("group") in IMAGE_GROUPS:
            found += [f"{where}: required extra_info[{key!r}] is missing"
                      for key in sorted(Case.required() - set(info))]
        keys = {**Case.keys(), **(group_section(bench.get("group")) or Case).keys()}
        for name, key in keys.items():
            if key.fields is not None and isinstance(info.get(name), dict):
                found += _section_problems(f"{where} extra_info[{name!r}]", info[name], key.fields)
        for reason in (info.get("trust") or {}).get("reasons") or []:
            if not isinstance(reason, dict) or reason.get("code") not in CODES:
                found.append(f"{where}: trust reason {reason!r} has no known code (bench/contract/reasons.py)")
    return found


def _section_problems(where: str, values: dict, section: type[Section]) -> list[str]:
    retired = {key for name, key in RETIRED if name == section.__name__}
    found = [f"{where}[{key!r}] is not in the contract (section {section.__name__})"
             for key in sorted(set(values) - set(section.keys()) - retired)]
    found += [f"{where}: required {key!r} is missing" for key in sorted(section.required() - set(values))]
    for name, key in section.keys().items():
        if key.fields is not None and isinstance(values.get(name), dict):
            found += _section_problems(f"{where}[{name!r}]", values[name], key.fields)
    return found
