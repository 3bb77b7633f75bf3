"""reports.analysis.verdicts: what limits an epoch, from its ceilings and phases, and the words for it."""

from __future__ import annotations

import pytest

from reports.analysis.advice import TUTORIAL_SETTINGS
from reports.analysis.analyse import analyse
from reports.analysis.verdicts import THRESHOLDS
from reports.page import words as say
from tests.typed_cases import CPU, GPU, busy_cpu, epoch, loader, only_verdict, starved_gpu, step


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


def test_an_epoch_above_its_ceiling_is_a_measurement_problem_never_a_share_over_100_percent():
    verdict = only_verdict((loader(CPU, 20_000), step(CPU, 2_000, device="cpu"), epoch(CPU, 2_200, device="cpu")))
    assert verdict.verdict == "compute-bound"  # the verdict stands; the share above the ceiling is no result
    assert "measurement problem" in verdict.evidence
    assert "measured at different machine speeds" in verdict.evidence
    assert "110%" not in verdict.evidence
    assert say.limit(verdict.found).startswith("compute; measurement problem")
    assert "110%" not in say.limit(verdict.found)


def test_an_epoch_above_its_ceiling_inside_their_intervals_is_at_its_ceiling():
    verdict = only_verdict((loader(CPU, 20_000), step(CPU, 2_000, device="cpu", interval=(1_800, 2_300)),
                            epoch(CPU, 2_200, device="cpu", interval=(2_000, 2_400))))
    assert say.limit(verdict.found) == "compute, at its ceiling (no measurable difference)"
    assert "no measurable difference" in verdict.evidence
    assert "measurement problem" not in verdict.evidence
    apart = only_verdict((loader(CPU, 20_000), step(CPU, 2_000, device="cpu", interval=(1_950, 2_050)),
                          epoch(CPU, 2_070, device="cpu", interval=(2_060, 2_080))))
    assert "measurement problem" in say.limit(apart.found)  # 3.5% above, yet outside both intervals
    below = only_verdict((loader(CPU, 20_000), step(CPU, 2_000, device="cpu"), epoch(CPU, 1_900, device="cpu")))
    assert say.limit(below.found) == "compute, 95% of ceiling"


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


def test_an_invalid_ceiling_is_not_used():
    rows = [loader(CPU, 20_000), step(CPU, 2_000, device="cpu", trust="invalid"), epoch(CPU, 1_900, device="cpu")]
    verdict = only_verdict(rows)
    assert verdict.verdict == "unknown"
    assert "train-step ceiling's measurement is invalid" in verdict.evidence


def test_the_tutorials_settings_are_those_of_the_tutorial_and_thresholds_are_documented():
    assert TUTORIAL_SETTINGS == {"batch_size": 4, "num_workers": 2, "loader": "pil"}
    assert THRESHOLDS.near_ceiling == 0.8
