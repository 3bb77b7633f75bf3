"""GPU activity in the report: NVML's utilization.gpu labelled as what it is, GPM's figures beside it.

There is no real GPU result file in tests/data: these are unit tests of the display, on GPU-like
cases built in memory from a real CPU file (`make_gpu_document`) with a made-up `gpm` reading.
Nothing built here is committed to tests/data.
"""

import json

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pytest

from reports import charts
from reports.__main__ import main
from reports.load import load_records, records_from_document
from reports.report import build_report_data
from reports.tidy import GPM_METRICS, tidy
from tests.test_report_data import BUILT_GPU_FILE, BUILT_GPU_LABEL, make_gpu_document, read_document, real_files

READING = {"supported": True, "reason": None, "sm_active_pct": 41.0, "sm_occupancy_pct": 23.0,
           "tensor_active_pct": 12.5, "dram_bw_util_pct": 8.0}
UNSUPPORTED = {"supported": False, "reason": "GPM not recorded: this GPU does not support GPM (Hopper and later do)",
               "sm_active_pct": None, "sm_occupancy_pct": None, "tensor_active_pct": None, "dram_bw_util_pct": None}


def gpu_data(gpm):
    document = make_gpu_document(read_document(real_files()[0]), gpm=gpm)
    return build_report_data(records_from_document(document, BUILT_GPU_FILE))


def column(table, name) -> list[str]:
    names = [found.name for found in table.columns]
    return [row[names.index(name)] for row in table.rows] if name in names else []


def group_table(data, group):
    return next(found.table for found in data.groups if found.group == group)


@pytest.fixture(scope="module")
def with_gpm():
    return gpu_data(READING)


def test_gpu_utilization_is_labelled_kernel_active(with_gpm):
    epochs = group_table(with_gpm, "epoch")
    [header] = [found for found in epochs.columns if found.name == "gpu_util_pct_mean"]
    assert header.title == "GPU kernel active (% of time)"
    evidence = " ".join(column(with_gpm.verdicts, "evidence"))
    assert "by NVML's count of time a kernel was active" in evidence
    assert "GPU kernel active" in charts.UTILIZATION_LABELS.values()
    heatmap = next(chart for chart in with_gpm.charts if chart.key == "utilization_heatmap_gpu_util_pct_mean")
    assert heatmap.title == "GPU kernel-active time by batch size and workers"
    assert "one small kernel at a time reads 100%" in heatmap.sentence


def test_gpm_figures_show_beside_it(with_gpm):
    for group in ("forward", "train_step", "epoch"):
        table = group_table(with_gpm, group)
        cuda = [index for index, device in enumerate(column(table, "device")) if device == "cuda:0"] or range(
            len(table.rows))
        for name, shown in (("sm_active_pct", "41%"), ("sm_occupancy_pct", "23%"), ("tensor_active_pct", "12%"),
                            ("dram_bw_util_pct", "8.0%")):
            cells = column(table, name)
            assert {cells[index] for index in cuda} == {shown}, (group, name)
    assert "SM active 41% and tensor pipes active 12%" in " ".join(column(with_gpm.verdicts, "evidence"))
    bars = next(chart for chart in with_gpm.charts if chart.key == "utilization_by_machine")
    assert "SMs and tensor pipes active (GPM)" in bars.sentence


def test_an_unsupported_gpu_says_why_and_shows_no_empty_columns():
    data = gpu_data(UNSUPPORTED)
    epochs = group_table(data, "epoch")
    assert not {"sm_active_pct", "tensor_active_pct"} & {found.name for found in epochs.columns}
    assert (f"SM activity, occupancy, tensor pipes and DRAM bandwidth (GPM) not recorded on {BUILT_GPU_LABEL} "
            "cuda:0: this GPU does not support GPM (Hopper and later do).") in epochs.notes


def test_a_reading_per_cuda_index_and_the_sampled_series_are_read():
    document = make_gpu_document(read_document(real_files()[0]), gpm={"0": READING, "1": UNSUPPORTED})
    frame = tidy(records_from_document(document, BUILT_GPU_FILE))
    cuda = frame[frame["device"] == "cuda:0"]
    assert (cuda["sm_active_pct"] == 41.0).all()
    assert cuda["gpm_reason"].isna().all()
    for benchmark in document["benchmarks"]:
        info = benchmark["extra_info"]
        if info.pop("gpm", None) is not None:  # no window reading: the sampled series' mean stands in
            info["utilization"]["gpu_sm_active_pct"] = {"mean": 55.0, "p50": 55.0, "p95": 60.0, "max": 61.0, "n": 5}
    frame = tidy(records_from_document(document, BUILT_GPU_FILE))
    assert (frame.loc[frame["device"] == "cuda:0", "sm_active_pct"] == 55.0).all()
    assert frame.loc[frame["device"] == "cpu", list(GPM_METRICS)].isna().all().all()


def test_the_command_line_shows_gpm_from_a_file_on_disk(tmp_path, capsys):
    built = make_gpu_document(read_document(real_files()[0]), gpm=READING)
    (tmp_path / "built-gpu.json").write_text(json.dumps(built), encoding="utf-8")
    assert load_records([tmp_path])  # a readable result file
    output = tmp_path / "report.html"
    assert main([str(tmp_path), "-o", str(output)]) == 0
    page = output.read_text(encoding="utf-8")
    for text in ("GPU kernel active", "SM active", "SM occupancy", "tensor pipes active", "DRAM bandwidth"):
        assert text in page
    assert "GPU busy<" not in page
