"""The report on a real GPU machine: the H200's recorded smoke sweep (tests/data/recorded/h200-lease_*).

NVML's utilization.gpu labelled as what it is (kernel active), GPM's figures beside it, the
GPU-over-CPU speed-up, the verdicts (launch-bound at the tutorial's batch 4, compute-bound at
batch 16,384 on the device pipeline), energy, and the answer. Expected values are read from
the file, not typed in. Two display variants change the real file's GPM readings (a GPU that
refuses GPM, several CUDA indices): their readings are stated as such.
"""

import json
import shutil

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pytest

from reports.__main__ import main
from reports.page.build import build_report_data
from reports.page.charts import utilization
from reports.page.columns import COLUMNS
from reports.page.display import percent
from reports.reading.load import load_records, records_from_document
from reports.reading.tidy import GPM_METRICS, tidy
from tests.report_data import GPU_FILE, GPU_LABEL, gpu_document, gpu_records

UNSUPPORTED = {"supported": False, "reason": "GPM not recorded: this GPU does not support GPM (Hopper and later do)",
               "sm_active_pct": None, "sm_occupancy_pct": None, "tensor_active_pct": None, "dram_bw_util_pct": None}
GPM_COLUMNS = ("sm_active_pct", "sm_occupancy_pct", "tensor_active_pct", "dram_bw_util_pct")


def column(table, name) -> list[str]:
    names = [found.name for found in table.columns]
    return [row[names.index(name)] for row in table.rows] if name in names else []


def group_table(data, group):
    return next(found.table for found in data.groups if found.group == group)


def recorded(group: str, name_part: str) -> dict:
    """The one recorded benchmark of `group` whose name contains `name_part`."""
    [found] = [bench for bench in gpu_document()["benchmarks"]
               if bench["group"] == group and name_part in bench["name"]]
    return found


def verdict_row(data, configuration: str) -> dict:
    names = [found.name for found in data.verdicts.columns]
    [row] = [row for row in data.verdicts.rows if row[names.index("device")] == "cuda:0"
             and row[names.index("configuration")] == configuration]
    return dict(zip(names, row, strict=True))


@pytest.fixture(scope="module")
def data():
    return build_report_data(gpu_records())


def test_gpu_utilization_is_labelled_kernel_active(data):
    epochs = group_table(data, "epoch")
    [header] = [found for found in epochs.columns if found.name == "gpu_util_pct_mean"]
    assert header.title == "GPU kernel active (% of time)"
    evidence = " ".join(column(data.verdicts, "evidence"))
    assert "by NVML's count of time a kernel was active" in evidence
    assert "GPU kernel active" in utilization.UTILIZATION_LABELS.values()
    heatmap = next(chart for chart in data.charts if chart.key == "utilization_heatmap_gpu_util_pct_mean")
    assert heatmap.title == "GPU kernel-active time by batch size and workers"
    assert "one small kernel at a time reads 100%" in heatmap.sentence


def test_gpm_figures_show_beside_it_as_recorded(data):
    for group in ("forward", "train_step", "epoch"):
        table = group_table(data, group)
        devices = column(table, "device")
        shown = {name: {cell for cell, device in zip(column(table, name), devices, strict=True) if device == "cuda:0"}
                 for name in GPM_COLUMNS}
        readings = [bench["extra_info"]["gpm"] for bench in gpu_document()["benchmarks"]
                    if bench["group"] == group and bench["params"]["device"] == "cuda:0"]
        assert readings
        assert all(reading["supported"] for reading in readings)  # the H200 supports GPM
        for name in GPM_COLUMNS:
            assert shown[name] == {COLUMNS[name].format(reading[name]) for reading in readings}, (group, name)
    best = recorded("epoch", "cuda:0-device-tutorial-bs16384")["extra_info"]["gpm"]
    assert (f"SM active {percent(best['sm_active_pct'])} and tensor pipes active "
            f"{percent(best['tensor_active_pct'])}") in verdict_row(data, "batch 16384, device pipeline")["evidence"]
    bars = next(chart for chart in data.charts if chart.key == "utilization_by_machine")
    assert "SMs and tensor pipes active (GPM)" in bars.sentence


def test_the_gpu_over_cpu_speedup_pairs_the_same_settings(data):
    # The tutorial's own settings (PIL, batch 4, 2 workers) on cuda:0 against the CPU.
    on_gpu = recorded("epoch", "cuda:0-pil-tutorial-bs4-w2")["extra_info"]["images_per_sec"]
    on_cpu = recorded("epoch", "cpu-pil-tutorial-bs4-w2")["extra_info"]["images_per_sec"]
    chart = next(found for found in data.charts if found.key == "gpu_speedup")
    assert chart.title
    frame = tidy(gpu_records())
    row = frame[(frame["group"] == "epoch") & (frame["device"] == "cuda:0") & (frame["loader"] == "pil")
                & (frame["num_workers"] == 2)].iloc[0]
    assert row["speedup_vs_cpu"] == pytest.approx(on_gpu / on_cpu)


def test_the_verdicts_tell_launches_from_compute(data):
    tutorial = verdict_row(data, "batch 4, 2 workers, pil pipeline")
    busy = recorded("epoch", "cuda:0-pil-tutorial-bs4-w2")["extra_info"]["utilization"]["gpu_util_pct"]["mean"]
    assert busy < 50  # the GPU ran kernels under half the time
    assert tutorial["verdict"] == "launch-bound"
    assert f"the GPU runs kernels only {percent(busy)} of the epoch's time" in tutorial["evidence"]
    assert "noisy: other processes used" in tutorial["evidence"]  # its own trust reason, not a spread
    best = verdict_row(data, "batch 16384, device pipeline")
    assert best["verdict"] == "compute-bound"
    names = [found.name for found in data.answer.columns]
    [answer] = [dict(zip(names, row, strict=True)) for row in data.answer.rows
                if row[names.index("device")] == "cuda:0"]
    assert answer["configuration"] == "batch 16384, device pipeline"
    assert answer["limit"].startswith("compute")


def test_the_best_row_carries_the_trust_of_its_own_figures(data):
    best = recorded("epoch", "cuda:0-device-tutorial-bs16384")["extra_info"]["trust"]["level"]
    tutorial = recorded("epoch", "cuda:0-pil-tutorial-bs4-w2")["extra_info"]["trust"]["level"]
    levels = ("ok", "noisy", "invalid")
    worst = max(best, tutorial, key=levels.index)
    names = [found.name for found in data.answer.columns]
    [answer] = [row for row in data.answer.rows if row[names.index("device")] == "cuda:0"]
    assert answer[names.index("trust")] == worst  # the epoch and the tutorial's settings its speed-up divides by


def test_energy_per_epoch_and_images_per_joule_come_from_the_recorded_energy():
    frame = tidy(gpu_records())
    step = recorded("train_step", "cuda:0-bs16384-fp32-nchw-eager")["extra_info"]
    assert step["energy_j"] > 0
    row = frame[(frame["group"] == "train_step") & (frame["device"] == "cuda:0") & (frame["batch_size"] == 16384)
                & (frame["compile"] == "eager")].iloc[0]
    assert row["images_per_joule"] == pytest.approx(step["images_per_joule"])
    epochs = frame[(frame["group"] == "epoch") & (frame["device"] == "cuda:0")]
    assert epochs["joules_per_epoch"].notna().all()


def test_an_unsupported_gpu_says_why_and_shows_no_empty_columns():
    document = gpu_document()
    for benchmark in document["benchmarks"]:
        info = benchmark["extra_info"]
        if "gpm" in info:  # as a GPU without GPM records it: the reason, and no sampled GPM series
            info["gpm"] = dict(UNSUPPORTED)
            for name in GPM_COLUMNS:
                info["utilization"].pop(f"gpu_{name}", None)
    data = build_report_data(records_from_document(document, "no-gpm.json"))
    epochs = group_table(data, "epoch")
    assert not {"sm_active_pct", "tensor_active_pct"} & {found.name for found in epochs.columns}
    assert (f"SM activity, occupancy, tensor pipes and DRAM bandwidth (GPM) not recorded on {GPU_LABEL} "
            "cuda:0: this GPU does not support GPM (Hopper and later do).") in epochs.notes


def test_a_reading_per_cuda_index_and_the_sampled_series_are_read():
    document = gpu_document()
    readings = {}
    for benchmark in document["benchmarks"]:
        info = benchmark["extra_info"]
        if isinstance(info.get("gpm"), dict) and info["gpm"].get("supported"):
            readings[benchmark["name"]] = info["gpm"]["sm_active_pct"]
            info["gpm"] = {"0": info["gpm"], "1": dict(UNSUPPORTED)}  # as a two-GPU sampler records it
    frame = tidy(records_from_document(document, "two-gpus.json"))
    cuda = frame[frame["name"].isin(list(readings))]
    assert list(cuda["sm_active_pct"]) == pytest.approx([readings[name] for name in cuda["name"]])
    assert cuda["gpm_reason"].isna().all()
    for benchmark in document["benchmarks"]:
        info = benchmark["extra_info"]
        if info.pop("gpm", None) is not None:  # no window reading: the sampled series' mean stands in
            info["utilization"]["gpu_sm_active_pct"] = {"mean": 55.0, "p50": 55.0, "p95": 60.0, "max": 61.0, "n": 5}
    frame = tidy(records_from_document(document, "series.json"))
    assert (frame.loc[frame["name"].isin(list(readings)), "sm_active_pct"] == 55.0).all()
    assert frame.loc[frame["device"] == "cpu", list(GPM_METRICS)].isna().all().all()


def test_the_command_line_builds_the_gpu_report_from_the_file_on_disk(tmp_path):
    shutil.copy(GPU_FILE, tmp_path / GPU_FILE.name)
    assert load_records([tmp_path])
    output = tmp_path / "report.html"
    assert main([str(tmp_path), "-o", str(output)]) == 0
    page = output.read_text(encoding="utf-8")
    for text in ("GPU kernel active", "SM active", "SM occupancy", "tensor pipes active", "DRAM bandwidth",
                 "NVIDIA H200", "launch-bound"):
        assert text in page
    assert "GPU busy<" not in page
    best = recorded("epoch", "cuda:0-device-tutorial-bs16384")["extra_info"]["images_per_sec"]
    assert best > 1_000_000  # the lease's fastest epoch passed 1M images/s ...
    answer = page[page.index('id="answer"'):page.index("</table>", page.index('id="answer"'))]
    assert "1.2M" in answer  # ... and the answer's first row says so
    assert json.loads(GPU_FILE.read_text(encoding="utf-8"))["machine_info"]["cifarbench"]["label"] in answer


def test_the_machines_trust_line_gives_each_kind_of_reason_once_with_its_worst_case(data):
    # The sampler's own overhead cases measure the harness, not the machine: not in its trust.
    spreads = [reason for bench in gpu_document()["benchmarks"]
               if bench["extra_info"]["trust"]["level"] == "noisy" and bench["group"] != "sampler_overhead"
               for reason in bench["extra_info"]["trust"]["reasons"] if reason.startswith("the rounds spread")]
    # Written as sentences by the harness of the lease; read back into records by the contract's compatibility path.
    assert len(spreads) > 1  # several cases' rounds spread, each with its own figure
    [summary] = [found for found in data.summaries if found.name == GPU_LABEL]
    line = summary.trust_line
    assert line.count("The rounds spread") == 1
    assert f"(the worst of {len(spreads)} cases)" in line


def test_one_gpu_draws_no_scaling_line_but_keeps_its_ddp_row(data):
    ddp = [bench for bench in gpu_document()["benchmarks"] if bench["group"] == "ddp"]
    assert {bench["params"]["world_size"] for bench in ddp} == {1}  # one H200: one rank
    assert data.scaling  # the table keeps the row: one rank's DDP overhead and exposed all-reduce
    assert not data.scaling_chart.src
    assert "every data-parallel case ran one rank" in data.scaling_chart.reason


def test_the_summary_says_how_idle_the_gpu_is_at_the_tutorials_settings(data):
    tutorial = recorded("epoch", "cuda:0-pil-tutorial-bs4-w2")["extra_info"]["utilization"]["gpu_util_pct"]["mean"]
    best = recorded("epoch", "cuda:0-device-tutorial-bs16384")["extra_info"]["utilization"]["gpu_util_pct"]["mean"]
    [summary] = [found for found in data.summaries if found.name == GPU_LABEL]
    [advice] = [line for line in summary.advice if "cuda:0" in line]
    assert f"At those the GPU runs kernels {percent(tutorial)} of the time, here {percent(best)}." in advice


def test_where_the_time_goes_says_how_long_the_gpu_runs_kernels(data):
    busy = recorded("epoch", "cuda:0-pil-tutorial-bs4-w2")["extra_info"]["utilization"]["gpu_util_pct"]["mean"]
    [sentence] = [line for line in data.phase_sentences if line.startswith(f"{GPU_LABEL} · cuda:0")]
    assert f"waiting for input and runs kernels {percent(busy)} of the time" in sentence


def test_steps_slowed_by_workers_competing_for_the_cores_are_said(data):
    # The H200 host's CPU at the tutorial's settings: 16 torch threads beside 2 workers.
    names = [found.name for found in data.verdicts.columns]
    [row] = [dict(zip(names, row, strict=True)) for row in data.verdicts.rows
             if row[names.index("device")] == "cpu" and row[names.index("configuration")] ==
             "batch 4, 2 workers, pil pipeline"]
    assert "the 2 workers and torch's threads compete for the cores" in row["evidence"]
    assert "torch.set_num_threads" in row["evidence"]
