"""reports.analysis.like_for_like: machines measured on different grids, compared at the settings they share."""

from __future__ import annotations

import pytest

from reports.analysis.analyse import analyse
from reports.page import words as say
from reports.page.parts.evidence import comparison_sentences
from tests.typed_cases import epoch


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


def test_the_faster_machine_is_named_first_even_when_it_is_not_the_reference():
    # The reference is the machine the answer ranks first (its GPU, say); on the CPU it may be the slower one.
    a = [epoch("a", 900, device="cpu", num_workers=0, cpu_threads=16), epoch("a", 100_000, device="cuda:0")]
    b = [epoch("b", 2_000, device="cpu", num_workers=0, cpu_threads=2),
         epoch("b", 12_000, device="cpu", num_workers=0, batch_size=128, cpu_threads=2)]
    [comparison] = analyse([*a, *b]).comparisons
    assert comparison.reference == "a"
    sentence = say.comparison(comparison)
    assert "b's best measured epoch of tutorial is 13x a's" in sentence
    assert "0.07" not in sentence


def test_best_epochs_inside_their_intervals_are_no_measurable_difference():
    a = [epoch("a", 2_100, device="cpu", interval=(1_900, 2_300)),
         epoch("a", 2_300, device="cpu", batch_size=64, interval=(2_000, 2_600))]
    b = [epoch("b", 2_050, device="cpu", interval=(1_800, 2_250))]
    analysis = analyse([*a, *b])
    [sentence] = comparison_sentences(analysis)
    assert "a's and b's best measured epochs of tutorial are 1.1x apart, inside their intervals: no measurable " \
           "difference" in sentence
    apart = analyse([*a[:1], epoch("a", 9_000, device="cpu", batch_size=64, interval=(8_800, 9_200)), *b])
    [sentence] = comparison_sentences(apart)
    assert "a's best measured epoch of tutorial is 4.4x b's" in sentence
