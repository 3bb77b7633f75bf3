"""Every key the harness writes is documented in bench/contract.py, checked on real result files.

The files under tests/data/recorded/ were recorded by this version of the harness (a quiet and a
loaded CPU run), as were the ddp files under tests/data/ddp/; older files predate the contract.
"""

import json
from pathlib import Path

import pytest

from bench.contract import FILE_KEYS, MACHINE_KEYS, documented_case_keys
from tests.recorded import recorded_documents


def recorded_files() -> list[Path]:
    return [path for path, document in recorded_documents() if "preset" in document.get("cifarbench", {})]


@pytest.fixture(params=recorded_files(), ids=lambda path: path.name)
def document(request) -> dict:
    return json.loads(request.param.read_text(encoding="utf-8"))


def test_there_are_recorded_files_to_check():
    assert len(recorded_files()) >= 2


def test_every_case_key_is_documented(document):
    assert document["benchmarks"]
    for bench in document["benchmarks"]:
        undocumented = set(bench["extra_info"]) - documented_case_keys(bench["group"])
        assert not undocumented, (bench["name"], undocumented)


def test_every_machine_and_file_key_is_documented(document):
    assert set(document["machine_info"]["cifarbench"]) <= set(MACHINE_KEYS)
    assert set(document["cifarbench"]) <= set(FILE_KEYS)
