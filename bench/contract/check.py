"""Checking a results file against the contract, and reading older files through one explicit path.

`upgrade(document)` turns a file written by an older harness into today's form (`profile` ->
`preset`, trust reasons written as sentences -> reason records of code `legacy`, no trust
check yet -> level None (not assessed), no interval -> the rounds' range, keys since renamed or
retired); the report reads every file through it, and `problems(document)` checks
the upgraded file: every key written is in the contract (bench/contract/keys.py) and every
required key is there. A key that a harness wrote once and no longer writes is listed in
`RETIRED` with what replaced it, so an old file still passes.
"""

from __future__ import annotations

import copy

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
        trust["reasons"] = [reason if isinstance(reason, dict)
                            else {"code": "legacy", "level": trust.get("level"), "figure": None, "threshold": None,
                                  "detail": {"text": str(reason)}}
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
