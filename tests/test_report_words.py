"""reports.page.words: sentences that no finding's own tests cover."""

from __future__ import annotations

from reports.page import target_words as goal
from reports.page import words as say
from reports.reading.cases import Case
from tests.typed_cases import CPU, epoch


def test_accuracy_after_a_short_epoch_is_explained():
    [case] = [epoch(CPU, 1_000, device="cpu")]
    short = Case(case.group, case.config, case.images_per_sec, eval_accuracy=0.07, epoch_images=512.0)
    note = say.accuracy_note([short])
    assert "after training on 512 images" in note
    assert "timed, not trained to convergence" in note
    assert say.accuracy_note([Case(case.group, case.config, 1.0, eval_accuracy=0.6)]) is None


def test_the_auto_search_is_said_in_a_line():
    search = {"candidates": 12, "trials": [{}] * 20, "spent_seconds": 300.0, "budget_seconds": 600.0,
              "stop": {"code": "budget", "figure": 40.0, "threshold": 20.0}}
    assert goal.search_line(search) == ("auto search: 12 configurations, 20 trials in 5.0 min of 10.0 min; stopped: "
                                       "its time budget ran out")
    assert goal.search_line({"candidates": 3, "stop": None}) == "auto search: 3 configurations; not finished"
