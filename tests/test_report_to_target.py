"""The answer by time to a trained classifier (reports.analysis.to_target and the page's first screen).

Ranked by the median seconds to the target over the seeds; a configuration that missed the
target within its budget never ahead of one that reached it; two whose intervals overlap share
a rank (a tie); the target, the data and each configuration's learning rate named. Typed cases
put each rule on either side of its line; the real converge file (recorded on a busy VM, so
invalid) and a document derived from it (tests/report_data.py `converge_document`) go through
the whole page.
"""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from bench.contract import Reason
from reports.analysis.analyse import analyse
from reports.analysis.to_target import across_machines
from reports.page import target_words as goal
from reports.page import words as say
from reports.page.build import build_report, build_report_data
from reports.page.charts.base import to_svg
from reports.page.charts.convergence import accuracy_curves
from reports.page.parts.answer import across_table, answer_table, summaries, to_target_table
from reports.reading.load import load_records, records_from_document
from tests.report_data import CONVERGE_FILE, CONVERGE_LABEL, QUICK_CONVERGE_FILE, converge_document
from tests.typed_cases import CPU, GPU, converge, epoch, tutorial_converge

BUSY = Reason("other_cpu", "invalid", 92.0, 50.0, {"resolution_pct": 0.05, "steal_pct": 0.8})


def cells(table, name: str) -> list[str]:
    names = [column.name for column in table.columns]
    return [row[names.index(name)] for row in table.rows]


def test_the_fastest_to_target_wins_even_against_a_faster_configuration_per_image():
    # Batch 512 trains more images per second, but its seeds need longer to reach 30%.
    rows = [converge(CPU, [60.0, 62.0, 65.0], batch_size=512, lr=0.1, warmup_steps=200, lr_rule="linear-capped",
                     images_per_sec=30_000.0, interval=(29_000.0, 31_000.0)),
            converge(CPU, [24.0, 25.0, 26.0], images_per_sec=12_000.0, interval=(11_500.0, 12_500.0)),
            tutorial_converge(CPU, [300.0, 310.0, 330.0])]
    [answer] = analyse(rows).to_target
    assert [row.case.config.batch_size for row in answer.ranked] == [128, 512, 4]
    assert [row.rank for row in answer.ranked] == [1, 2, 3]
    assert answer.speedup_vs_tutorial == pytest.approx(310.0 / 25.0)
    assert goal.fastest_to_target(answer).splitlines() == [
        "batch 128, 0 workers, tensor", "lr 0.032 (linear rule), 50 warm-up steps"]
    assert goal.tutorial_to_target(answer) == (
        "5.2 min [5.0\N{EN DASH}5.5 min], 3 seeds\n12x the fastest's time (rank 3)")
    assert goal.lr_plan(answer.ranked[1].case) == "lr 0.1 (linear rule, capped), 200 warm-up steps"
    assert goal.lr_plan(answer.tutorial.case) == "lr 0.001 (the tutorial's), no warm-up"
    assert goal.target(answer.target_accuracy, answer.data_source) == "30% test accuracy on the hard synthetic set"


def test_a_configuration_that_missed_the_target_is_never_ranked_ahead_of_one_that_reached_it():
    # The tutorial's recipe ran out of budget on every seed; listed first and far faster per image than
    # the one that reached the target only slowly, it still comes last and unranked.
    rows = [tutorial_converge(CPU, [None, None], best_accuracy=0.27, images_per_sec=50_000.0),
            converge(CPU, [900.0, 950.0], images_per_sec=100.0)]
    [answer] = analyse(rows).to_target
    assert [row.reached for row in answer.ranked] == [True, False]
    assert answer.ranked[-1].rank is None
    assert answer.fastest.case.config.batch_size == 128
    assert goal.tutorial_to_target(answer) == "did not reach 30% within its budget (best 27%, 0 of 2 seeds)"
    assert answer.speedup_vs_tutorial is None
    table = to_target_table(analyse(rows))
    [tutorial] = cells(table, "tutorial_to_target")
    assert tutorial.startswith("did not reach 30%")


def test_two_configurations_whose_intervals_overlap_share_a_rank():
    rows = [converge(CPU, [24.0, 26.0, 31.0]),
            converge(CPU, [27.0, 29.0, 45.0], batch_size=512, lr=0.1, warmup_steps=200, lr_rule="linear-capped"),
            converge(CPU, [80.0, 82.0, 85.0], batch_size=16, lr=0.004, warmup_steps=0)]
    [answer] = analyse(rows).to_target
    assert [row.rank for row in answer.ranked] == [1, 1, 3]
    assert [row.case.config.batch_size for row in answer.ties] == [512]
    lines = goal.fastest_to_target(answer).splitlines()
    assert lines[2] == "tie: batch 512, 0 workers, tensor, lr 0.1"
    # Apart: the second's seeds all slower than the first's slowest.
    apart = [converge(CPU, [24.0, 25.0]), converge(CPU, [40.0, 41.0], batch_size=512)]
    assert [row.rank for row in analyse(apart).to_target[0].ranked] == [1, 2]


def test_the_throughputs_interval_widens_the_time_to_targets():
    # One seed each, 10% apart: apart with exact throughputs, a tie once each throughput may read 10% off.
    exact = [converge(CPU, [100.0]), converge(CPU, [110.0], batch_size=256)]
    assert [row.rank for row in analyse(exact).to_target[0].ranked] == [1, 2]
    loose = [converge(CPU, [100.0], interval=(9_000.0, 11_000.0)),
             converge(CPU, [110.0], batch_size=256, interval=(9_000.0, 11_000.0))]
    assert [row.rank for row in analyse(loose).to_target[0].ranked] == [1, 1]


def test_across_machines_each_at_its_own_best_ranked_per_target_with_ties():
    rows = [converge(CPU, [50.0, 52.0]), converge(CPU, [70.0], batch_size=512),
            converge(GPU, [8.0, 9.0], device="cuda:0", batch_size=512),
            converge("other-box", [51.0, 55.0]),
            converge("real-data-box", [400.0], data_source="/data/cifar10", target=0.6)]
    analysis = analyse(rows, run_prices={CPU: 0.10, GPU: 4.0})
    found = across_machines(analysis.to_target)
    assert [(row.answer.where[0], row.rank) for row in found] == [
        (GPU, 1), (CPU, 2), ("other-box", 2), ("real-data-box", 1)]  # another question: its own ranking
    table = across_table(analysis, pd.DataFrame())
    assert cells(table, "rank") == ["1", "=2", "=2", "1"]
    assert cells(table, "where")[0] == f"{GPU} · cuda:0"
    assert cells(table, "time_to_target")[0] == "8.5 s [8\N{EN DASH}9 s]\n2 seeds"
    assert cells(table, "cost_to_target")[0] == "0.00944\n[0.00889\N{EN DASH}0.0100]"  # 4.0 an hour x seconds
    assert "30% test accuracy on the hard synthetic set" in cells(table, "model")[0]
    assert "60% test accuracy on real CIFAR-10 (/data/cifar10)" in cells(table, "model")[3]


def test_an_invalid_converge_case_is_not_ranked_and_the_answer_falls_back_to_epoch_time_saying_why():
    rows = [converge(CPU, [24.0], trust="invalid", trust_reasons=[BUSY]), epoch(CPU, 2_000, device="cpu")]
    analysis = analyse(rows)
    [answer] = analysis.to_target
    assert answer.ranked == ()
    assert answer.fastest is None
    assert len(answer.invalid) == 1
    assert goal.fastest_to_target(answer) == ("not ranked: 1 converge case measured while the machine was busy or "
                                             "throttled (other processes used 92% of a core)")
    assert goal.epoch_headline("time", analysis.to_target).startswith(
        f"No configuration reached its target on a quiet machine: {CPU} · cpu (measured while the machine was "
        "busy: not ranked), so this answers by time per 50,000-image epoch")


def test_the_real_quick_run_answers_by_time_to_target_with_the_tutorials_settings_trained():
    """The quick preset on a quiet 2-core VM: the tutorial's settings reach 50% in 97 s, the fastest
    per image (tensor, batch 128, lr 0.032) in 7.6 s, both in two epochs."""
    data = build_report_data(load_records([QUICK_CONVERGE_FILE]))
    assert data.answer_lead.startswith("Time to train the classifier to 50% test accuracy on the hard synthetic set")
    assert cells(data.answer, "rank") == ["1"]
    assert cells(data.answer, "fastest_to_target") == ["batch 128, 0 workers, tensor\nlr 0.032 (linear rule), "
                                                       "50 warm-up steps"]
    assert cells(data.answer, "time_to_target") == ["7.6 s\n1 seed"]
    assert cells(data.answer, "tutorial_to_target")[0].startswith("97 s, 1 seed\n")
    ranking = data.to_target
    assert cells(ranking, "rank") == ["1", "2"]
    assert cells(ranking, "lr_plan")[1] == "lr 0.001 (the tutorial's), no warm-up"
    assert cells(ranking, "trust") == ["ok", "ok"]


def test_a_card_advises_what_to_train_with_first_and_names_the_fastest_per_image_as_such():
    """Never 'Use' for two configurations on one card: the trained answer leads, the throughput follows."""
    [card] = build_report_data(load_records([QUICK_CONVERGE_FILE])).summaries
    assert card.advice[0].startswith("To train: batch 128, 0 workers, tensor, lr 0.032 (linear rule), 50 warm-up "
                                     "steps: 50% test accuracy on the hard synthetic set in 7.6 s (1 seed).")
    assert "Fastest per image: batch 128, 0 workers, tensor pipeline." in card.advice[0]
    assert not any(line.startswith("Use ") for line in card.advice)


def test_the_real_converge_file_recorded_on_a_busy_vm_is_said_not_ranked():
    data = build_report_data(load_records([CONVERGE_FILE]))
    assert data.answer is None  # no epoch was measured, and the one converge case is invalid
    assert data.answer_lead == (f"No configuration reached its target on a quiet machine: {CONVERGE_LABEL} · cpu "
                                "(measured while the machine was busy: not ranked), and no epoch was measured to "
                                "answer by throughput instead.")
    ranking = data.to_target
    assert cells(ranking, "rank") == ["not ranked: invalid"]
    assert cells(ranking, "lr_plan") == ["lr 0.032 (linear rule), 50 warm-up steps"]
    assert cells(ranking, "best_accuracy") == ["34%"]


@pytest.fixture(scope="module")
def converge_page():
    return build_report(records_from_document(converge_document(), "converge.json"))


def test_the_first_screen_answers_by_time_to_target_naming_the_target_and_the_learning_rates(converge_page):
    answer = converge_page[converge_page.index('id="answer-section"'):converge_page.index('id="summary"')]
    assert "Fastest to a trained classifier, per machine" in answer
    assert "30% test accuracy on the hard synthetic set" in answer
    assert "lr 0.032 (linear rule), 50 warm-up steps" in answer
    assert "tie: batch 512, 0 workers, tensor, lr 0.1" in answer
    assert "did not reach 30% within its budget (best 27%, 0 of 3 seeds)" in answer
    assert "50 s [48\N{EN DASH}71 s]\n3 seeds" in answer
    assert re.search(r"<table id=\"answer\"", answer)
    assert converge_page.index('id="answer"') < converge_page.index('id="to-target"')


def test_the_accuracy_curves_draw_the_configurations_that_matter():
    analysis = analyse([converge(CPU, [24.0, 26.0]), tutorial_converge(CPU, [None])])
    chart = accuracy_curves(analysis.to_target)
    assert chart.figure is not None, chart.reason
    svg = to_svg(chart.figure)
    assert "fastest to target" in svg
    assert "the tutorial&#39;s recipe" in svg or "the tutorial's recipe" in svg
    assert "fastest per image" not in svg  # not trained here: not in the legend
    assert plt.get_fignums() == []
    assert accuracy_curves([]).reason == "no valid converge case recorded its curve"


def test_each_machines_card_says_its_run_to_run_noise():
    rows = [epoch(CPU, 2_000, device="cpu", trust="ok"), epoch(GPU, 9_000, trust="ok")]
    found = {summary.name: summary.noise for summary in summaries(analyse(rows, noises={CPU: 0.09}), pd.DataFrame())}
    assert found[CPU] == "run-to-run noise \u00b19.0%: one standard deviation of a case's repeats, pooled over the run"
    assert found[GPU].startswith("run-to-run noise not measured: each case ran once")


def test_the_epoch_answer_shares_a_rank_where_the_best_epochs_intervals_overlap():
    rows = [epoch("a", 2_100, device="cpu", interval=(1_900, 2_300)),
            epoch("b", 2_000, device="cpu", interval=(1_800, 2_200)),
            epoch("c", 900, device="cpu", interval=(850, 950))]
    table = answer_table(analyse(rows))
    assert cells(table, "rank") == ["=1", "=1", "3"]
    assert cells(table, "images_per_sec_interval") == ["2.1k [1.9k\N{EN DASH}2.3k]", "2.0k [1.8k\N{EN DASH}2.2k]",
                                                       "900 [850\N{EN DASH}950]"]


def test_a_best_epoch_inside_the_tutorials_interval_is_no_measurable_difference():
    rows = [epoch(CPU, 1_000, device="cpu", interval=(900, 1_100)),  # the tutorial's settings
            epoch(CPU, 1_050, device="cpu", batch_size=8, interval=(950, 1_150))]
    analysis = analyse(rows)
    [answer] = analysis.answers
    assert "no measurable difference from the tutorial's own settings" in say.advice(answer.recommendation, 2)
    assert cells(answer_table(analysis), "speedup_vs_tutorial") == ["no measurable difference"]


def test_the_fastest_per_image_is_said_beside_with_how_it_did_to_target():
    per_image = epoch(CPU, 30_000, device="cpu", batch_size=512, num_workers=0, loader="tensor",
                      interval=(28_000, 32_000))
    slower_per_image = epoch(CPU, 12_000, device="cpu", batch_size=128, num_workers=0, loader="tensor")
    trained = [converge(CPU, [24.0, 25.0]), converge(CPU, [60.0, 62.0], batch_size=512)]
    [answer] = analyse([per_image, slower_per_image, *trained]).to_target
    assert goal.fastest_per_image(answer) == ("batch 512, 0 workers, tensor: 30k [28k\N{EN DASH}32k] img/s\n"
                                             "to target: 61 s [60\N{EN DASH}62 s] (rank 2)")
    [answer] = analyse([per_image, slower_per_image, trained[0]]).to_target
    assert goal.fastest_per_image(answer).endswith("\nnot trained to the target")
    [answer] = analyse([slower_per_image, trained[0]]).to_target
    assert goal.fastest_per_image(answer) == "the same configuration: 12k img/s"


def test_several_targets_on_one_page_each_row_says_its_own():
    rows = [converge(CPU, [24.0]), converge("real-data-box", [400.0], data_source="/data/cifar10", target=0.6)]
    table = to_target_table(analyse(rows))
    firsts = [cell.splitlines()[0] for cell in cells(table, "fastest_to_target")]
    assert firsts == ["to 30% test accuracy on the hard synthetic set",
                      "to 60% test accuracy on real CIFAR-10 (/data/cifar10)"]
