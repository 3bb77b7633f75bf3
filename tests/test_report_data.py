"""The report tests' inputs: real result files in tests/data, and documents built from them.

tests/data holds small real files only:
- `cpu-2core-*.json`: cifarbench sweeps run on a 2-core CPU machine (quick profile, cut down
  with --bench-* options), two labels so the report has two machines;
- `foreign_pytest_benchmark.json`: a plain pytest-benchmark run of an unrelated suite;
- `broken_truncated.json`: the first part of a real result file, as a crash mid-write leaves it.

No GPU machine made these files. The GPU-shaped code paths are driven by
`make_gpu_document`, which builds GPU-like records in memory from a real CPU file and labels
them as built; nothing built here is written to tests/data. The helpers are imported by the
other test_report_* modules.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

from reports.load import Record, records_from_document

DATA = Path(__file__).parent / "data"
FOREIGN = DATA / "foreign_pytest_benchmark.json"
BROKEN = DATA / "broken_truncated.json"
XSS = "<script>alert(1)</script>"
BUILT_GPU_LABEL = "built-gpu-shape"
BUILT_GPU_FILE = "<built in tests/test_report_data.py: GPU-shaped, not measured>"


def real_files() -> list[Path]:
    """cifarbench's real result files in tests/data, in name order."""
    files = sorted(DATA.glob("cpu-2core-*.json"))
    assert len(files) >= 2, "tests/data should hold two real cifarbench result files"
    return files


def read_document(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def make_gpu_document(real: dict, label: str = BUILT_GPU_LABEL, gpm: dict | None = None) -> dict:
    """A GPU-like machine's document built from a real CPU document, for GPU code paths.

    The machine gets one GPU and its peaks; every forward, train_step and epoch case is
    copied to `cuda:0` with a throughput that grows with the batch size, GPU utilization,
    power and energy, and a timeline of 20 samples; epochs record `pin_memory=True`, as real
    CUDA epochs do. The CPU cases stay as measured, so the
    GPU-over-CPU speedup has its pairs. The numbers are made up: only their shapes matter.
    `gpm`, when given, is written as every GPU case's `extra_info["gpm"]` as it is.
    """
    document = copy.deepcopy(real)
    facts = document["machine_info"]["cifarbench"]
    facts["label"] = label
    facts["gpus"] = [{"index": 0, "name": "Built GPU", "memory_total_mib": 81_920.0, "driver": "000.00",
                      "power_limit_w": 300.0}]
    facts["peak_tflops"]["cuda:0"] = {"float32": 40.0, "bfloat16": 300.0}
    facts["price_per_hour"] = 2.5
    samples = 20
    built = []
    for benchmark in document["benchmarks"]:
        params = benchmark.get("params") or {}
        if benchmark.get("group") not in ("forward", "train_step", "epoch") or params.get("device") != "cpu":
            continue
        gpu = copy.deepcopy(benchmark)
        gpu["params"]["device"] = "cuda:0"
        gpu["name"] = gpu["name"].replace("-cpu-", "-cuda:0-")
        gpu["fullname"] = gpu["fullname"].replace("-cpu-", "-cuda:0-")
        info = gpu["extra_info"]
        factor = 3.0 * math.sqrt(params["batch_size"])
        info["images_per_sec"] *= factor
        if "achieved_tflops" in info:
            info["achieved_tflops"] *= factor
        if "full_epoch_seconds" in info:
            info["full_epoch_seconds"] /= factor
        info["device_name"] = "Built GPU"
        if gpu["group"] == "epoch":
            info["pin_memory"] = True  # a real CUDA epoch pins host memory and records it
        info["peak_mem_mib"] = 512.0
        busy_pct = min(95.0, 20.0 + params["batch_size"] / 2)
        utilization = info.setdefault("utilization", {})
        utilization["gpu_util_pct"] = {"mean": busy_pct, "p50": busy_pct, "p95": busy_pct, "max": busy_pct,
                                       "n": samples}
        utilization["gpu_power_w"] = {"mean": 150.0, "p50": 150.0, "p95": 160.0, "max": 170.0, "n": samples}
        info["timeline"] = {
            "t_s": [index * 0.1 for index in range(samples)],
            "gpu_util_pct": [busy_pct + 5 * math.sin(index) for index in range(samples)],
            "cpu_pct": [50.0] * samples,
            "workers_cpu_pct": [90.0] * samples,
        }
        if gpm is not None:
            info["gpm"] = copy.deepcopy(gpm)
        info["energy_j_per_round"] = 150.0 * gpu["stats"]["median"]
        info["images_per_joule"] = info["images_per_round"] / info["energy_j_per_round"]
        built.append(gpu)
    document["benchmarks"].extend(built)
    return document


def gpu_records() -> list[Record]:
    """Records of a GPU-shaped machine built from the first real file (see make_gpu_document)."""
    return records_from_document(make_gpu_document(read_document(real_files()[0])), BUILT_GPU_FILE)


def xss_document(real: dict) -> dict:
    """A copy of a real document whose label and one parameter are a script tag."""
    document = copy.deepcopy(real)
    document["machine_info"]["cifarbench"]["label"] = XSS
    for benchmark in document["benchmarks"]:
        if benchmark.get("group") == "epoch":
            benchmark["params"]["model"] = XSS
            break
    return document


def test_real_files_are_cifarbench_sweeps_kept_small():
    for path in real_files():
        document = read_document(path)
        assert document["machine_info"]["cifarbench"]["label"] in path.name
        assert document["cifarbench"]["complete"] is True
        assert {benchmark["group"] for benchmark in document["benchmarks"]} >= {"loader", "train_step", "epoch"}
        assert path.stat().st_size < 400_000


def test_foreign_file_is_pytest_benchmark_json_without_cifarbench_fields():
    document = read_document(FOREIGN)
    assert "cifarbench" not in document
    assert "cifarbench" not in document["machine_info"]
    assert document["benchmarks"]
    assert all("stats" in benchmark for benchmark in document["benchmarks"])


def test_broken_file_is_truncated_json():
    text = BROKEN.read_text(encoding="utf-8")
    assert text.lstrip().startswith("{")
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return
    raise AssertionError(f"{BROKEN} should not parse")


def test_gpu_builder_adds_cuda_cases_and_says_it_is_built():
    records = gpu_records()
    devices = {record.benchmark["params"].get("device") for record in records}
    assert {"cpu", "cuda:0"} <= devices
    assert {record.machine for record in records} == {BUILT_GPU_LABEL}
    assert all(record.file == BUILT_GPU_FILE for record in records)
