"""The diagnosis on frames built for known situations, the prices file, and real result files.

Frames are built with the tidy frame's columns (`reports.tidy.COLUMNS`), one row per case,
so each test reads as the situation it describes: a GPU starved by its loader, a CPU busy
computing, a sweep too small to tell. Nothing here times anything.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import matplotlib as mpl
import pandas as pd
import pytest
from matplotlib import pyplot
from matplotlib.figure import Figure

from reports.diagnosis import THRESHOLDS, TUTORIAL_SETTINGS, diagnose
from reports.load import load_records
from reports.prices import load_prices
from reports.tidy import COLUMNS, FULL_EPOCH_IMAGES, tidy

mpl.use("Agg")  # no display: figures are drawn off screen, as the report draws them

DATA = Path(__file__).parent / "data"
GPU = "gpu-box"
CPU = "cpu-box"


# --- a small builder of tidy rows ------------------------------------------------------------------


def _base(machine: str, group: str, images_per_sec: float, **values) -> dict:
    row = {"machine": machine, "group": group, "name": f"{group}-case", "cifarbench": True,
           "images_per_sec": images_per_sec, "images_per_round": images_per_sec,
           "median_s": 1.0, "cpu_brand": "Test CPU", "cpu_threads": 8}
    if machine == GPU:
        row["gpu_name"] = "Test GPU"
    row.update(values)
    return row


def loader(machine, images_per_sec, loader="pil", batch_size=4, num_workers=2, pin_memory=False,
           transform="tutorial", device="cpu"):
    return _base(machine, "loader", images_per_sec, loader=loader, batch_size=batch_size,
                 num_workers=num_workers, pin_memory=pin_memory, transform=transform, device=device,
                 device_kind="cuda" if device.startswith("cuda") else "cpu")


def step(machine, images_per_sec, device="cuda:0", model="tutorial", batch_size=4, amp=False,
         channels_last=False, fraction_of_peak=None, achieved_tflops=None):
    return _base(machine, "train_step", images_per_sec, device=device, model=model, batch_size=batch_size,
                 amp=amp, channels_last=channels_last, fraction_of_peak=fraction_of_peak,
                 achieved_tflops=achieved_tflops, device_kind="cuda" if device.startswith("cuda") else "cpu")


def epoch(machine, images_per_sec, device="cuda:0", model="tutorial", batch_size=4, num_workers=2,
          loader="pil", transform="tutorial", gpu_util_pct=None, price_per_hour=None, fraction_of_peak=None,
          achieved_tflops=None, joules_per_epoch=None):
    cuda = device.startswith("cuda")
    return _base(machine, "epoch", images_per_sec, device=device, model=model, batch_size=batch_size,
                 num_workers=num_workers, loader=loader, transform=transform,
                 pin_memory=cuda and loader != "device", device_kind="cuda" if cuda else "cpu",
                 gpu_util_pct_mean=gpu_util_pct, price_per_hour=price_per_hour,
                 full_epoch_seconds=FULL_EPOCH_IMAGES / images_per_sec, full_epoch_projected=False,
                 fraction_of_peak=fraction_of_peak, achieved_tflops=achieved_tflops,
                 joules_per_epoch=joules_per_epoch)


def frame(*rows: dict) -> pd.DataFrame:
    """Rows with every column of the tidy contract (NaN where a row has no value)."""
    built = pd.DataFrame(list(rows))
    extra = [column for column in built.columns if column not in COLUMNS]
    return built.reindex(columns=[*COLUMNS, *extra])


def starved_gpu() -> list[dict]:
    """The tutorial's settings on a big GPU: the loader serves 1.5k img/s, the step could take 60k."""
    return [loader(GPU, 1_500, pin_memory=True), step(GPU, 60_000),
            epoch(GPU, 1_400, gpu_util_pct=7.0)]


def busy_cpu() -> list[dict]:
    """A CPU whose loader serves 20k img/s while the step manages 2k."""
    return [loader(CPU, 20_000), step(CPU, 2_000, device="cpu"), epoch(CPU, 1_900, device="cpu")]


def only_verdict(df: pd.DataFrame) -> pd.Series:
    verdicts = diagnose(df).verdicts
    assert len(verdicts) == 1
    return verdicts.iloc[0]


# --- verdicts --------------------------------------------------------------------------------------


def test_a_loader_starved_gpu_is_input_bound_with_the_numbers_as_evidence():
    verdict = only_verdict(frame(*starved_gpu()))
    assert verdict["verdict"] == "input-bound"
    assert verdict["fraction_of_ceiling"] == pytest.approx(1_400 / 60_000)
    for words in ("GPU busy 7%", "loader 1.5k img/s against a 60k img/s step ceiling at batch 4",
                  "epoch 1.4k img/s"):
        assert words in verdict["evidence"]


def test_a_cpu_with_a_fast_loader_is_compute_bound():
    verdict = only_verdict(frame(*busy_cpu()))
    assert verdict["verdict"] == "compute-bound"
    assert verdict["fraction_of_ceiling"] == pytest.approx(0.95)
    assert "GPU" not in verdict["evidence"]


def test_close_ceilings_that_the_epoch_reaches_are_balanced():
    verdict = only_verdict(frame(loader(CPU, 2_100), step(CPU, 2_000, device="cpu"),
                                 epoch(CPU, 1_700, device="cpu")))
    assert verdict["verdict"] == "balanced"
    assert "within 10% of each other" in verdict["evidence"]


def test_a_loader_in_the_training_process_adds_its_time_to_the_steps():
    # Serial costs: 1 / (1/5k + 1/2k) = 1.4k img/s, although each ceiling alone allows 2k or more.
    verdict = only_verdict(frame(loader(CPU, 5_000, num_workers=0), step(CPU, 2_000, device="cpu"),
                                 epoch(CPU, 1_430, device="cpu", num_workers=0)))
    assert verdict["verdict"] == "balanced"
    assert "0 workers" in verdict["evidence"]


@pytest.mark.parametrize(("rows", "missing"), [
    ([step(GPU, 60_000), epoch(GPU, 1_400)], "loader ceiling"),
    ([loader(GPU, 1_500, pin_memory=True), epoch(GPU, 1_400)], "train-step ceiling"),
    ([loader(GPU, 1_500, pin_memory=True, num_workers=4), step(GPU, 60_000), epoch(GPU, 1_400)],
     "loader ceiling"),
], ids=["no-loader-rows", "no-train-step", "other-worker-count-only"])
def test_an_unmeasured_ceiling_gives_unknown_and_says_which(rows, missing):
    verdict = only_verdict(frame(*rows))
    assert verdict["verdict"] == "unknown"
    assert f"not measured: the {missing}" in verdict["evidence"]


def test_an_epoch_slightly_above_its_ceiling_keeps_its_verdict_with_a_caveat():
    verdict = only_verdict(frame(loader(CPU, 20_000), step(CPU, 2_000, device="cpu"), epoch(CPU, 2_200, device="cpu")))
    assert verdict["verdict"] == "compute-bound"
    assert "the ceiling is approximate" in verdict["evidence"]


@pytest.mark.parametrize(("rows", "words"), [
    ([loader(CPU, 20_000), step(CPU, 800, device="cpu"), epoch(CPU, 12_000, device="cpu")],
     "the epoch ran 15x faster than its train-step ceiling"),
    ([loader(CPU, 1_000), step(CPU, 20_000, device="cpu"), epoch(CPU, 1_500, device="cpu")],
     "the epoch ran 1.5x faster than its loader ceiling"),
    ([loader(CPU, 60_000), step(CPU, 3_000, device="cpu"), epoch(CPU, 130, device="cpu")],
     "serving and stepping explain only 4.5% of the epoch's time"),
], ids=["outran-step", "outran-loader", "unexplained"])
def test_ceilings_that_cannot_describe_the_epoch_give_unknown(rows, words):
    verdict = only_verdict(frame(*rows))
    assert verdict["verdict"] == "unknown"
    assert words in verdict["evidence"]


def test_the_summary_says_why_a_limit_is_unknown():
    [paragraph] = diagnose(frame(step(GPU, 60_000), epoch(GPU, 1_400))).summary_paragraphs
    assert "What limits it is unknown: not measured: the loader ceiling" in paragraph


def test_the_epochs_ceiling_is_the_fp32_nchw_step_not_a_faster_variant():
    rows = [*starved_gpu(), step(GPU, 120_000, amp=True), step(GPU, 90_000, channels_last=True)]
    assert only_verdict(frame(*rows))["step_images_per_sec"] == 60_000


@pytest.mark.parametrize(("epoch_images_per_sec", "expected"), [(1_900, "compute-bound"), (1_000, "balanced")])
def test_the_device_pipeline_has_no_separate_loader_ceiling(epoch_images_per_sec, expected):
    verdict = only_verdict(frame(step(GPU, 2_000), epoch(GPU, epoch_images_per_sec, loader="device",
                                                         num_workers=0)))
    assert verdict["verdict"] == expected
    assert "no separate loader ceiling" in verdict["evidence"]


def test_a_gpu_epoch_is_compared_with_the_pinned_loader_and_a_cpu_epoch_with_the_pageable_one():
    rows = [loader(GPU, 1_000, pin_memory=False), loader(GPU, 3_000, pin_memory=True),
            step(GPU, 60_000), epoch(GPU, 900), step(GPU, 2_000, device="cpu"), epoch(GPU, 800, device="cpu")]
    verdicts = diagnose(frame(*rows)).verdicts.set_index("device")
    assert verdicts.loc["cuda:0", "loader_images_per_sec"] == 3_000
    assert verdicts.loc["cpu", "loader_images_per_sec"] == 1_000


def test_when_only_the_other_memory_kind_was_measured_the_evidence_says_so():
    verdict = only_verdict(frame(loader(GPU, 1_500, pin_memory=False), step(GPU, 60_000), epoch(GPU, 1_400)))
    assert verdict["verdict"] == "input-bound"
    assert "pageable memory only" in verdict["evidence"]


def test_verdicts_have_the_documented_columns_and_plain_text():
    verdicts = diagnose(frame(*starved_gpu(), *busy_cpu())).verdicts
    assert list(verdicts.columns[:9]) == ["machine", "device", "model", "batch_size", "num_workers", "loader",
                                          "verdict", "fraction_of_ceiling", "evidence"]
    assert all(isinstance(text, str) for text in verdicts["evidence"])


def test_missing_utilization_columns_do_not_matter():
    df = frame(*starved_gpu()).drop(columns=[c for c in COLUMNS if c.startswith("gpu_util")])
    verdict = only_verdict(df)
    assert verdict["verdict"] == "input-bound"
    assert "GPU busy" not in verdict["evidence"]


# --- recommendations ---------------------------------------------------------------------------------


def sweep_on_gpu() -> list[dict]:
    """The tutorial's settings and two better ones, with loader rows for three worker counts."""
    return [
        epoch(GPU, 1_400, gpu_util_pct=7.0),  # the tutorial's own settings
        epoch(GPU, 9_000, batch_size=128, num_workers=4, loader="tensor", gpu_util_pct=60.0),
        epoch(GPU, 30_000, batch_size=512, num_workers=4, loader="tensor", gpu_util_pct=85.0,
              fraction_of_peak=0.2, achieved_tflops=12.0),
        loader(GPU, 1_500, pin_memory=True),
        *(loader(GPU, speed, loader="tensor", batch_size=512, num_workers=workers, pin_memory=True)
          for workers, speed in ((0, 20_000), (2, 80_000), (4, 95_000), (8, 100_000))),
        step(GPU, 60_000), step(GPU, 40_000, batch_size=512, fraction_of_peak=0.27, achieved_tflops=16.0),
        step(GPU, 72_000, batch_size=512, amp=True),
    ]


def only_recommendation(df: pd.DataFrame) -> pd.Series:
    recommendations = diagnose(df).recommendations
    assert len(recommendations) == 1
    return recommendations.iloc[0]


def test_the_recommendation_is_the_fastest_measured_epoch():
    df = frame(*sweep_on_gpu())
    recommendation = only_recommendation(df)
    assert (recommendation["batch_size"], recommendation["num_workers"], recommendation["loader"]) == (
        512, 4, "tensor")
    assert recommendation["images_per_sec"] == 30_000
    assert recommendation["speedup_vs_tutorial"] == pytest.approx(30_000 / 1_400)
    assert "21x the tutorial's own settings" in recommendation["text"]


def test_every_recommended_configuration_was_measured_as_an_epoch():
    rows = [*sweep_on_gpu(), *busy_cpu(), step(CPU, 5_000, device="cpu", batch_size=256, model="resnet18")]
    df = frame(*rows)
    epochs = df[df["group"] == "epoch"]
    measured = set(zip(epochs["machine"], epochs["device"], epochs["model"], epochs["batch_size"],
                       epochs["num_workers"], epochs["loader"], strict=True))
    recommendations = diagnose(df).recommendations
    configured = recommendations.dropna(subset=["batch_size"])
    assert len(configured) == 2
    for row in configured.itertuples():
        assert (row.machine, row.device, row.model, row.batch_size, row.num_workers, row.loader) in measured
    # A train step alone is not an epoch: nothing is recommended for resnet18.
    resnet = recommendations[recommendations["model"] == "resnet18"].iloc[0]
    assert math.isnan(resnet["batch_size"])
    assert "nothing to recommend" in resnet["text"]


def test_no_speedup_is_claimed_when_the_tutorials_settings_were_not_measured():
    recommendation = only_recommendation(frame(*busy_cpu()[:2], epoch(CPU, 1_900, device="cpu", num_workers=4)))
    assert math.isnan(recommendation["speedup_vs_tutorial"])
    assert "were not measured here, so no speed-up over them is claimed" in recommendation["text"]


def test_the_tutorials_settings_are_those_of_the_tutorial():
    assert TUTORIAL_SETTINGS == {"batch_size": 4, "num_workers": 2, "loader": "pil"}


def test_workers_stop_helping_at_the_smallest_count_near_the_best():
    recommendation = only_recommendation(frame(*sweep_on_gpu()))
    # 4 workers serve 95k, within 10% of the best (100k at 8); 2 workers (80k) are not.
    assert recommendation["worker_plateau"] == 4
    assert "More workers stop helping the tensor loader at batch 512 beyond 4" in recommendation["text"]


def test_a_single_worker_count_is_too_small_a_sweep_to_tell():
    recommendation = only_recommendation(frame(*busy_cpu()))
    assert math.isnan(recommendation["worker_plateau"])
    assert "too small to tell" in recommendation["text"]
    assert "only 2 workers measured" in recommendation["text"]


def test_workers_that_do_not_help_at_all_are_said_not_to():
    recommendation = only_recommendation(frame(*busy_cpu(), loader(CPU, 19_000, num_workers=0)))
    assert recommendation["worker_plateau"] == 0
    assert "More workers do not help the pil loader at batch 4: 0 already serve within 10%" in (
        recommendation["text"])


def test_a_loader_still_gaining_at_the_largest_count_is_too_small_a_sweep_to_tell():
    rows = [*busy_cpu(), loader(CPU, 5_000, num_workers=0), loader(CPU, 40_000, num_workers=8)]
    recommendation = only_recommendation(frame(*rows))
    assert "still gains up to the largest worker count measured, 8" in recommendation["text"]
    assert "too small to tell" in recommendation["text"]


def test_a_faster_step_variant_is_reported_as_a_step_measurement_only():
    recommendation = only_recommendation(frame(*sweep_on_gpu()))
    assert recommendation["step_variant"] == "bf16 autocast"
    assert recommendation["step_variant_speedup"] == pytest.approx(1.8)
    assert "train_step measured 1.8x faster with bf16 autocast at batch 512" in recommendation["text"]
    assert "the epoch was measured in fp32 only" in recommendation["text"]


def test_a_variant_within_the_noise_is_not_mentioned():
    rows = [*busy_cpu(), step(CPU, 2_000 * (THRESHOLDS.variant_gain - 0.01), device="cpu", channels_last=True)]
    recommendation = only_recommendation(frame(*rows))
    assert recommendation["step_variant"] is None
    assert "faster with" not in recommendation["text"]


def test_a_larger_batch_comes_with_a_word_on_the_optimisation():
    text = only_recommendation(frame(*sweep_on_gpu()))["text"]
    assert "Batch size changes the optimisation" in text
    assert "98 steps per epoch instead of 12,500" in text
    assert "optimisation" not in only_recommendation(frame(*starved_gpu()))["text"]


def test_fraction_of_peak_of_the_epoch_and_the_step_is_reported():
    recommendation = only_recommendation(frame(*sweep_on_gpu()))
    assert recommendation["fraction_of_peak"] == pytest.approx(0.2)
    assert recommendation["step_fraction_of_peak"] == pytest.approx(0.27)
    assert "20% of the machine's measured fp32 matmul peak; the bare train step 16 TFLOP/s, 27%" in (
        recommendation["text"])


# --- prices and costs --------------------------------------------------------------------------------


def test_load_prices_reads_the_prices_table(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('# per hour\n[prices]\n"p5.48xlarge" = 98.32\n"vm-2c-cpu" = 0\n')
    assert load_prices(path) == {"p5.48xlarge": 98.32, "vm-2c-cpu": 0.0}


@pytest.mark.parametrize(("text", "message"), [
    ('[prices]\n"gpu-box" = -1.5\n', "the price of 'gpu-box' must be a non-negative number"),
    ('[prices]\n"gpu-box" = "cheap"\n', "the price of 'gpu-box' must be a non-negative number"),
    ('[prices]\n"gpu-box" = true\n', "the price of 'gpu-box'"),
    ('[prices]\n"gpu-box" = nan\n', "the price of 'gpu-box'"),
    ('"gpu-box" = 1.5\n', "unexpected top-level key(s) 'gpu-box'"),
    ("# nothing\n", "no [prices] table"),
    ('[prices]\n"gpu-box" = \n', "not valid TOML"),
], ids=["negative", "text", "boolean", "nan", "top-level", "no-table", "broken"])
def test_load_prices_names_the_file_and_the_label(tmp_path, text, message):
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"prices\.toml") as raised:
        load_prices(path)
    assert message in str(raised.value)


def two_priced_machines(**prices) -> pd.DataFrame:
    """A fast, expensive GPU machine and a slow, cheap CPU machine."""
    return frame(
        *busy_cpu(),
        loader(GPU, 40_000, loader="tensor", batch_size=256, num_workers=4, pin_memory=True),
        step(GPU, 50_000, batch_size=256),
        epoch(GPU, 25_000, batch_size=256, num_workers=4, loader="tensor", price_per_hour=prices.get("run"),
              joules_per_epoch=600.0),
    )


def test_costs_rank_machines_by_time_and_by_cost_side_by_side():
    costs = diagnose(two_priced_machines(), {GPU: 36.0, CPU: 0.36}).costs.set_index("machine")
    gpu, cpu = costs.loc[GPU], costs.loc[CPU]
    assert gpu["full_epoch_seconds"] == pytest.approx(2.0)
    assert gpu["cost_per_epoch"] == pytest.approx(36.0 / 3600 * 2.0)
    assert cpu["cost_per_epoch"] == pytest.approx(0.36 / 3600 * FULL_EPOCH_IMAGES / 1_900)
    assert gpu["images_per_cost_unit"] == pytest.approx(FULL_EPOCH_IMAGES / gpu["cost_per_epoch"])
    assert gpu["joules_per_epoch"] == 600.0
    assert (gpu["time_rank"], gpu["cost_rank"]) == (1, 2)
    assert (cpu["time_rank"], cpu["cost_rank"]) == (2, 1)


def test_the_prices_file_overrides_the_runs_price():
    costs = diagnose(two_priced_machines(run=99.0), {GPU: 36.0}).costs.set_index("machine")
    assert costs.loc[GPU, "price_per_hour"] == 36.0
    assert costs.loc[GPU, "price_source"] == "prices file"
    costs = diagnose(two_priced_machines(run=99.0)).costs.set_index("machine")
    assert (costs.loc[GPU, "price_per_hour"], costs.loc[GPU, "price_source"]) == (99.0, "run")
    assert math.isnan(costs.loc[CPU, "cost_per_epoch"])  # no price: timed, not costed
    assert math.isnan(costs.loc[CPU, "cost_rank"])


def test_prices_given_as_the_parsed_toml_document_are_checked_too():
    costs = diagnose(two_priced_machines(), {"prices": {GPU: 36.0}}).costs
    assert costs.set_index("machine").loc[GPU, "price_per_hour"] == 36.0
    with pytest.raises(ValueError, match="the price of 'gpu-box'"):
        diagnose(two_priced_machines(), {GPU: -1})


def test_the_cost_chart_is_a_figure_when_a_price_is_known():
    diagnosis = diagnose(two_priced_machines(), {GPU: 36.0, CPU: 0.36})
    [(title, caption, figure, reason)] = diagnosis.charts
    try:
        assert isinstance(figure, Figure)
        assert title
        assert caption.endswith(".")
        assert reason == ""
    finally:
        pyplot.close(figure)


def test_without_prices_there_are_no_costs_and_the_chart_says_why():
    diagnosis = diagnose(two_priced_machines())
    assert diagnosis.costs is None
    [(_title, _caption, figure, reason)] = diagnosis.charts
    assert figure is None
    assert "no price known" in reason


# --- summaries and degenerate inputs ---------------------------------------------------------------


def test_one_summary_paragraph_per_machine_with_its_numbers():
    diagnosis = diagnose(frame(*sweep_on_gpu(), *busy_cpu()), {GPU: 36.0})
    gpu, cpu = sorted(diagnosis.summary_paragraphs, key=lambda text: not text.startswith(GPU))
    assert gpu.startswith("gpu-box (Test CPU, 8 CPU threads; Test GPU):")
    for words in ("batch 512, 4 workers, tensor pipeline at 30k img/s", "21x the tutorial's own settings",
                  "75% of the 40k img/s train-step ceiling", "20% of the machine's measured fp32 matmul peak",
                  "train_step measured 1.8x faster with bf16 autocast", "An epoch costs 0.0167 at 36 per hour"):
        assert words in gpu
    assert cpu.startswith("cpu-box (Test CPU, 8 CPU threads; no GPU):")
    assert "compute-bound" in cpu
    assert "which is the tutorial's own setting" in cpu  # batch 4, 2 workers, pil is the fastest there


def test_the_summary_says_what_starves_an_input_bound_gpu():
    [paragraph] = diagnose(frame(*starved_gpu())).summary_paragraphs
    assert ("It is input-bound: the input pipeline serves 1.5k img/s where the step could take 60k img/s, "
            "so the epoch runs at 1.4k img/s; the GPU is busy 7% of the time.") in paragraph


@pytest.mark.parametrize("df", [
    pd.DataFrame(),
    frame(),
    frame(step(GPU, 60_000), loader(GPU, 1_500)),
    frame({**epoch("foreign", 100.0), "cifarbench": False}),
], ids=["no-columns", "no-rows", "no-epoch", "foreign-only"])
def test_frames_without_our_epochs_give_empty_structures_and_a_reason(df):
    diagnosis = diagnose(df)
    assert diagnosis.reason
    assert diagnosis.summary_paragraphs == []
    assert diagnosis.verdicts.empty
    assert "verdict" in diagnosis.verdicts.columns
    assert diagnosis.recommendations.empty
    assert "text" in diagnosis.recommendations.columns
    assert diagnosis.costs is None
    assert [chart[2] for chart in diagnosis.charts] == [None]


def test_a_foreign_result_file_gives_a_reason_not_an_error():
    diagnosis = diagnose(tidy(load_records([DATA / "foreign_pytest_benchmark.json"])))
    assert "no cifarbench epoch case" in diagnosis.reason


def _our_result_files() -> list[Path]:
    files = []
    for path in sorted(DATA.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and isinstance(document.get("machine_info", {}).get("cifarbench"), dict):
            files.append(path)
    return files


@pytest.mark.parametrize("path", _our_result_files(), ids=lambda path: path.name)
def test_real_result_files_diagnose_in_plain_words(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = tidy(load_records([path]))
        diagnosis = diagnose(df, {machine: 1.0 for machine in df["machine"].unique()})
    epochs = df[(df["group"] == "epoch") & df["cifarbench"]]
    if epochs.empty:
        assert diagnosis.reason
        return
    assert len(diagnosis.summary_paragraphs) == df.loc[df["cifarbench"], "machine"].nunique()
    assert all(isinstance(text, str) and text for text in diagnosis.summary_paragraphs)
    assert set(diagnosis.verdicts["verdict"]) <= {"input-bound", "compute-bound", "balanced", "unknown"}
    assert len(diagnosis.verdicts) == len(epochs)
    measured = set(zip(epochs["machine"], epochs["device"], epochs["model"], epochs["batch_size"],
                       epochs["num_workers"], epochs["loader"], strict=True))
    for row in diagnosis.recommendations.dropna(subset=["batch_size"]).itertuples():
        assert (row.machine, row.device, row.model, row.batch_size, row.num_workers, row.loader) in measured
    for _title, _caption, figure, _reason in diagnosis.charts:
        if figure is not None:
            pyplot.close(figure)
