"""The analysis (reports.verdicts, advice, costs, compare, trust) and its words, on typed cases.

Cases are built directly as `Case` values: the analysis takes typed input, so its tests do
too. Numbers are made up to put each rule on either side of its threshold; real result files
are run through the whole pipeline at the end.
"""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import matplotlib as mpl
import pytest
from matplotlib import pyplot

from reports.analysis.advice import TUTORIAL_SETTINGS
from reports.analysis.analyse import analyse
from reports.analysis.verdicts import THRESHOLDS
from reports.page import words as say
from reports.page.charts.findings import cost_chart
from reports.reading.cases import Case, Config, cases
from reports.reading.load import load_records, records_from_document
from reports.reading.prices import Prices, load_prices
from reports.reading.tidy import FULL_EPOCH_IMAGES, tidy

mpl.use("Agg")  # no display: figures are drawn off screen, as the report draws them

DATA = Path(__file__).parent / "data"
GPU = "gpu-box"
CPU = "cpu-box"


# --- a small builder of typed cases ------------------------------------------------------------------


def loader(machine, images_per_sec, loader="pil", batch_size=4, num_workers=2, pin_memory=False,
           transform="tutorial", device="cpu", trust=None):
    return Case("loader", Config(machine, device, None, batch_size, num_workers, loader, transform), images_per_sec,
                pin_memory=pin_memory, trust=trust)


def step(machine, images_per_sec, device="cuda:0", model="tutorial", batch_size=4, amp=False,
         channels_last=False, fraction_of_peak=None, achieved_tflops=None, trust=None):
    return Case("train_step", Config(machine, device, model, batch_size), images_per_sec, amp=amp,
                channels_last=channels_last, fraction_of_peak=fraction_of_peak, achieved_tflops=achieved_tflops,
                trust=trust)


def epoch(machine, images_per_sec, device="cuda:0", model="tutorial", batch_size=4, num_workers=2,
          loader="pil", transform="tutorial", gpu_util_pct=None, fraction_of_peak=None,
          achieved_tflops=None, joules_per_epoch=None, trust=None, trust_reasons=(), rounds_spread=None,
          cpu_threads=None):
    cuda = device.startswith("cuda")
    return Case("epoch", Config(machine, device, model, batch_size, num_workers, loader, transform), images_per_sec,
                pin_memory=cuda and loader != "device", gpu_util_pct_mean=gpu_util_pct,
                full_epoch_seconds=FULL_EPOCH_IMAGES / images_per_sec, fraction_of_peak=fraction_of_peak,
                achieved_tflops=achieved_tflops, joules_per_epoch=joules_per_epoch, trust=trust,
                trust_reasons=tuple(trust_reasons), rounds_spread=rounds_spread, cpu_threads=cpu_threads)


def starved_gpu() -> list[Case]:
    """The tutorial's settings on a big GPU: the loader serves 1.5k img/s, the step could take 60k."""
    return [loader(GPU, 1_500, pin_memory=True), step(GPU, 60_000), epoch(GPU, 1_400, gpu_util_pct=7.0)]


def busy_cpu() -> list[Case]:
    """A CPU whose loader serves 20k img/s while the step manages 2k."""
    return [loader(CPU, 20_000), step(CPU, 2_000, device="cpu"), epoch(CPU, 1_900, device="cpu")]


class VerdictView:
    """A verdict with its words, for short assertions."""

    def __init__(self, found):
        self.found = found
        self.verdict = found.verdict
        self.fraction_of_ceiling = found.fraction_of_ceiling
        self.evidence = say.evidence(found)
        self.step_images_per_sec = found.step_speed
        self.loader_images_per_sec = found.loader_speed


def flat(*items) -> list[Case]:
    """Cases and lists of cases, as one list."""
    found = []
    for item in items:
        found.extend([item] if isinstance(item, Case) else flat(*item))
    return found


def only_verdict(*found) -> VerdictView:
    verdicts = analyse(flat(*found)).verdicts
    assert len(verdicts) == 1
    return VerdictView(verdicts[0])


class RecommendationView:
    def __init__(self, rec):
        self.rec = rec
        self.text = say.recommendation(rec)
        self.config = rec.config

    def __getattr__(self, name):
        return getattr(self.rec, name)


def only_recommendation(*found) -> RecommendationView:
    recommendations = analyse(flat(*found)).recommendations
    assert len(recommendations) == 1
    return RecommendationView(recommendations[0])


# --- verdicts --------------------------------------------------------------------------------------


def test_a_loader_starved_gpu_is_input_bound_with_the_numbers_as_evidence():
    verdict = only_verdict(*(starved_gpu()))
    assert verdict.verdict == "input-bound"
    assert verdict.fraction_of_ceiling == pytest.approx(1_400 / 60_000)
    for words in ("GPU busy 7.0% (waiting on the host)",
                  "loader 1.5k img/s against a 60k img/s step ceiling at batch 4",
                  "epoch 1.4k img/s"):
        assert words in verdict.evidence


def test_a_cpu_with_a_fast_loader_is_compute_bound():
    verdict = only_verdict(*(busy_cpu()))
    assert verdict.verdict == "compute-bound"
    assert verdict.fraction_of_ceiling == pytest.approx(0.95)
    assert "GPU" not in verdict.evidence


def test_close_ceilings_that_the_epoch_reaches_are_balanced():
    verdict = only_verdict((loader(CPU, 2_100), step(CPU, 2_000, device="cpu"),
                                 epoch(CPU, 1_700, device="cpu")))
    assert verdict.verdict == "balanced"
    assert "within 10% of each other" in verdict.evidence


def test_a_loader_in_the_training_process_adds_its_time_to_the_steps():
    # Serial costs: 1 / (1/5k + 1/2k) = 1.4k img/s, although each ceiling alone allows 2k or more.
    verdict = only_verdict((loader(CPU, 5_000, num_workers=0), step(CPU, 2_000, device="cpu"),
                                 epoch(CPU, 1_430, device="cpu", num_workers=0)))
    assert verdict.verdict == "balanced"
    assert "0 workers" in verdict.evidence


@pytest.mark.parametrize(("rows", "missing"), [
    ([step(GPU, 60_000), epoch(GPU, 1_400)], "loader ceiling"),
    ([loader(GPU, 1_500, pin_memory=True), epoch(GPU, 1_400)], "train-step ceiling"),
    ([loader(GPU, 1_500, pin_memory=True, num_workers=4), step(GPU, 60_000), epoch(GPU, 1_400)],
     "loader ceiling"),
], ids=["no-loader-rows", "no-train-step", "other-worker-count-only"])
def test_an_unmeasured_ceiling_gives_unknown_and_says_which(rows, missing):
    verdict = only_verdict(*(rows))
    assert verdict.verdict == "unknown"
    assert f"the {missing}" in verdict.evidence
    assert "was not measured" in verdict.evidence


def test_an_epoch_slightly_above_its_ceiling_keeps_its_verdict_with_a_caveat():
    verdict = only_verdict((loader(CPU, 20_000), step(CPU, 2_000, device="cpu"), epoch(CPU, 2_200, device="cpu")))
    assert verdict.verdict == "compute-bound"
    assert "the ceiling is approximate" in verdict.evidence


@pytest.mark.parametrize(("rows", "words"), [
    ([loader(CPU, 20_000), step(CPU, 800, device="cpu"), epoch(CPU, 12_000, device="cpu")],
     "the epoch ran 15x faster than its train-step ceiling"),
    ([loader(CPU, 1_000), step(CPU, 20_000, device="cpu"), epoch(CPU, 1_500, device="cpu")],
     "the epoch ran 1.5x faster than its loader ceiling"),
    ([loader(CPU, 60_000), step(CPU, 3_000, device="cpu"), epoch(CPU, 130, device="cpu")],
     "serving and stepping explain only 4.5% of the epoch's time"),
], ids=["outran-step", "outran-loader", "unexplained"])
def test_ceilings_that_cannot_describe_the_epoch_give_unknown(rows, words):
    verdict = only_verdict(*(rows))
    assert verdict.verdict == "unknown"
    assert words in verdict.evidence


def test_the_summary_says_why_a_limit_is_unknown():
    [answer] = analyse([step(GPU, 60_000), epoch(GPU, 1_400)]).answers
    assert say.limit(answer.recommendation.verdict) == (
        "unknown: the loader ceiling (this pipeline, batch size and workers) was not measured")


def test_the_epochs_ceiling_is_the_fp32_nchw_step_not_a_faster_variant():
    rows = [*starved_gpu(), step(GPU, 120_000, amp=True), step(GPU, 90_000, channels_last=True)]
    assert only_verdict(*(rows)).step_images_per_sec == 60_000


@pytest.mark.parametrize(("epoch_images_per_sec", "expected"), [(1_900, "compute-bound"), (1_000, "balanced")])
def test_the_device_pipeline_has_no_separate_loader_ceiling(epoch_images_per_sec, expected):
    verdict = only_verdict((step(GPU, 2_000), epoch(GPU, epoch_images_per_sec, loader="device",
                                                         num_workers=0)))
    assert verdict.verdict == expected
    assert "no separate loader ceiling" in verdict.evidence


def test_a_gpu_epoch_is_compared_with_the_pinned_loader_and_a_cpu_epoch_with_the_pageable_one():
    rows = [loader(GPU, 1_000, pin_memory=False), loader(GPU, 3_000, pin_memory=True),
            step(GPU, 60_000), epoch(GPU, 900), step(GPU, 2_000, device="cpu"), epoch(GPU, 800, device="cpu")]
    verdicts = {found.config.device: found for found in analyse(rows).verdicts}
    assert verdicts["cuda:0"].loader_speed == 3_000
    assert verdicts["cpu"].loader_speed == 1_000


def test_when_only_the_other_memory_kind_was_measured_the_evidence_says_so():
    verdict = only_verdict((loader(GPU, 1_500, pin_memory=False), step(GPU, 60_000), epoch(GPU, 1_400)))
    assert verdict.verdict == "input-bound"
    assert "pageable memory only" in verdict.evidence


def test_missing_utilization_does_not_matter():
    verdict = only_verdict(loader(GPU, 1_500, pin_memory=True), step(GPU, 60_000), epoch(GPU, 1_400))
    assert verdict.verdict == "input-bound"
    assert "GPU busy" not in verdict.evidence


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


def test_the_recommendation_is_the_fastest_measured_epoch():
    recommendation = only_recommendation(sweep_on_gpu())
    config = recommendation.config
    assert (config.batch_size, config.num_workers, config.loader) == (512, 4, "tensor")
    assert recommendation.best.images_per_sec == 30_000
    assert recommendation.speedup_vs_tutorial == pytest.approx(30_000 / 1_400)
    assert "21x the tutorial's own settings" in recommendation.text


def test_every_recommended_configuration_was_measured_as_an_epoch():
    rows = [*sweep_on_gpu(), *busy_cpu(), step(CPU, 5_000, device="cpu", batch_size=256, model="resnet18")]
    measured = {case.config for case in rows if case.group == "epoch"}
    recommendations = analyse(rows).recommendations
    configured = [rec for rec in recommendations if rec.best is not None]
    assert len(configured) == 2
    assert all(rec.config in measured for rec in configured)
    # A train step alone is not an epoch: nothing is recommended for resnet18.
    [resnet] = [rec for rec in recommendations if rec.where[2] == "resnet18"]
    assert resnet.best is None
    assert "nothing to recommend" in say.recommendation(resnet)


def test_no_speedup_is_claimed_when_the_tutorials_settings_were_not_measured():
    recommendation = only_recommendation(*(busy_cpu()[:2], epoch(CPU, 1_900, device="cpu", num_workers=4)))
    assert recommendation.speedup_vs_tutorial is None
    assert "were not measured here, so no speed-up over them is claimed" in recommendation.text


def test_the_tutorials_settings_are_those_of_the_tutorial():
    assert TUTORIAL_SETTINGS == {"batch_size": 4, "num_workers": 2, "loader": "pil"}


def test_workers_stop_helping_at_the_smallest_count_near_the_best():
    recommendation = only_recommendation(*(sweep_on_gpu()))
    # 4 workers serve 95k, within 10% of the best (100k at 8); 2 workers (80k) are not.
    assert recommendation.plateau.workers == 4
    assert "More workers stop helping the tensor loader at batch 512 beyond 4" in recommendation.text


def test_a_single_worker_count_is_too_small_a_sweep_to_tell():
    recommendation = only_recommendation(*(busy_cpu()))
    assert recommendation.plateau.kind == "too_small"
    assert "too small to tell" in recommendation.text
    assert "only 2 workers measured" in recommendation.text


def test_workers_that_do_not_help_at_all_are_said_not_to():
    recommendation = only_recommendation(*(busy_cpu(), loader(CPU, 19_000, num_workers=0)))
    assert recommendation.plateau.workers == 0
    assert "More workers do not help the pil loader at batch 4: 0 already serve within 10%" in (
        recommendation.text)


def test_a_loader_still_gaining_at_the_largest_count_is_too_small_a_sweep_to_tell():
    rows = [*busy_cpu(), loader(CPU, 5_000, num_workers=0), loader(CPU, 40_000, num_workers=8)]
    recommendation = only_recommendation(*(rows))
    assert "still gains up to the largest worker count measured, 8" in recommendation.text
    assert "too small to tell" in recommendation.text


def test_a_faster_step_variant_is_reported_as_a_step_measurement_only():
    recommendation = only_recommendation(*(sweep_on_gpu()))
    assert recommendation.variant.name == "bf16 autocast"
    assert recommendation.variant.speedup == pytest.approx(1.8)
    assert "train_step measured 1.8x faster with bf16 autocast at batch 512" in recommendation.text
    assert "the epoch was measured in fp32 only" in recommendation.text


def test_a_variant_within_the_noise_is_not_mentioned():
    rows = [*busy_cpu(), step(CPU, 2_000 * (THRESHOLDS.variant_gain - 0.01), device="cpu", channels_last=True)]
    recommendation = only_recommendation(*(rows))
    assert recommendation.variant is None
    assert "faster with" not in recommendation.text


def test_a_larger_batch_comes_with_a_word_on_the_optimisation():
    text = only_recommendation(*(sweep_on_gpu())).text
    assert "Batch size changes the optimisation" in text
    assert "98 steps per epoch instead of 12,500" in text
    assert "optimisation" not in only_recommendation(*(starved_gpu())).text


def test_fraction_of_peak_of_the_epoch_and_the_step_is_reported():
    recommendation = only_recommendation(*(sweep_on_gpu()))
    assert recommendation.best.fraction_of_peak == pytest.approx(0.2)
    assert recommendation.step.fraction_of_peak == pytest.approx(0.27)
    assert "20% of the machine's measured fp32 matmul peak; the bare train step 16 TFLOP/s, 27%" in (
        recommendation.text)


# --- prices and costs --------------------------------------------------------------------------------


def test_load_prices_reads_the_prices_table_and_its_currency(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('# per hour\ncurrency = "EUR"\n[prices]\n"p5.48xlarge" = 98.32\n"vm-2c-cpu" = 0\n')
    assert load_prices(path) == Prices({"p5.48xlarge": 98.32, "vm-2c-cpu": 0.0}, "EUR")
    path.write_text('[prices]\n"vm" = 1\n')
    assert load_prices(path).currency is None


@pytest.mark.parametrize(("text", "message"), [
    ('[prices]\n"gpu-box" = -1.5\n', "the price of 'gpu-box' must be a non-negative number"),
    ('[prices]\n"gpu-box" = "cheap"\n', "the price of 'gpu-box' must be a non-negative number"),
    ('[prices]\n"gpu-box" = true\n', "the price of 'gpu-box'"),
    ('[prices]\n"gpu-box" = nan\n', "the price of 'gpu-box'"),
    ('"gpu-box" = 1.5\n', "unexpected top-level key(s) 'gpu-box'"),
    ("# nothing\n", "no [prices] table"),
    ('[prices]\n"gpu-box" = \n', "not valid TOML"),
    ('currency = 3\n[prices]\n"gpu-box" = 1\n', "currency must be a name"),
], ids=["negative", "text", "boolean", "nan", "top-level", "no-table", "broken", "currency"])
def test_load_prices_names_the_file_and_the_label(tmp_path, text, message):
    path = tmp_path / "prices.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"prices\.toml") as raised:
        load_prices(path)
    assert message in str(raised.value)


def two_machines() -> list[Case]:
    """A fast, expensive GPU machine and a slow, cheap CPU machine."""
    return [*busy_cpu(), loader(GPU, 40_000, loader="tensor", batch_size=256, num_workers=4, pin_memory=True),
            step(GPU, 50_000, batch_size=256),
            epoch(GPU, 25_000, batch_size=256, num_workers=4, loader="tensor", joules_per_epoch=600.0)]


def test_costs_rank_machines_by_time_and_by_cost_and_the_answer_by_cost():
    analysis = analyse(two_machines(), file_prices={GPU: 36.0, CPU: 0.36})
    costs = {cost.config.machine: cost for cost in analysis.costs}
    gpu, cpu = costs[GPU], costs[CPU]
    assert gpu.seconds == pytest.approx(2.0)
    assert gpu.cost_per_epoch == pytest.approx(36.0 / 3600 * 2.0)
    assert cpu.cost_per_epoch == pytest.approx(0.36 / 3600 * FULL_EPOCH_IMAGES / 1_900)
    assert (gpu.time_rank, gpu.cost_rank) == (1, 2)
    assert (cpu.time_rank, cpu.cost_rank) == (2, 1)
    assert analysis.ranked_by == "cost"
    assert [answer.recommendation.where[0] for answer in analysis.answers] == [CPU, GPU]


def test_the_prices_file_overrides_the_runs_price_and_unpriced_machines_rank_by_time():
    analysis = analyse(two_machines(), run_prices={GPU: 99.0}, file_prices={GPU: 36.0})
    gpu = next(cost for cost in analysis.costs if cost.config.machine == GPU)
    assert (gpu.price_per_hour, gpu.price_source) == (36.0, "prices file")
    analysis = analyse(two_machines(), run_prices={GPU: 99.0})
    costs = {cost.config.machine: cost for cost in analysis.costs}
    assert (costs[GPU].price_per_hour, costs[GPU].price_source) == (99.0, "run")
    assert costs[CPU].cost_per_epoch is None  # no price: timed, not costed
    assert costs[CPU].cost_rank is None
    assert analysis.ranked_by == "time"


def test_the_cost_chart_is_a_figure_when_a_price_is_known_and_says_why_not_otherwise():
    chart = cost_chart(analyse(two_machines(), file_prices={GPU: 36.0, CPU: 0.36}, currency="USD"))
    try:
        assert chart.figure is not None
        assert chart.sentence.endswith(".")
    finally:
        pyplot.close(chart.figure)
    chart = cost_chart(analyse(two_machines()))
    assert chart.figure is None
    assert "no price known" in chart.reason


# --- trust ---------------------------------------------------------------------------------------------


def test_an_invalid_epoch_gets_no_verdict_and_no_recommendation_and_says_why():
    reasons = ("Other processes used 180% of a core during the timed rounds.",)
    rows = [*busy_cpu()[:2], epoch(CPU, 1_900, device="cpu", trust="invalid", trust_reasons=reasons)]
    analysis = analyse(rows)
    [verdict] = analysis.verdicts
    assert verdict.verdict is None
    assert say.limit(verdict) == "not judged: invalid measurement"
    assert reasons[0] in say.evidence(verdict)
    [answer] = analysis.answers
    assert answer.rank is None
    assert answer.recommendation.best is None
    assert "invalid" in say.advice(answer.recommendation, 2)
    assert analysis.trust[CPU].level == "invalid"
    assert analysis.trust[CPU].epochs_all_invalid
    assert "not ranked" in say.trust_line(analysis.trust[CPU])


def test_an_invalid_ceiling_is_not_used():
    rows = [loader(CPU, 20_000), step(CPU, 2_000, device="cpu", trust="invalid"), epoch(CPU, 1_900, device="cpu")]
    verdict = only_verdict(rows)
    assert verdict.verdict == "unknown"
    assert "train-step ceiling's measurement is invalid" in verdict.evidence


def test_the_best_configuration_skips_invalid_epochs():
    rows = [*busy_cpu(), epoch(CPU, 9_000, device="cpu", batch_size=128, trust="invalid")]
    recommendation = only_recommendation(rows)
    assert recommendation.best.images_per_sec == 1_900
    assert "1 epoch measured here is invalid and left out" in recommendation.text


def test_a_run_is_as_trusted_as_its_worst_case_and_unassessed_files_say_so():
    noisy = [loader(CPU, 20_000, trust="ok"), step(CPU, 2_000, device="cpu", trust="noisy"),
             epoch(CPU, 1_900, device="cpu", trust="ok")]
    assert analyse(noisy).trust[CPU].level == "noisy"
    assert analyse(busy_cpu()).trust[CPU].level is None
    assert say.trust_line(analyse(busy_cpu()).trust[CPU]).startswith("not assessed")


def test_a_worker_difference_within_the_rounds_spread_is_not_called_a_difference():
    rows = [*busy_cpu(), epoch(CPU, 1_800, device="cpu", num_workers=0, rounds_spread=0.10)]
    advice = say.advice(only_recommendation(rows).rec, 2)
    assert "slow" not in advice
    rows = [*busy_cpu(), epoch(CPU, 1_000, device="cpu", num_workers=0, rounds_spread=0.10)]
    assert "2 workers make it 1.9x faster than 0" in say.advice(only_recommendation(rows).rec, 2)


# --- like for like -------------------------------------------------------------------------------------


def test_machines_on_different_grids_are_compared_at_the_settings_they_share():
    a = [epoch("a", 2_100, device="cpu", num_workers=0, cpu_threads=2, rounds_spread=0.01),
         epoch("a", 11_000, device="cpu", num_workers=0, batch_size=128, cpu_threads=2)]
    b = [epoch("b", 2_050, device="cpu", num_workers=0, cpu_threads=1, rounds_spread=0.01),
         epoch("b", 6_500, device="cpu", num_workers=0, batch_size=32, cpu_threads=1)]
    [comparison] = analyse([*a, *b]).comparisons
    assert (comparison.reference, comparison.machine) == ("a", "b")
    assert comparison.best_ratio == pytest.approx(11_000 / 6_500)
    assert comparison.shared_ratio == pytest.approx(2_100 / 2_050)
    sentence = say.comparison(comparison)
    assert "different torch thread counts (2 against 1)" in sentence
    assert "At the 1 setting both measured (batch 4, 0 workers, pil pipeline), a is 1.02x b." in sentence


def test_a_shared_difference_within_the_spread_is_no_difference():
    a = [epoch("a", 2_100, device="cpu", rounds_spread=0.05), epoch("a", 9_000, device="cpu", batch_size=64)]
    b = [epoch("b", 2_050, device="cpu", rounds_spread=0.05)]
    [comparison] = analyse([*a, *b]).comparisons
    assert comparison.within_spread
    assert "no measurable difference" in say.comparison(comparison)


def test_machines_on_the_same_grid_need_no_comparison():
    assert analyse([epoch("a", 2_100, device="cpu"), epoch("b", 2_000, device="cpu")]).comparisons == []


# --- real result files -------------------------------------------------------------------------------


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


def test_accuracy_after_a_short_epoch_is_explained():
    [case] = [epoch(CPU, 1_000, device="cpu")]
    short = Case(case.group, case.config, case.images_per_sec, eval_accuracy=0.07, epoch_images=512.0)
    note = say.accuracy_note([short])
    assert "after training on 512 images" in note
    assert "timed, not trained to convergence" in note
    assert say.accuracy_note([Case(case.group, case.config, 1.0, eval_accuracy=0.6)]) is None


def test_the_tutorials_settings_are_those_of_the_tutorial_and_thresholds_are_documented():
    assert TUTORIAL_SETTINGS == {"batch_size": 4, "num_workers": 2, "loader": "pil"}
    assert THRESHOLDS.near_ceiling == 0.8


@pytest.mark.parametrize("path", sorted(DATA.glob("cpu-2core-*.json")), ids=lambda path: path.name)
def test_real_result_files_analyse_in_plain_words(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = tidy(load_records([path]))
    found = cases(frame)
    analysis = analyse(found, file_prices={machine: 1.0 for machine in frame["machine"].unique()})
    epochs = [case for case in found if case.group == "epoch"]
    assert len(analysis.verdicts) == len(epochs)
    assert {v.verdict for v in analysis.verdicts} <= {"input-bound", "compute-bound", "balanced", "unknown"}
    measured = {case.config for case in epochs}
    for answer in analysis.answers:
        assert answer.recommendation.config in measured
        assert say.advice(answer.recommendation, 2).startswith("Use batch ")
