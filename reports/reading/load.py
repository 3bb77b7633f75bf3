"""Stage 1, load: pytest-benchmark JSON files (or folders of them) -> records.

A record is one benchmark of one file, tagged with the file and the machine it ran on.
cifarbench's files carry `machine_info["cifarbench"]` and a top-level `cifarbench` block, and
are read in today's form whatever harness wrote them (`bench.contract.upgrade`);
any other pytest-benchmark file loads too, as foreign records. A file that is not
pytest-benchmark JSON, or is truncated, is skipped with a `ResultFileWarning` naming it;
the other files still load. `*.partial` files (a sweep's write in progress) are ignored.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.contract import upgrade

RESULT_SUFFIX = ".json"
PARTIAL_SUFFIX = ".partial"


class ResultFileWarning(UserWarning):
    """A result file was skipped: unreadable, not pytest-benchmark JSON, or truncated."""


class ResultFileError(ValueError):
    """Why one file is not a usable pytest-benchmark result file."""


@dataclass(frozen=True)
class Record:
    """One benchmark of one result file.

    `machine_info` and `run` are shared by every record of a file (not copied).
    """

    file: str  # the path the file was read from, as given
    machine: str  # cifarbench's label; else pytest-benchmark's machine_info["node"]; else the file's stem
    machine_info: dict  # pytest-benchmark's machine_info (with "cifarbench" in our files)
    run: dict  # the file's top-level "cifarbench" block; {} in foreign files
    datetime: str | None  # pytest-benchmark's "datetime" of the file (ISO 8601)
    benchmark: dict  # pytest-benchmark's benchmark entry: name, group, params, stats, extra_info
    commit_info: dict | None = None  # pytest-benchmark's commit_info of the file (id, dirty, ...)

    @property
    def cifarbench(self) -> bool:
        """True for cifarbench's own records, False for foreign pytest-benchmark ones."""
        return isinstance(self.machine_info.get("cifarbench"), dict)

    @property
    def facts(self) -> dict:
        """`machine_info["cifarbench"]`: label, CPU, GPUs, versions, peaks, price ({} if foreign)."""
        facts = self.machine_info.get("cifarbench")
        return facts if isinstance(facts, dict) else {}


def result_files(paths: Iterable[str | Path]) -> list[Path]:
    """The JSON files named by `paths`: files as given, folders searched recursively.

    `*.partial` files are left out; a path that does not exist gives a `ResultFileWarning`.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            files.extend(sorted(found for found in path.rglob(f"*{RESULT_SUFFIX}") if found.is_file()))
        elif path.name.endswith(PARTIAL_SUFFIX):
            continue
        elif path.is_file():
            files.append(path)
        else:
            warnings.warn(ResultFileWarning(f"{path}: no such file or folder; skipped"), stacklevel=2)
    return list(dict.fromkeys(files))


def load_records(paths: Iterable[str | Path]) -> list[Record]:
    """Every benchmark of every readable result file under `paths`, in file order.

    Each file that cannot be used is skipped with a `ResultFileWarning` naming it and why.
    """
    records: list[Record] = []
    for path in result_files(paths):
        try:
            records.extend(read_result_file(path))
        except ResultFileError as error:
            warnings.warn(ResultFileWarning(f"{path}: {error}; skipped"), stacklevel=2)
    return records


def read_result_file(path: str | Path) -> list[Record]:
    """The records of one file; `ResultFileError` if it is not usable pytest-benchmark JSON."""
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except json.JSONDecodeError as error:
        raise ResultFileError(f"not valid JSON (truncated?): {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ResultFileError(f"cannot be read: {error}") from None
    return records_from_document(document, str(path))


def records_from_document(document: object, file: str) -> list[Record]:
    """The records of a parsed pytest-benchmark document; `ResultFileError` if it is not one."""
    if not isinstance(document, dict):
        raise ResultFileError("not a pytest-benchmark result file (the JSON is not an object)")
    missing = [key for key in ("machine_info", "benchmarks") if key not in document]
    if missing:
        raise ResultFileError(f"not a pytest-benchmark result file (no {' or '.join(missing)})")
    machine_info, benchmarks = document["machine_info"], document["benchmarks"]
    if not isinstance(machine_info, dict) or not isinstance(benchmarks, list):
        raise ResultFileError("not a pytest-benchmark result file (machine_info or benchmarks malformed)")
    for index, benchmark in enumerate(benchmarks):
        problem = _benchmark_problem(benchmark)
        if problem:
            raise ResultFileError(f"benchmark {index} {problem}")
    if isinstance(machine_info.get("cifarbench"), dict):
        # Older harnesses' files in today's form, through the contract's one compatibility path.
        document = upgrade(document)
        machine_info, benchmarks = document["machine_info"], document["benchmarks"]
    run = document.get("cifarbench")
    run = run if isinstance(run, dict) else {}
    machine = _machine_label(machine_info, file)
    started = document.get("datetime")
    commit_info = document.get("commit_info") if isinstance(document.get("commit_info"), dict) else None
    return [
        Record(file=file, machine=machine, machine_info=machine_info, run=run,
               datetime=started if isinstance(started, str) else None, benchmark=benchmark,
               commit_info=commit_info)
        for benchmark in benchmarks
    ]


def _benchmark_problem(benchmark: object) -> str | None:
    if not isinstance(benchmark, dict):
        return "is not an object"
    if not isinstance(benchmark.get("name"), str):
        return "has no name"
    stats = benchmark.get("stats")
    if not isinstance(stats, dict) or not isinstance(stats.get("median"), int | float):
        return f"({benchmark['name']}) has no stats.median"
    return None


def _machine_label(machine_info: dict, file: str) -> str:
    facts = machine_info.get("cifarbench")
    if isinstance(facts, dict) and facts.get("label"):
        return str(facts["label"])
    if machine_info.get("node"):
        return str(machine_info["node"])
    return Path(file).stem
