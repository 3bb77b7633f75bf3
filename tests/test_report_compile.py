"""The compile stage (reports/analysis/compile_payoff.py) and the compile axis through the report.

The rules are checked on typed cases with made-up numbers on either side of each rule; a real
result file (tests/data/compile: eager and compiled train steps and epochs at batch 128 on a
2-core CPU, recorded on a loaded machine, so most of its cases are invalid) goes through the
whole pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.contract import documented_case_keys
from reports.analysis.analyse import analyse
from reports.analysis.compile_payoff import payoffs
from reports.page import words as say
from reports.page.build import build_report, build_report_data
from reports.reading.cases import Case, Config, cases
from reports.reading.load import load_records
from reports.reading.tidy import eager, tidy

DATA = Path(__file__).parent / "data"
COMPILED_RUN = DATA / "compile" / "cpu-2core-compile_20261125T220030Z.json"
OLDER_RUN = DATA / "cpu-2core-a_20261124T141651Z.json"  # recorded before the compile axis


def step(images_per_sec, compile="eager", compile_seconds=None, recompiles=None, trust="ok", rounds_spread=0.02,
         amp=False, batch_size=128):
    return Case("train_step", Config("box", "cpu", "tutorial", batch_size, compile=compile), images_per_sec,
                amp=amp, compile_seconds=compile_seconds, recompiles=recompiles, trust=trust,
                rounds_spread=rounds_spread)


def epoch(full_epoch_seconds, compile="eager", compile_seconds=None, trust="ok", loader="device"):
    return Case("epoch", Config("box", "cpu", "tutorial", 128, 0, loader, "tutorial", compile),
                50_000 / full_epoch_seconds, full_epoch_seconds=full_epoch_seconds,
                compile_seconds=compile_seconds, recompiles=0 if compile != "eager" else None, trust=trust,
                rounds_spread=0.02)


def test_a_faster_compiled_epoch_pays_off_after_compile_seconds_over_the_seconds_saved():
    [found] = payoffs([epoch(30.0), epoch(20.0, "default", compile_seconds=25.0)])
    assert found.speedup == pytest.approx(1.5)
    assert found.saved_seconds_per_epoch == pytest.approx(10.0)
    assert found.outcome == "pays_off"
    assert found.break_even_epochs == pytest.approx(2.5)
    assert say.compile_payoff(found) == ("after 2.5 epochs: 1.5x eager's speed saves 10.0 s an epoch against "
                                         "25 s of compiling")


def test_a_train_step_break_even_is_over_50000_images_at_the_steps_rate():
    [found] = payoffs([step(10_000.0), step(12_500.0, "default", compile_seconds=9.0)])
    assert found.eager_epoch_seconds == pytest.approx(5.0)
    assert found.compiled_epoch_seconds == pytest.approx(4.0)
    assert found.break_even_epochs == pytest.approx(9.0)


def test_a_compiled_case_that_is_not_faster_never_pays_off():
    [slower] = payoffs([step(18_000.0), step(11_000.0, "default", compile_seconds=9.0)])
    assert slower.outcome == "never"
    assert slower.break_even_epochs is None
    assert say.compile_payoff(slower).startswith("never: compiled runs at 0.61x eager's speed")
    [same] = payoffs([step(10_000.0), step(10_000.0, "default", compile_seconds=9.0)])
    assert same.outcome == "never"


def test_a_speedup_within_the_rounds_spread_says_so():
    [found] = payoffs([step(10_000.0, rounds_spread=0.08), step(10_500.0, "default", compile_seconds=9.0)])
    assert found.within_spread
    assert "(within the rounds' spread)" in say.compile_payoff(found)


def test_no_break_even_from_an_invalid_case_or_rounds_that_recompiled():
    [invalid] = payoffs([step(10_000.0, trust="invalid"), step(20_000.0, "default", compile_seconds=9.0)])
    assert invalid.outcome == "not_judged"
    assert invalid.break_even_epochs is None
    assert invalid.speedup == pytest.approx(2.0)  # still shown
    [recompiled] = payoffs([step(10_000.0), step(20_000.0, "default", compile_seconds=9.0, recompiles=2)])
    assert recompiled.outcome == "not_judged"
    assert say.compile_payoff(recompiled).startswith("not judged: 2 recompiles inside the timed rounds")


def test_each_compiled_case_is_paired_with_the_eager_case_of_its_own_configuration():
    found = payoffs([step(10_000.0), step(9_000.0, amp=True), step(4_000.0, batch_size=4),
                     step(12_000.0, "default", compile_seconds=9.0, amp=True),
                     step(5_000.0, "max-autotune", compile_seconds=60.0, batch_size=4),
                     step(7_000.0, "default", compile_seconds=9.0, batch_size=32)])
    assert [(p.mode, p.eager.images_per_sec if p.eager else None) for p in found] == [
        ("default", 9_000.0), ("max-autotune", 4_000.0), ("default", None)]
    assert found[2].outcome == "unknown"
    assert say.compile_payoff(found[2]) == "no eager case of this configuration to compare with"


def test_verdicts_and_advice_compare_eager_cases_only():
    analysis = analyse([epoch(30.0), epoch(10.0, "default", compile_seconds=25.0), step(10_000.0)])
    assert [v.epoch.config.compile for v in analysis.verdicts] == ["eager"]
    assert analysis.recommendations[0].best.config.compile == "eager"
    assert len(analysis.compile_payoffs) == 1


# --- a real result file through the pipeline ---------------------------------------------------------


@pytest.fixture(scope="module")
def records():
    return load_records([COMPILED_RUN])


def test_the_recorded_file_writes_only_documented_keys():
    document = json.loads(COMPILED_RUN.read_text(encoding="utf-8"))
    for bench in document["benchmarks"]:
        assert not set(bench["extra_info"]) - documented_case_keys(bench["group"]), bench["name"]


def test_tidy_keeps_compiled_and_eager_rows_apart_and_reads_older_files_as_eager(records):
    frame = tidy(records)
    assert sorted(zip(frame["group"], frame["compile"], strict=True)) == [
        ("epoch", "default"), ("epoch", "eager"), ("train_step", "default"), ("train_step", "eager")]
    compiled = frame[frame["compile"] == "default"]
    assert (compiled["compile_seconds"] > 0).all()
    assert (compiled["recompiles"] == 0).all()
    assert set(eager(frame)["compile"]) == {"eager"}
    older = tidy(load_records([OLDER_RUN]))
    assert set(older.loc[older["group"].isin(["train_step", "epoch"]), "compile"]) == {"eager"}
    assert older.loc[older["group"].isin(["loader", "forward"]), "compile"].isna().all()


def test_the_report_has_a_compile_table_and_the_axis_in_the_group_tables(records):
    data = build_report_data(records)
    table = data.compile_payoffs
    assert table is not None
    assert [column.name for column in table.columns][:6] == ["machine", "device", "model", "group", "configuration",
                                                             "compile"]
    assert len(table.rows) == 2
    headers = {group.group: [column.name for column in group.table.columns] for group in data.groups}
    assert "compile" in headers["train_step"]
    assert "compile" in headers["epoch"]
    page = build_report(records)
    assert 'id="compile-payoff"' in page
    assert "Does torch.compile pay off?" in page


def test_the_recorded_cases_are_judged_by_their_trust(records):
    found = payoffs(cases(tidy(records)))
    assert sorted(p.group for p in found) == ["epoch", "train_step"]
    for payoff in found:
        assert payoff.eager is not None
        assert payoff.compile_seconds > 0
        # Recorded while other tests ran on the machine: invalid, so no break-even is given.
        assert payoff.trust == "invalid"
        assert payoff.outcome == "not_judged"
        assert payoff.break_even_epochs is None
