"""The results file's contract is code (bench/contract/): every file, live or recorded, is checked against it.

A live tiny sweep runs every group and writes a file in which every key is in the contract and
every required key is there; a key added to a case without the contract fails the check. The
recorded files (tests/data) are read through the one compatibility path, `upgrade`, and pass
the same check. The report's side imports the same keys and must stay free of torch.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.contract import Case, Epoch, Key, Machine, Trust, derive, problems, upgrade, vocab
from bench.contract.reasons import CODES, Reason
from tests.cifar_files import small_cifar10
from tests.sweep_project import ROOT, lay_out

DATA = Path(__file__).parent / "data"
# Every group, tiny, on small files in CIFAR-10's own format (so that the converge group trains to
# its target in seconds, through the real-data path).
LIVE = ["--benchmark", "--bench-sweep", "quick", "--bench-devices", "cpu", "--bench-batch-sizes", "16",
        "--bench-workers", "0", "--bench-loaders", "tensor", "--bench-epoch-images", "64", "--bench-compile", "eager",
        "--bench-world-sizes", "1", "--bench-repeats", "2", "--bench-target-accuracy", "0.15", "--bench-no-report",
        "--bench-no-peak", "--bench-label", "contract-test", "-p", "no:cacheprovider"]


def cifarbench_files() -> list[Path]:
    found = []
    for path in sorted(DATA.rglob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue  # the deliberately broken file
        if isinstance(document, dict) and isinstance(document.get("machine_info", {}).get("cifarbench"), dict):
            found.append(path)
    return found


@pytest.fixture(scope="module")
def live_document(tmp_path_factory) -> dict:
    """A real sweep of every group, in a child process, as a user runs it."""
    folder = tmp_path_factory.mktemp("live")
    (folder / "conftest.py").write_text('pytest_plugins = ["bench.plugin"]\n')
    (folder / "pytest.ini").write_text("[pytest]\npython_files = bench_*.py\npython_functions = bench_*\n")
    for case_file in (ROOT / "bench").glob("bench_*.py"):
        (folder / case_file.name).write_text(case_file.read_text())
    env = {name: value for name, value in os.environ.items() if not name.startswith("CIFARBENCH_")}
    env.update(small_cifar10(folder / "cifar", train_images=500, test_images=100))
    env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], str(ROOT)])
    completed = subprocess.run([sys.executable, "-m", "pytest", *LIVE, "--bench-data-dir", str(folder / "cifar"),
                                "--bench-results", str(folder / "results")],
                               cwd=folder, capture_output=True, text=True, timeout=600, env=env)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    (path,) = (folder / "results").glob("contract-test_*.json")
    return json.loads(path.read_text())


def test_a_live_sweep_writes_only_keys_in_the_contract_and_every_required_one(live_document):
    assert problems(live_document) == []
    groups = {bench["group"] for bench in live_document["benchmarks"]}
    assert {"loader", "forward", "train_step", "epoch", "ddp", "converge", "sampler_overhead",
            "phase_overhead"} <= groups
    assert upgrade(live_document) == live_document  # today's file needs no compatibility path


def test_a_key_added_to_a_case_without_the_contract_fails_the_check(live_document):
    document = json.loads(json.dumps(live_document))
    document["benchmarks"][0]["extra_info"]["seconds_per_thing"] = 1.0
    assert any("seconds_per_thing" in problem and "not in the contract" in problem for problem in problems(document))
    del document["benchmarks"][0]["extra_info"][Case.images_per_sec]
    assert any("required extra_info['images_per_sec'] is missing" in problem for problem in problems(document))


def test_a_nested_key_and_an_unknown_reason_code_fail_it_too(live_document):
    document = json.loads(json.dumps(live_document))
    document["machine_info"]["cifarbench"]["preflight"]["mood"] = "fine"
    document["benchmarks"][0]["extra_info"]["trust"]["reasons"].append({"code": "cosmic_rays", "level": "noisy"})
    found = problems(document)
    assert any("['mood'] is not in the contract" in problem for problem in found)
    assert any("cosmic_rays" in problem for problem in found)


def test_the_live_sweep_repeats_its_cases_and_gives_each_an_interval(live_document):
    for bench in live_document["benchmarks"]:
        info = bench["extra_info"]
        if bench["group"] not in vocab.IMAGE_GROUPS:
            continue
        low, high = info[Case.images_per_sec_interval]
        assert low <= info[Case.images_per_sec] <= high, bench["name"]
        repeated = bench["group"] in vocab.THROUGHPUT_GROUPS  # ddp and the overhead groups run once
        assert len(info[Case.repeats]) == (2 if repeated else 1), bench["name"]
        assert info[Case.images_per_sec_interval_basis] == (
            vocab.INTERVAL_FROM_REPEATS if repeated else vocab.INTERVAL_FROM_ROUNDS)
        assert info[Case.images_per_sec] == pytest.approx(
            derive.images_per_sec(info[Case.images_per_round], bench["stats"]["data"]))
    canary = live_document["machine_info"]["cifarbench"][Machine.canary]
    assert len(canary["readings"]) >= 3  # start, between groups and repeats, end
    assert canary["readings"][-1]["before"] is None


@pytest.mark.parametrize("path", cifarbench_files(), ids=lambda path: path.name)
def test_every_recorded_file_passes_through_the_compatibility_path(path):
    document = json.loads(path.read_text(encoding="utf-8"))
    assert problems(upgrade(document)) == []


def test_the_compatibility_path_turns_old_sentences_into_legacy_records():
    old = {"machine_info": {"cifarbench": {"label": "x"}}, "cifarbench": {"profile": "quick"}, "benchmarks": [
        {"name": "bench_epoch[a]", "group": "epoch", "stats": {"min": 1.0, "max": 2.0, "median": 1.5},
         "extra_info": {"images_per_round": 100.0, "images_per_sec": 66.7,
                        "trust": {"level": "noisy", "reasons": ["the rounds spread 14% around their median"]}}}]}
    new = upgrade(old)
    assert new["cifarbench"]["preset"] == "quick"
    assert "profile" not in new["cifarbench"]
    reason = new["benchmarks"][0]["extra_info"]["trust"]["reasons"][0]
    assert reason["code"] == "legacy"
    assert reason["detail"]["text"].startswith("the rounds spread")
    assert new["benchmarks"][0]["extra_info"][Case.images_per_sec_interval] == [50.0, 100.0]
    assert old["cifarbench"] == {"profile": "quick"}  # the document read is left as it was


def test_keys_are_the_strings_themselves_with_their_unit():
    assert Case.images_per_sec == "images_per_sec"
    assert isinstance(Case.images_per_sec, Key)
    assert Case.images_per_sec.unit == "images/s"
    assert Epoch.eval_accuracy.section == "Epoch"
    assert Case.trust.fields is Trust
    assert json.dumps({Case.images_per_sec: 1.0}) == '{"images_per_sec": 1.0}'
    with pytest.raises(AttributeError):
        Case.images_per_second  # noqa: B018 - a typo is an error where it is written


def test_every_reason_code_has_a_unit_and_an_unknown_one_is_refused():
    assert all(unit is not None and meaning for unit, meaning in CODES.values())
    with pytest.raises(ValueError, match="unknown trust reason code"):
        Reason("cosmic_rays", "noisy")


def test_the_report_side_imports_the_contract_without_torch():
    code = "import sys, reports, bench.contract; assert 'torch' not in sys.modules, 'torch imported'"
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr


def test_derived_figures_have_one_function_each():
    assert derive.images_per_sec(100.0, [1.0, 2.0, 4.0]) == 50.0
    assert derive.rounds_spread([1.0, 3.0, 2.0]) == pytest.approx(1.0)
    assert derive.rounds_spread([2.0]) is None
    assert derive.full_epoch_seconds(1000.0) == vocab.FULL_EPOCH_IMAGES / 1000.0
    assert derive.scaling_efficiency(150.0, 2, 100.0) == 0.75
    assert derive.scaling_efficiency(150.0, 2, None) is None
    assert derive.joules_per_epoch(10.0, 1000.0) == pytest.approx(500.0)


def test_lay_out_still_serves_the_plugin_tests(pytester, monkeypatch):
    assert lay_out(pytester, monkeypatch, []) is pytester
