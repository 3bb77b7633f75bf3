"""The report tests' inputs: real result files in tests/data, and documents built from them.

tests/data holds small real files only:
- `cpu-2core-*.json`: cifarbench sweeps run on a 2-core CPU machine (quick profile, cut down
  with --bench-* options), two labels so the report has two machines;
- `foreign_pytest_benchmark.json`: a plain pytest-benchmark run of an unrelated suite;
- `broken_truncated.json`: the first part of a real result file, as a crash mid-write leaves it.

- `recorded/h200-lease_*.json`: the `smoke` preset recorded by the harness on a lent NVIDIA
  H200 (16 cores, torch 2.11, pytest-benchmark 5.2.3): the GPU machine of the report tests,
  with its CPU cases beside its cuda:0 ones, real NVML, GPM and energy readings.

The report tests import these helpers; tests/test_report_data.py checks the files themselves.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from reports.reading.load import Record, records_from_document

DATA = Path(__file__).parent / "data"
FOREIGN = DATA / "foreign_pytest_benchmark.json"
BROKEN = DATA / "broken_truncated.json"
XSS = "<script>alert(1)</script>"
GPU_FILE = DATA / "recorded" / "h200-lease_20261126T003056Z.json"
GPU_LABEL = "h200-lease"


def real_files() -> list[Path]:
    """cifarbench's real result files in tests/data, in name order."""
    files = sorted(DATA.glob("cpu-2core-*.json"))
    assert len(files) >= 2, "tests/data should hold two real cifarbench result files"
    return files


def read_document(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def gpu_document() -> dict:
    """The H200's recorded smoke sweep (GPU_FILE), parsed afresh (callers may change it)."""
    return read_document(GPU_FILE)


def gpu_records() -> list[Record]:
    """Records of the H200's recorded smoke sweep."""
    return records_from_document(gpu_document(), GPU_FILE.name)


def xss_document(real: dict) -> dict:
    """A copy of a real document whose label and one parameter are a script tag."""
    document = copy.deepcopy(real)
    document["machine_info"]["cifarbench"]["label"] = XSS
    for benchmark in document["benchmarks"]:
        if benchmark.get("group") == "epoch":
            benchmark["params"]["model"] = XSS
            break
    return document


