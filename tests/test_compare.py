"""Regression checks across runs use pytest-benchmark's own tools on cifarbench's result files.

A results file is pytest-benchmark's JSON with cifarbench's facts added, so
`pytest-benchmark compare FILE` reads it, and a later sweep run with
`--benchmark-compare=FILE --benchmark-compare-fail=median:10%` fails when a case's median
round got more than 10% slower. The baseline here is a real sweep's file with its medians
doctored (one case made to look 1000x faster before, one 1000x slower), so the outcome does
not depend on how fast this machine is: nothing is timed or asserted about speed.

Sweeps run in a child process, as a user's would (see tests/test_plugin.py).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sweep_project import lay_out

DATA = Path(__file__).parent / "data"
# Loader cases only: their rounds do a fixed amount of work (as epoch rounds do), so their
# medians compare across runs. Two batch sizes give two cases: one to regress, one to pass.
TINY_LOADER_SWEEP = ["--benchmark", "--bench-sweep", "quick", "--bench-loaders", "tensor",
                     "--bench-batch-sizes", "16,32", "--bench-workers", "0", "--bench-repeats", "1",
                     "--bench-no-report", "--bench-no-peak", "--bench-label", "compare-test", "-p", "no:cacheprovider",
                     "bench_loader.py"]
REGRESSED, IMPROVED = "bs16", "bs32"
# pytest-benchmark compares the baseline's machine_info with this run's verbatim, in
# pytest_configure: ours gains its measured facts (label, peak TFLOP/s) only at session start,
# so the two always differ, and with warnings as errors (pyproject.toml) the run would stop.
IGNORE_MACHINE_INFO = ["-W",
                       "ignore:Benchmark machine_info is different:pytest_benchmark.logger.PytestBenchmarkWarning"]


@pytest.fixture
def project(pytester, monkeypatch):
    """A folder laid out like the repository, warnings as errors as in pyproject.toml."""
    return lay_out(pytester, monkeypatch, ["bench_loader.py"], warnings_as_errors=True)


def _our_result_files() -> list[Path]:
    """cifarbench's own result files among tests/data (foreign pytest-benchmark files left out)."""
    files = []
    for path in sorted(DATA.glob("*.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:  # the deliberately broken files of the loading tests
            continue
        if isinstance(document, dict) and isinstance(document.get("machine_info", {}).get("cifarbench"), dict):
            files.append(path)
    return files


def compare_cli(path: Path, cwd: Path) -> subprocess.CompletedProcess:
    """`pytest-benchmark compare PATH`, from `cwd` (its storage folder and any conftest are read there)."""
    return subprocess.run([sys.executable, "-m", "pytest_benchmark", "compare", str(path)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize("path", _our_result_files(), ids=lambda path: path.name)
def test_pytest_benchmark_compare_reads_the_result_files_of_tests_data(path, tmp_path):
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    completed = compare_cli(copy, tmp_path)
    assert completed.returncode == 0, completed.stderr
    names = [bench["name"] for bench in json.loads(path.read_text(encoding="utf-8"))["benchmarks"]]
    assert all(name.split("[")[0] in completed.stdout for name in names)


def test_compare_fail_flags_a_slower_median_against_a_results_file(project):
    first = project.runpytest_subprocess(*TINY_LOADER_SWEEP, timeout=300)
    first.assert_outcomes(passed=2)
    [results] = (project.path / "results").glob("*.json")
    assert compare_cli(results, project.path).returncode == 0  # the file as written, unchanged

    baseline = json.loads(results.read_text(encoding="utf-8"))
    for bench in baseline["benchmarks"]:
        factor = 1e-3 if REGRESSED in bench["name"] else 1e3
        for field in ("min", "max", "mean", "median"):
            bench["stats"][field] *= factor
    doctored = project.path / "baseline.json"
    doctored.write_text(json.dumps(baseline), encoding="utf-8")

    second = project.runpytest_subprocess(*TINY_LOADER_SWEEP, *IGNORE_MACHINE_INFO,
                                          f"--benchmark-compare={doctored}", "--benchmark-compare-fail=median:10%",
                                          timeout=300)
    output = str(second.stdout) + "\n" + str(second.stderr)
    assert second.ret != 0, output
    regressions = output[output.index("Performance has regressed"):]
    assert REGRESSED in regressions
    assert "Field 'median' has failed PercentageRegressionCheck" in regressions
    assert IMPROVED not in regressions
