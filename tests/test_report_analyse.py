"""reports.analysis.analyse: the whole analysis of typed cases, an invalid epoch through every finding, and
real result files analysed in plain words."""

from __future__ import annotations

import warnings

import pytest

from bench.contract import Reason
from reports.analysis.analyse import analyse
from reports.page import words as say
from reports.reading.cases import cases
from reports.reading.load import load_records
from reports.reading.tidy import tidy
from tests.report_data import DATA
from tests.typed_cases import CPU, busy_cpu, epoch


def test_an_invalid_epoch_gets_no_verdict_and_no_recommendation_and_says_why():
    reasons = (Reason("other_cpu", "invalid", 180.0, 50.0, {"resolution_pct": None, "steal_pct": None}),)
    rows = [*busy_cpu()[:2], epoch(CPU, 1_900, device="cpu", trust="invalid", trust_reasons=reasons)]
    analysis = analyse(rows)
    [verdict] = analysis.verdicts
    assert verdict.verdict is None
    assert say.limit(verdict) == "not judged: invalid measurement"
    assert "Other processes used 180% of a core while the rounds ran" in say.evidence(verdict)
    [answer] = analysis.answers
    assert answer.rank is None
    assert answer.recommendation.best is None
    assert "invalid" in say.advice(answer.recommendation, 2)
    assert analysis.trust[CPU].level == "invalid"
    assert analysis.trust[CPU].epochs_all_invalid
    assert "not ranked" in say.trust_line(analysis.trust[CPU])


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
