"""reports.analysis.like_for_like: machines measured on different grids, compared at the settings they share."""

from __future__ import annotations

import pytest

from reports.analysis.analyse import analyse
from reports.page import words as say
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
