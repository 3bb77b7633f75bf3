"""The report tests' inputs (tests/report_data.py) are what they say: real files, kept small."""

import json

from tests.report_data import BROKEN, FOREIGN, GPU_FILE, GPU_LABEL, gpu_document, gpu_records, read_document, real_files


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


def test_the_gpu_file_is_a_real_h200_smoke_sweep():
    document = gpu_document()
    facts = document["machine_info"]["cifarbench"]
    assert facts["label"] == GPU_LABEL
    assert [gpu["name"] for gpu in facts["gpus"]] == ["NVIDIA H200"]
    assert document["cifarbench"]["preset"] == "smoke"
    assert document["cifarbench"]["complete"] is True
    cases = {(bench["group"], bench["params"].get("device")) for bench in document["benchmarks"]}
    assert {("epoch", "cpu"), ("epoch", "cuda:0"), ("train_step", "cuda:0"), ("ddp", "cuda")} <= cases
    assert GPU_FILE.stat().st_size < 400_000
    records = gpu_records()
    assert {record.machine for record in records} == {GPU_LABEL}
