"""reports.reading: records -> one long DataFrame (the contract), the machines frame, the cases not measured,
timelines."""

import copy
import json
import math

import pandas as pd
import pytest

from reports.reading.load import records_from_document
from reports.reading.machines import machines_frame
from reports.reading.not_measured import cases_not_measured
from reports.reading.tidy import (
    FULL_EPOCH_IMAGES,
    TIDY_COLUMNS,
    UTILIZATION_METRICS,
    tidy,
)
from reports.reading.timelines import select_timeline_cases, timelines
from tests.report_data import (
    DATA,
    FOREIGN,
    GPU_LABEL,
    gpu_document,
    gpu_records,
    read_document,
    real_files,
)

# The columns the analysis and the page code against: never renamed.
CONTRACT = [
    "machine", "file", "run_started", "group", "name", "device", "device_kind", "device_name", "model",
    "batch_size", "num_workers", "loader", "transform", "pin_memory", "amp", "channels_last", "median_s",
    "images_per_round", "images_per_sec", "flops_per_image", "achieved_tflops", "peak_tflops",
    "fraction_of_peak", "full_epoch_seconds", "full_epoch_projected", "eval_accuracy", "train_loss",
    "first_batch_seconds", "peak_mem_mib", "energy_j_per_round", "images_per_joule", "joules_per_epoch",
    "price_per_hour", "cpu_threads", "cpu_brand", "gpu_name", "cifarbench", "gpu_util_pct_mean",
    "cpu_pct_mean", "workers_cpu_pct_mean", "gpu_power_w_mean", "speedup_vs_cpu",
]


@pytest.fixture(scope="module")
def frame(real_records):
    return tidy(real_records)


@pytest.fixture(scope="module")
def gpu_frame(real_records):
    return tidy([*real_records, *gpu_records()])


def test_contract_columns_are_all_there(frame):
    assert set(CONTRACT) <= set(frame.columns)
    assert list(frame.columns[:len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    for metric in UTILIZATION_METRICS:
        for stat in ("mean", "p95", "max"):
            assert f"{metric}_{stat}" in frame.columns


def test_one_row_per_case_per_machine(frame, real_records):
    assert len(frame) == len(real_records)
    assert not frame.duplicated(["machine", "group", "name"]).any()
    for path in real_files():
        document = read_document(path)
        label = document["machine_info"]["cifarbench"]["label"]
        assert (frame["machine"] == label).sum() == len(document["benchmarks"])


def test_parameters_are_columns_and_missing_axes_are_empty(frame):
    ours = frame[frame["cifarbench"]]
    loader = ours[ours["group"] == "loader"]
    assert loader["model"].isna().all()
    assert loader["amp"].isna().all()
    assert loader["batch_size"].notna().all()
    assert loader["num_workers"].notna().all()
    step = ours[ours["group"] == "train_step"]
    assert step["num_workers"].isna().all()
    assert step["loader"].isna().all()
    assert set(step["amp"]) == {False}
    epoch = ours[ours["group"] == "epoch"]
    assert epoch[["model", "device", "loader", "transform", "batch_size", "num_workers"]].notna().all().all()


def test_loader_rows_sit_on_their_data_device(frame):
    loader = frame[frame["group"] == "loader"]
    assert set(loader["device"]) == {"cpu"}
    assert set(loader["device_kind"]) == {"cpu"}


def test_derived_figures_are_computed_once_here(frame):
    rows = frame[frame["group"].isin(["forward", "train_step", "epoch"])]
    assert rows["peak_tflops"].notna().all()
    expected = rows["achieved_tflops"] / rows["peak_tflops"]
    assert (rows["fraction_of_peak"] - expected).abs().max() < 1e-12
    epoch = frame[frame["group"] == "epoch"]
    assert epoch["full_epoch_seconds"].notna().all()
    assert epoch["full_epoch_projected"].isin([True, False]).all()
    known = frame[frame["cifarbench"] & frame["group"].isin(["loader", "forward", "train_step", "epoch"])]
    assert known["images_per_sec"].notna().all()


def test_foreign_rows_keep_their_timings_and_nothing_else(frame):
    foreign = frame[~frame["cifarbench"]]
    assert len(foreign) == len(read_document(FOREIGN)["benchmarks"])
    assert foreign["median_s"].notna().all()
    assert foreign["images_per_sec"].isna().all()
    assert foreign["device"].isna().all()
    assert foreign["params"].dropna().str.contains("=").all()


def test_gpu_rows_get_their_gpu_peak_and_speedup_over_the_same_machines_cpu(gpu_frame):
    machine = gpu_frame[gpu_frame["machine"] == GPU_LABEL]
    cuda = machine[machine["device_kind"] == "cuda"]
    assert not cuda.empty
    assert set(cuda["gpu_name"]) == {"NVIDIA H200"}
    peaks = gpu_document()["machine_info"]["cifarbench"]["peak_tflops"]["cuda:0"]
    step = cuda[(cuda["group"] == "train_step") & (cuda["batch_size"] == 4)].iloc[0]
    assert step["peak_tflops"] == peaks["float32"]  # amp is off
    # The smoke preset measures the tutorial's batch 4 on both: the GPU-over-CPU speed-up's pair.
    cpu = machine[(machine["group"] == "train_step") & (machine["device"] == "cpu")
                  & (machine["batch_size"] == 4)].iloc[0]
    assert step["speedup_vs_cpu"] == pytest.approx(step["images_per_sec"] / cpu["images_per_sec"])
    assert cpu["gpu_name"] == "NVIDIA H200"  # the machine's GPU, for a CPU row too
    assert math.isnan(cpu["speedup_vs_cpu"])
    # The tutorial's own epoch (PIL, 2 workers): GPU over CPU, pinned memory on the GPU only.
    epochs = machine[(machine["group"] == "epoch") & (machine["loader"] == "pil") & (machine["num_workers"] == 2)]
    on_gpu = epochs[epochs["device_kind"] == "cuda"].iloc[0]
    on_cpu = epochs[epochs["device"] == "cpu"].iloc[0]
    assert on_gpu["speedup_vs_cpu"] == pytest.approx(on_gpu["images_per_sec"] / on_cpu["images_per_sec"])
    assert cuda[cuda["group"].isin(["forward", "train_step", "epoch"])]["gpu_util_pct_mean"].notna().all()
    energy = cuda[cuda["joules_per_epoch"].notna()].iloc[0]
    assert energy["joules_per_epoch"] == pytest.approx(
        energy["energy_j_per_round"] / energy["images_per_round"] * FULL_EPOCH_IMAGES)
    assert machine["price_per_hour"].isna().all()  # the lease gave no price


def test_amp_rows_use_the_bfloat16_peak():
    # The smoke preset has no bf16 case: its real H200 train steps are marked amp, which is
    # what selects the bf16 peak (their timings are fp32's; only the lookup is tested).
    document = gpu_document()
    for benchmark in document["benchmarks"]:
        if benchmark["group"] == "train_step" and benchmark["params"]["device"] == "cuda:0":
            benchmark["params"]["amp"] = True
    frame = tidy(records_from_document(document, "amp.json"))
    amp = frame[(frame["group"] == "train_step") & (frame["device"] == "cuda:0")]
    peaks = document["machine_info"]["cifarbench"]["peak_tflops"]["cuda:0"]
    assert set(amp["peak_tflops"]) == {peaks["bfloat16"]}
    assert amp["speedup_vs_cpu"].isna().all()  # no CPU row with amp on: nothing equal to compare with


def test_the_newest_run_wins_when_a_machine_measured_a_case_twice():
    document = read_document(real_files()[0])
    older = records_from_document(document, "old.json")
    newer_document = read_document(real_files()[0])
    newer_document["cifarbench"]["started"] = "2030-01-01T00:00:00+00:00"
    newer = records_from_document(newer_document, "new.json")
    frame = tidy([*newer, *older])
    assert len(frame) == len(document["benchmarks"])
    assert set(frame["file"]) == {"new.json"}


def test_machines_frame_has_one_row_per_machine(real_records):
    machines = machines_frame([*real_records, *gpu_records()])
    assert machines["machine"].is_unique
    assert len(machines) == 4  # two real CPU machines, the foreign file's node, the H200
    ours = machines[machines["cifarbench"]].set_index("machine")
    gpu = ours.loc[GPU_LABEL]
    assert gpu["gpus"] == "1 x NVIDIA H200 (140 GiB)"
    assert gpu["driver"] == "580.159.04"
    assert gpu["peak_tflops"]["cuda:0"] == gpu_document()["machine_info"]["cifarbench"]["peak_tflops"]["cuda:0"]
    for path in real_files():
        facts = read_document(path)["machine_info"]["cifarbench"]
        row = ours.loc[facts["label"]]
        assert row["cpu"] == facts["cpu_brand"]
        assert row["torch"] == facts["versions"]["torch"]
        assert row["files"] == 1


def test_timelines_of_selected_cases_come_back_long_form(real_records, gpu_frame):
    records = [*real_records, *gpu_records()]
    cases = select_timeline_cases(gpu_frame)
    assert not cases.empty
    assert (cases["timeline_points"] >= 2).all()
    assert cases.iloc[0]["device_kind"] == "cuda"  # GPUs first
    long = timelines(records, cases)
    assert list(long.columns) == ["case", "machine", "name", "t_s", "metric", "value"]
    assert {"gpu_util_pct", "cpu_pct"} <= set(long["metric"])
    assert long["case"].nunique() == len(cases)


def test_empty_selection_gives_an_empty_timeline_frame(real_records, frame):
    long = timelines(real_records, frame.iloc[0:0])
    assert long.empty
    assert "metric" in long.columns


def test_cases_not_measured_lists_skips_with_their_reason(real_records):
    document = read_document(real_files()[0])
    document["cifarbench"]["cases"].append({
        "nodeid": "bench/bench_step.py::bench_train_step[tutorial-cuda:0-bs4-fp32-nchw]", "group": "train_step",
        "params": {"device": "cuda:0"}, "when": "setup", "outcome": "skipped",
        "reason": "cuda:0: CUDA is not available on this machine", "duration_s": 0.0})
    table = cases_not_measured(records_from_document(document, "edited.json"))
    assert list(table["reason"]) == ["cuda:0: CUDA is not available on this machine"]
    assert cases_not_measured(real_records).empty or set(cases_not_measured(real_records)["outcome"]) <= {
        "skipped", "failed"}


def test_no_records_give_an_empty_frame_with_the_contract():
    frame = tidy([])
    assert frame.empty
    assert set(CONTRACT) <= set(frame.columns)
    assert isinstance(frame, pd.DataFrame)


def test_timelines_come_in_the_order_of_the_cases_asked_for(gpu_frame, real_records):
    cases = select_timeline_cases(gpu_frame)
    long = timelines([*real_records, *gpu_records()], cases)
    drawn = list(dict.fromkeys(long["case"]))
    assert drawn[0].startswith(f"{GPU_LABEL} · cuda:0")  # CUDA first, as selected, not as filed
    assert len(drawn) == len(cases)


def test_a_gpu_epoch_pinning_memory_finds_its_cpu_epoch_for_the_speedup():
    """Real CUDA epochs record pin_memory=True; the CPU epoch of the same configuration False."""
    document = json.loads((DATA / "cpu-2core-a_20261124T141651Z.json").read_text(encoding="utf-8"))
    cpu_epoch = next(b for b in document["benchmarks"] if b["group"] == "epoch")
    gpu_epoch = copy.deepcopy(cpu_epoch)  # a synthetic row, shaped as a real CUDA epoch records itself
    gpu_epoch["params"]["device"] = "cuda:0"
    gpu_epoch["name"] = gpu_epoch["fullname"] = "bench_epoch[synthetic-cuda]"
    gpu_epoch["extra_info"]["pin_memory"] = True
    gpu_epoch["extra_info"]["images_per_sec"] = cpu_epoch["extra_info"]["images_per_sec"] * 4
    document["benchmarks"] = [cpu_epoch, gpu_epoch]
    frame = tidy(records_from_document(document, "synthetic"))
    gpu = frame[frame["device"] == "cuda:0"].iloc[0]
    assert gpu["pin_memory"] is True
    assert gpu["speedup_vs_cpu"] == pytest.approx(4.0)
