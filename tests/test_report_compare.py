"""python -m reports compare: the verdict rules on typed cases, then the command on real recorded files.

Nothing here is timed and no speed is asserted: the verdicts follow from figures written into
typed cases, from real files compared with themselves or with each other, and from copies of a
real file whose rounds were scaled by a known factor (each such test says so, and why).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from reports.analysis.run_compare import (
    DATA_SOURCE,
    DEVICE,
    INVALID_RUN,
    NO_INTERVAL,
    NO_SCIPY,
    RESOURCE,
    SETTING,
    THREADS,
    TOO_FEW_ROUNDS,
    Measured,
    MixedMachinesError,
    NoCaseInCommonError,
    Rule,
    Verdict,
    compare_case,
    compare_runs,
    scipy_rank_test,
    smallest_p,
)
from reports.page import compare_text
from reports.page.display import p_value
from reports.reading.load import Record, records_from_document

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
RECORDED = DATA / "recorded"
QUIET = RECORDED / "cpu-2core-quiet_20261125T221429Z.json"  # a quiet 2-core CPU sweep, quick preset
LOADED = RECORDED / "cpu-2core-loaded_20261125T221637Z.json"  # the same machine under load: every case invalid
GPU = RECORDED / "h200-lease_20261126T003056Z.json"
CPU_A = DATA / "cpu-2core-a_20261124T141651Z.json"  # an older harness's sweep, 2 torch threads
CPU_B = DATA / "cpu-2core-b_20261124T141754Z.json"  # the same grid's shared cases at 1 thread
DDP = DATA / "ddp" / "cpu-2core-ddp_20261125T213926Z.json"  # ddp cases only
PHASES_OFF = "bench_phase_overhead[phases_off-cpu]"  # 15 rounds: enough for the rank test
EPOCH = "bench_epoch[tutorial-cpu-pil-tutorial-bs4-w0-eager]"  # 2 rounds: too few for it


# typed cases

def measured(figure: float = 1000.0, interval: tuple[float, float] | None = None, rounds: int = 10,
             spread: float = 0.01, **changes) -> Measured:
    """A case measured at `figure` images/s, its rounds evenly within +-`spread`, its interval around it."""
    step = 2 * spread / max(rounds - 1, 1)
    round_figures = tuple(figure * (1 - spread + step * index) for index in range(rounds))
    base = Measured(name="bench_epoch[x]", machine="m", file="f.json", group="epoch", images_per_sec=figure,
                    interval=interval or (figure * 0.97, figure * 1.03), interval_basis="repeats",
                    round_images_per_sec=round_figures, trust="ok",
                    params=(("batch_size", 4), ("device", "cpu")), cpu_threads=2, data_source="synthetic",
                    device_name="cpu")
    return replace(base, **changes)


def fixed_p(p: float):
    """A rank test that answers `p` whatever the rounds (the rules' logic, not scipy's, under test)."""
    return lambda old, new: p


def test_beyond_the_factor_but_intervals_overlapping_is_no_measurable_change():
    old = measured(1000, interval=(800, 1250))
    new = measured(1200, interval=(1000, 1400))
    found = compare_case(old, new, rank_test=fixed_p(0.0001))
    assert found.verdict is Verdict.SAME
    assert found.check(Rule.FACTOR).held is True
    assert found.check(Rule.INTERVALS).held is False
    assert compare_text.verdict_sentence(found) == "no measurable change: 1.2x, inside an interval"


def test_intervals_apart_but_within_the_factor_is_no_measurable_change():
    old = measured(1000, interval=(995, 1005))
    new = measured(1050, interval=(1045, 1055))
    found = compare_case(old, new, rank_test=fixed_p(0.0001))
    assert found.verdict is Verdict.SAME
    assert found.check(Rule.INTERVALS).held is True
    assert found.check(Rule.FACTOR).held is False
    assert compare_text.verdict_sentence(found) == "no measurable change: 1.05x, within 1.1x"


def test_apart_beyond_the_factor_and_a_small_p_is_slower():
    found = compare_case(measured(1000), measured(520), rank_test=fixed_p(0.0002))
    assert found.verdict is Verdict.SLOWER
    assert all(check.held for check in found.checks)
    assert compare_text.verdict_sentence(found) == "slower: 0.52x, outside the intervals, p = 0.0002"


def test_apart_beyond_the_factor_and_a_small_p_from_scipy_is_faster():
    pytest.importorskip("scipy")
    found = compare_case(measured(1000), measured(1500), rank_test=scipy_rank_test())
    assert found.verdict is Verdict.FASTER
    assert found.check(Rule.RANK_TEST).figure < 0.01  # ten rounds each, all of new above all of old


def test_a_rank_test_that_does_not_reject_keeps_it_no_measurable_change():
    found = compare_case(measured(1000), measured(520), rank_test=fixed_p(0.2))
    assert found.verdict is Verdict.SAME
    assert compare_text.verdict_sentence(found) == "no measurable change: 0.52x, p = 0.2"


def test_too_few_rounds_for_the_rank_test_leaves_intervals_and_factor_to_decide_and_says_so():
    def never_called(old, new):
        raise AssertionError("the rank test ran on too few rounds")

    found = compare_case(measured(1000, rounds=2), measured(500, rounds=2), rank_test=never_called)
    assert found.verdict is Verdict.SLOWER
    rank = found.check(Rule.RANK_TEST)
    assert rank.held is None
    assert rank.skipped == TOO_FEW_ROUNDS
    assert rank.figure == pytest.approx(1 / 6)
    assert compare_text.verdict_sentence(found) == (
        "slower: 0.50x, outside the intervals, no rank test (2 and 2 rounds cannot reach p < 0.01)")


@pytest.mark.parametrize(("old_rounds", "new_rounds", "possible"),
                         [(2, 2, False), (3, 3, False), (4, 4, False), (5, 5, True), (2, 30, True), (1, 99, False)])
def test_the_rank_test_runs_only_where_the_rounds_can_reach_alpha(old_rounds, new_rounds, possible):
    """asv's check: the most extreme ranking's p, 1 / C(n + m, min(n, m)), must be below alpha."""
    assert (smallest_p(old_rounds, new_rounds) < 0.01) is possible
    found = compare_case(measured(rounds=old_rounds), measured(rounds=new_rounds), rank_test=fixed_p(0.5))
    assert (found.check(Rule.RANK_TEST).skipped is None) is possible


def test_no_interval_on_a_side_means_no_measurable_change():
    found = compare_case(measured(1000), replace(measured(500), interval=None), rank_test=fixed_p(0.0001))
    assert found.verdict is Verdict.SAME
    assert found.check(Rule.INTERVALS).skipped == NO_INTERVAL


@pytest.mark.parametrize(("old_trust", "new_trust", "words"),
                         [("ok", "invalid", "new run invalid"), ("invalid", "noisy", "old run invalid"),
                          ("invalid", "invalid", "both runs invalid")])
def test_an_invalid_side_is_not_comparable(old_trust, new_trust, words):
    found = compare_case(measured(1000, trust=old_trust), measured(500, trust=new_trust), rank_test=fixed_p(0.0001))
    assert found.verdict is Verdict.NOT_COMPARABLE
    assert [obstacle.code for obstacle in found.obstacles] == [INVALID_RUN]
    assert compare_text.verdict_sentence(found) == f"not comparable: {words}"


def test_a_noisy_side_is_still_compared():
    found = compare_case(measured(1000, trust="noisy"), measured(500), rank_test=fixed_p(0.0001))
    assert found.verdict is Verdict.SLOWER


@pytest.mark.parametrize(("changes", "fact", "words"), [
    ({"params": (("batch_size", 8), ("device", "cpu"))}, "batch_size", "batch_size 4 -> 8"),
    ({"data_source": "data/cifar-10"}, DATA_SOURCE, "data source synthetic -> data/cifar-10"),
    ({"device_name": "NVIDIA H200"}, DEVICE, "device cpu -> NVIDIA H200"),
])
def test_different_settings_are_not_comparable_and_named(changes, fact, words):
    found = compare_case(measured(1000), measured(500, **changes), rank_test=fixed_p(0.0001))
    assert found.verdict is Verdict.NOT_COMPARABLE
    assert [(obstacle.code, obstacle.fact) for obstacle in found.obstacles] == [(SETTING, fact)]
    assert compare_text.verdict_sentence(found, ratio=False) == f"not comparable: {words}"


@pytest.mark.parametrize(("changes", "fact", "words"), [
    ({"cpu_threads": 1}, THREADS, "torch threads 2 -> 1"),
    ({"params": (("device", "cpu"), ("threads", 1))}, "threads", "threads 2 -> 1"),
])
def test_fewer_threads_are_compared_and_named_beside_the_verdict(changes, fact, words):
    """The CPU a run is given is what a gate must catch (a container's limit, OMP_NUM_THREADS)."""
    old = measured(1000, params=(("device", "cpu"), ("threads", 2)))
    found = compare_case(old, measured(500, **{"params": (("device", "cpu"), ("threads", 2)), **changes}),
                         rank_test=fixed_p(0.0001))
    assert found.verdict is Verdict.SLOWER
    assert found.obstacles == ()
    assert [(resource.code, resource.fact) for resource in found.resources] == [(RESOURCE, fact)]
    assert compare_text.verdict_sentence(found, ratio=False).endswith(f"; {words}")
    assert compare_text.resources_line([found]).startswith(f"{words} in 1 case: compared anyway")


def test_a_figure_inside_the_other_runs_interval_is_no_measurable_change_even_where_one_is_outside():
    old = measured(1000, interval=(700, 1300))
    new = measured(750, interval=(720, 780))  # 1000 is outside new's narrow interval, 750 inside old's
    found = compare_case(old, new, rank_test=fixed_p(0.0001))
    assert found.verdict is Verdict.SAME
    assert found.check(Rule.INTERVALS).held is False


def test_a_setting_recorded_on_one_side_only_does_not_block():
    """Older files lack data_source on some groups: unknown is not a difference."""
    found = compare_case(measured(1000), measured(1000, data_source=None), rank_test=fixed_p(0.5))
    assert found.verdict is Verdict.SAME


def test_scipy_missing_is_said_and_intervals_and_factor_still_decide(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.stats", None)  # `from scipy.stats import ...` raises ImportError
    assert scipy_rank_test() is None
    comparison = compare_runs(records(QUIET), records(QUIET, scaled=2.0))
    assert not comparison.rank_test_available
    phases = case(comparison, PHASES_OFF)
    assert phases.verdict is Verdict.SLOWER
    assert phases.check(Rule.RANK_TEST).skipped == NO_SCIPY
    assert compare_text.NO_SCIPY_LINE in compare_text.render(comparison)


# records: real recorded files, and copies of them edited in memory

def scale_rounds(document: dict, factor: float) -> dict:
    """A copy of a results document as if every timed round had taken `factor` times as long.

    Every figure made from the rounds' seconds follows (stats, images/s, its interval, the
    repeats), so the copy reads like a run on a machine `factor` times slower.
    """
    document = copy.deepcopy(document)
    for benchmark in document["benchmarks"]:
        stats = benchmark["stats"]
        stats["data"] = [seconds * factor for seconds in stats["data"]]
        for key in ("min", "max", "mean", "median", "stddev", "q1", "q3", "iqr", "total", "ld15iqr", "hd15iqr"):
            if isinstance(stats.get(key), int | float):
                stats[key] *= factor
        info = benchmark.get("extra_info") or {}
        for key in ("images_per_sec", "achieved_tflops", "images_per_joule"):
            if isinstance(info.get(key), int | float):
                info[key] /= factor
        for key in ("median_round_seconds", "epoch_seconds", "full_epoch_seconds"):
            if isinstance(info.get(key), int | float):
                info[key] *= factor
        if info.get("images_per_sec_interval"):
            info["images_per_sec_interval"] = [end / factor for end in info["images_per_sec_interval"]]
        for repeat in info.get("repeats") or []:
            repeat["images_per_sec"] /= factor
            repeat["seconds"] = [seconds * factor for seconds in repeat.get("seconds") or []]
    return document


def with_canary(document: dict, images_per_sec: list[float]) -> dict:
    """A copy with canary readings of the machine's own speed (no recorded file carries them yet)."""
    document = copy.deepcopy(document)
    readings = [{"at_s": 10.0 * index, "before": None, "images_per_sec": value, "seconds": 1.0}
                for index, value in enumerate(images_per_sec)]
    document["machine_info"]["cifarbench"]["canary"] = {"workload": "matmul", "readings": readings, "drift": 0.0,
                                                        "threshold": 0.1}
    return document


def started_at(document: dict, started: str) -> dict:
    document = copy.deepcopy(document)
    document["cifarbench"]["started"] = started
    return document


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def records(path: Path, scaled: float | None = None) -> list[Record]:
    document = read(path)
    return records_from_document(scale_rounds(document, scaled) if scaled else document, path.name)


def case(comparison, name: str):
    return next(found for found in comparison.cases if found.name == name)


def test_a_run_compared_with_itself_has_no_measurable_change():
    comparison = compare_runs(records(QUIET), records(QUIET))
    assert {found.verdict for found in comparison.cases} == {Verdict.SAME}
    assert len(comparison.without_figure) == 2  # the sampler-overhead cases time the sampler, not images
    assert not comparison.changes


def test_a_run_scaled_to_half_the_speed_is_slower_everywhere():
    """An edited copy: every round of the quiet run taken twice as long (a real 0.5x is not on file)."""
    comparison = compare_runs(records(QUIET), records(QUIET, scaled=2.0))
    assert {found.verdict for found in comparison.cases} == {Verdict.SLOWER}
    rank = case(comparison, PHASES_OFF).check(Rule.RANK_TEST)  # 15 rounds each
    assert rank.held is True if scipy_rank_test() is not None else rank.skipped == NO_SCIPY
    assert case(comparison, EPOCH).check(Rule.RANK_TEST).skipped == TOO_FEW_ROUNDS  # 2 rounds each
    assert comparison.fails("slower")
    assert comparison.fails("changed")


def test_a_run_scaled_to_twice_the_speed_is_faster_and_fails_only_a_changed_gate():
    """An edited copy: every round of the quiet run in half the time."""
    comparison = compare_runs(records(QUIET), records(QUIET, scaled=0.5))
    assert {found.verdict for found in comparison.cases} == {Verdict.FASTER}
    assert not comparison.fails("slower")
    assert comparison.fails("changed")


def test_a_small_scaling_stays_within_the_factor():
    """An edited copy: rounds 5% longer, inside the default 1.1x: nothing measurable."""
    comparison = compare_runs(records(QUIET), records(QUIET, scaled=1.05))
    assert Verdict.SLOWER not in {found.verdict for found in comparison.cases}
    assert not comparison.fails("slower")


def test_the_newest_run_of_a_case_is_used_within_a_side():
    """Two edited copies of the quiet run on the new side: the later one (2x slower) is the one compared."""
    quiet = read(QUIET)
    newer = started_at(scale_rounds(quiet, 2.0), "2026-11-26T09:00:00+00:00")
    older = started_at(quiet, "2026-11-26T08:00:00+00:00")
    new_side = records_from_document(newer, "newer.json") + records_from_document(older, "older.json")
    comparison = compare_runs(records(QUIET), new_side)
    assert {found.verdict for found in comparison.cases} == {Verdict.SLOWER}
    assert comparison.new.files == ("newer.json",)


def test_the_loaded_machine_is_not_comparable_because_it_is_invalid():
    comparison = compare_runs(records(QUIET), records(LOADED))
    assert {found.verdict for found in comparison.cases} == {Verdict.NOT_COMPARABLE}
    assert {obstacle.code for found in comparison.cases for obstacle in found.obstacles} == {INVALID_RUN}


def test_another_machine_and_torch_are_changes_of_the_run_not_obstacles():
    comparison = compare_runs(records(QUIET), records(GPU))
    changes = {change.fact: (change.old, change.new) for change in comparison.changes}
    assert changes["machine"] == (("cpu-2core-quiet",), ("h200-lease",))
    assert changes["torch"] == (("2.14.1+cu130",), ("2.11.0+cu130",))
    lines = compare_text.header(comparison)
    assert "torch 2.14.1+cu130 -> 2.11.0+cu130" in lines
    assert "machine cpu-2core-quiet -> h200-lease" in lines
    # What stops these cases is their settings (16 threads on the H200), named, never the machine.
    assert {obstacle.fact for found in comparison.cases for obstacle in found.obstacles} == {DEVICE}
    assert {resource.fact for found in comparison.cases for resource in found.resources} == {THREADS}


def test_the_machines_own_speed_is_compared_when_both_runs_read_the_canary():
    """Edited copies: the recorded files predate the canary, so readings are written into copies."""
    old = records_from_document(with_canary(read(QUIET), [1000.0, 1010.0, 990.0]), "old.json")
    new = records_from_document(with_canary(read(QUIET), [870.0, 860.0, 880.0]), "new.json")
    comparison = compare_runs(old, new)
    assert comparison.canary_ratio == pytest.approx(0.87)
    assert comparison.canary_beyond_factor
    assert ("the machine itself read 0.87x against the old run (canary, median 1.0k -> 870 img/s): "
            "compare with care") in compare_text.header(comparison)
    # The figures are never corrected by it.
    assert {found.ratio for found in comparison.cases if found.ratio is not None} == {1.0}


def test_canary_within_the_factor_carries_no_warning_and_one_side_only_is_said():
    steady = records_from_document(with_canary(read(QUIET), [1000.0]), "a.json")
    close = records_from_document(with_canary(read(QUIET), [980.0]), "b.json")
    line = compare_text.canary_line(compare_runs(steady, close))
    assert line == "the machine itself read 0.98x against the old run (canary, median 1.0k -> 980 img/s)"
    one_side = compare_text.canary_line(compare_runs(records(QUIET), steady))
    assert one_side.startswith("canary: only the new run read the machine's own speed")


def test_several_machines_match_by_machine_and_name_when_both_sides_hold_the_same():
    both = records(QUIET) + records(GPU)
    comparison = compare_runs(both, both)
    assert {found.machine for found in comparison.cases} == {"cpu-2core-quiet", "h200-lease"}
    assert {found.verdict for found in comparison.cases} == {Verdict.SAME}
    assert compare_text.case_name(comparison.cases[0]).startswith(f"{comparison.cases[0].machine}: bench_")


def test_several_machines_against_other_machines_is_refused_with_the_fix():
    with pytest.raises(MixedMachinesError) as raised:
        compare_runs(records(QUIET) + records(GPU), records(QUIET))
    line = compare_text.error_line(raised.value, ["old/"], ["new.json"])
    assert line == ("old/ holds 2 machines (cpu-2core-quiet, h200-lease) and new.json 1 machine (cpu-2core-quiet); "
                    "give one machine's result files on each side (or the same machines on both)")


def test_no_case_in_common_is_refused():
    with pytest.raises(NoCaseInCommonError) as raised:
        compare_runs(records(CPU_A), records(DDP))  # the older sweep ran no ddp case
    assert compare_text.error_line(raised.value, ["a.json"], ["ddp.json"]) == (
        "no case in common between a.json (26 cases) and ddp.json (2 cases); compare runs of the same sweep "
        "(same preset and --bench-* options)")


def test_p_value_format():
    assert [p_value(p) for p in (0.5, 0.031, 0.0002, 1e-9)] == ["p = 0.5", "p = 0.031", "p = 0.0002", "p < 0.0001"]


# the command line, in a child process as a user types it

def run_reports(*arguments: str, cwd: Path, python: tuple[str, ...] = ("-m", "reports")) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               MPLBACKEND="Agg")
    return subprocess.run([sys.executable, *python, *arguments], capture_output=True, text=True, check=False,
                          cwd=cwd, env=env)


def table_rows(stdout: str) -> list[list[str]]:
    """The table's cases, each as its cells (header and rule left out)."""
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in stdout.splitlines()
            if line.startswith("| ")]
    return rows[2:] if rows and rows[0][0] == "case" else rows


def write(path: Path, document: dict) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_cli_a_file_compared_with_itself(tmp_path):
    completed = run_reports("compare", str(QUIET), str(QUIET), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    rows = table_rows(completed.stdout)
    assert len(rows) == 29
    assert {row[-1].split(":")[0] for row in rows} == {"no measurable change"}
    assert "29 cases in common: 29 no measurable change; 2 without an images/s figure" in completed.stdout
    assert completed.stderr == ""


def test_cli_two_different_recorded_cpu_runs(tmp_path):
    """b ran with one torch thread, a with two: compared, the difference named on every row."""
    completed = run_reports("compare", str(CPU_A), str(CPU_B), "--fail-on", "changed", cwd=tmp_path)
    assert "- machine cpu-2core-a -> cpu-2core-b" in completed.stdout
    assert "- torch threads 2 -> 1 in 6 cases: compared anyway" in completed.stdout
    rows = table_rows(completed.stdout)
    assert len(rows) == 6
    assert all(row[-1].endswith("; torch threads 2 -> 1") for row in rows)
    verdicts = [row[-1].split(":")[0] for row in rows]
    assert "not comparable" not in verdicts
    assert completed.returncode == (1 if {"faster", "slower"} & set(verdicts) else 0), completed.stderr
    assert "20 only in old, 14 only in new" in completed.stdout


def test_cli_two_recorded_cpu_machines_on_different_days(tmp_path):
    """The older harness's 2-thread sweep against the quiet machine's: real figures, real verdicts."""
    completed = run_reports("compare", str(CPU_A), str(QUIET), "--fail-on", "changed", cwd=tmp_path)
    assert "- machine cpu-2core-a -> cpu-2core-quiet" in completed.stdout
    assert "- torch 2.15.0+cu132 -> 2.14.1+cu130" in completed.stdout
    rows = table_rows(completed.stdout)
    assert len(rows) == 12  # the loader and forward cases both swept at 2 threads
    verdicts = [row[-1].split(":")[0] for row in rows]
    assert set(verdicts) <= {verdict.value for verdict in Verdict}
    for row in rows:  # 3 rounds a side: a change rests on the factor and the intervals alone, and says so
        if row[-1].startswith(("faster", "slower")):
            assert row[-1].endswith("outside the intervals, no rank test (3 and 3 rounds cannot reach p < 0.01)")
    changed = any(verdict in ("faster", "slower") for verdict in verdicts)
    assert completed.returncode == (1 if changed else 0), completed.stderr


def test_cli_quiet_against_loaded_names_the_invalid_run(tmp_path):
    completed = run_reports("compare", str(QUIET), str(LOADED), "--fail-on", "slower", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert {row[-1] for row in table_rows(completed.stdout)} == {"not comparable: new run invalid"}


def test_cli_a_halved_copy_is_slower_and_fails_the_gate(tmp_path):
    """An edited copy of a real recorded file, every round's seconds x2: a 0.5x slowdown of known size,
    since no recorded pair of runs differs by a known amount."""
    slow = write(tmp_path / "slow.json", scale_rounds(read(QUIET), 2.0))
    gated = run_reports("compare", str(QUIET), str(slow), "--fail-on", "slower", cwd=tmp_path)
    assert gated.returncode == 1, gated.stderr
    rows = table_rows(gated.stdout)
    assert {row[3] for row in rows} == {"0.50x"}
    assert {row[-1].split(":")[0] for row in rows} == {"slower"}
    phases = next(row for row in rows if row[0] == PHASES_OFF)
    assert phases[-1] == ("slower: beyond 1.1x, outside the intervals, p < 0.0001" if scipy_rank_test() is not None
                          else "slower: beyond 1.1x, outside the intervals, no rank test (no scipy)")
    assert gated.stderr.startswith("failed: 29 cases slower (--fail-on slower): ")
    assert run_reports("compare", str(QUIET), str(slow), cwd=tmp_path).returncode == 0  # no gate, no failure


def test_cli_a_faster_copy_fails_only_the_changed_gate(tmp_path):
    """An edited copy of a real recorded file, every round's seconds x0.5: twice the speed."""
    fast = write(tmp_path / "fast.json", scale_rounds(read(QUIET), 0.5))
    assert run_reports("compare", str(QUIET), str(fast), "--fail-on", "slower", cwd=tmp_path).returncode == 0
    changed = run_reports("compare", str(QUIET), str(fast), "--fail-on", "changed", cwd=tmp_path)
    assert changed.returncode == 1
    assert "29 faster" in changed.stdout


def test_cli_folders_of_several_machines_match_by_machine(tmp_path):
    completed = run_reports("compare", str(RECORDED), str(RECORDED), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    names = [row[0] for row in table_rows(completed.stdout)]
    assert any(name.startswith("h200-lease: bench_") for name in names)
    assert any(name.startswith("cpu-2core-quiet: bench_") for name in names)


def test_cli_a_folder_uses_its_newest_run(tmp_path):
    """A folder of two edited copies of the quiet run: the newer one, 2x slower, is compared."""
    folder = tmp_path / "new"
    folder.mkdir()
    write(folder / "a.json", started_at(scale_rounds(read(QUIET), 2.0), "2026-11-26T09:00:00+00:00"))
    write(folder / "b.json", started_at(read(QUIET), "2026-11-26T08:00:00+00:00"))
    completed = run_reports("compare", str(QUIET), str(folder), "--fail-on", "slower", cwd=tmp_path)
    assert completed.returncode == 1
    assert f"- new: {folder} (cpu-2core-quiet; 1 file used: a.json)" in completed.stdout


def test_cli_without_scipy_says_so_and_still_decides(tmp_path):
    """As on the GPU images, which carry no scipy: the import is blocked in the child process."""
    slow = write(tmp_path / "slow.json", scale_rounds(read(QUIET), 2.0))
    blocked = ("-c", "import runpy, sys; sys.modules['scipy'] = None; sys.argv[0] = 'reports'; "
                     "runpy.run_module('reports', run_name='__main__')")
    completed = run_reports("compare", str(QUIET), str(slow), "--fail-on", "slower", cwd=tmp_path, python=blocked)
    assert completed.returncode == 1, completed.stderr
    assert f"- {compare_text.NO_SCIPY_LINE}" in completed.stdout
    phases = next(row for row in table_rows(completed.stdout) if row[0] == PHASES_OFF)
    assert phases[-1] == "slower: beyond 1.1x, outside the intervals, no rank test (no scipy)"


@pytest.mark.parametrize(("arguments", "message"), [
    (("missing.json", str(QUIET)), "error: OLD missing.json: no such file or folder; give a result file or a folder"),
    ((str(QUIET), "empty"), "error: NEW empty: no cifarbench results there"),
    ((str(QUIET), str(DATA / "foreign_pytest_benchmark.json")), "no cifarbench results there"),
    ((str(CPU_A), str(DDP)), "error: no case in common between"),
    ((str(RECORDED), str(QUIET)), "give one machine's result files on each side"),
    ((str(QUIET), str(QUIET), "--factor", "0.9"), "error: --factor 0.9: the minimum factor must be above 1"),
    ((str(QUIET), str(QUIET), "--alpha", "2"), "error: --alpha 2.0: the rank test's threshold must be between"),
])
def test_cli_usage_errors_are_one_line_and_exit_2(tmp_path, arguments, message):
    (tmp_path / "empty").mkdir()
    completed = run_reports("compare", *arguments, cwd=tmp_path)
    assert completed.returncode == 2
    assert message in completed.stderr
    assert len(completed.stderr.strip().splitlines()) == 1
    assert completed.stdout == ""


def test_cli_the_report_form_still_writes_a_report(tmp_path):
    output = tmp_path / "x.html"
    completed = run_reports(str(RECORDED), "-o", str(output), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(output)
    assert output.stat().st_size > 10_000


def test_cli_the_report_forms_argument_errors_are_argparses_as_before(tmp_path):
    completed = run_reports(str(RECORDED), "--prices", cwd=tmp_path)
    assert completed.returncode == 2
    assert "python -m reports: error: argument --prices: expected one argument" in completed.stderr
    help_text = run_reports("--help", cwd=tmp_path).stdout
    assert "python -m reports compare OLD NEW" in help_text


def test_epochs_of_different_fixed_work_are_not_comparable():
    from reports.analysis.run_compare import FIXED_WORK, Measured, obstacles

    old = Measured(name="bench_epoch[x]", machine="m", file="a.json", group="epoch", images_per_sec=100.0,
                   fixed_epoch_images=4096.0)
    assert obstacles(old, old) == ()
    [obstacle] = obstacles(old, Measured(**{**old.__dict__, "fixed_epoch_images": 50_000.0}))
    assert (obstacle.fact, obstacle.old, obstacle.new) == (FIXED_WORK, 4096.0, 50_000.0)
    assert obstacles(old, Measured(**{**old.__dict__, "fixed_epoch_images": None})) == ()  # sized by time: a rate
