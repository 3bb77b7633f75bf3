"""The plugin as a user meets it: `pytest --benchmark` on the real cases, driven by pytester.

Sweeps run in a child process (as a user's would): the cases set torch's thread count and
start DataLoader workers, which must not leak into this test process.
"""

import json
import re
import textwrap
from pathlib import Path

import pytest
import torch

from bench.grid import grid_from_options
from bench.sweep import Sweep
from tests.sweep_project import TINY, lay_out

CASE_FILES = ["bench_loader.py", "bench_step.py", "bench_epoch.py"]


@pytest.fixture
def project(pytester, monkeypatch):
    """A folder laid out like the repository: the plugin registered, the real case files."""
    return lay_out(pytester, monkeypatch, CASE_FILES)


def results_file(pytester) -> dict:
    files = sorted((pytester.path / "results").glob("*.json"))
    assert len(files) == 1, files
    assert files[0].name.startswith("tiny-test_")
    assert files[0].name.endswith("Z.json")
    return json.loads(files[0].read_text())


def test_a_tiny_sweep_writes_every_group_with_its_facts(project):
    result = project.runpytest_subprocess(*TINY, "--bench-loaders", "pil,tensor", timeout=300)
    result.assert_outcomes(passed=6)  # loader 2, forward 1, train_step 1, epoch 2
    result.stdout.fnmatch_lines(["*runs done*", "*cifarbench*", "*epoch:*images/s*", "trust: *",
                                 "results: *tiny-test_*.json"])
    document = results_file(project)

    facts = document["machine_info"]["cifarbench"]
    assert facts["label"] == "tiny-test"
    assert facts["cpu_count_usable"] >= 1
    assert facts["versions"]["torch"] == torch.__version__
    assert facts["peak_tflops"]["cpu"]["float32"] > 0
    assert document["cifarbench"]["complete"] is True
    assert document["cifarbench"]["preset"] == "quick"
    preflight = facts["preflight"]
    assert preflight["other_cpu_pct"] >= 0
    assert preflight["seconds"] > 0.5
    assert preflight["message"].startswith("preflight: ")
    assert [case["outcome"] for case in document["cifarbench"]["cases"]] == ["passed"] * 6

    by_group = {}
    for bench in document["benchmarks"]:
        by_group.setdefault(bench["group"], []).append(bench)
        info = bench["extra_info"]
        assert info["images_per_round"] > 0
        assert info["images_per_sec"] == pytest.approx(info["images_per_round"] / bench["stats"]["median"])
        assert len(bench["stats"]["data"]) == bench["stats"]["rounds"]  # per-round data kept
        assert "cpu_pct" in info["utilization"]
        trust = info["trust"]
        assert trust["level"] in ("ok", "noisy", "invalid")
        assert trust["rounds"] == len(bench["stats"]["data"])
        assert trust["other_cpu_pct"] >= 0
        assert trust["level"] == "ok" or trust["reasons"]
    assert sorted(by_group) == ["epoch", "forward", "loader", "train_step"]
    assert {bench["params"]["loader"] for bench in by_group["loader"]} == {"pil", "tensor"}
    assert all(bench["extra_info"]["first_batch_seconds"] > 0 for bench in by_group["loader"])
    for bench in by_group["forward"] + by_group["train_step"] + by_group["epoch"]:
        assert bench["extra_info"]["flops_per_image"] > 0
        assert bench["extra_info"]["achieved_tflops"] > 0
    for bench in by_group["epoch"]:
        info = bench["extra_info"]
        assert info["epoch_images"] == 64
        assert info["full_epoch_projected"] is True
        assert info["full_epoch_seconds"] == pytest.approx(bench["stats"]["median"] * 50_000 / 64)
        assert 0 <= info["eval_accuracy"] <= 1
        assert info["train_loss"] > 0


def test_results_are_readable_by_pytest_benchmark_compare(project):
    project.runpytest_subprocess(*TINY, "--bench-loaders", "tensor", "-k", "bench_forward", timeout=300)
    path = next((project.path / "results").glob("*.json"))
    compared = project.run("pytest-benchmark", "compare", str(path), timeout=120)
    assert compared.ret == 0
    compared.stdout.fnmatch_lines(["*bench_forward*tutorial-cpu-bs16*"])


def test_a_killed_sweep_keeps_the_cases_it_finished(project):
    project.makepyfile(bench_zz_kill=textwrap.dedent("""\
        import os, signal
        def bench_kill():
            os.kill(os.getpid(), signal.SIGKILL)
        """))
    project.runpytest_subprocess(*TINY, "bench_step.py", "bench_zz_kill.py", timeout=300)
    document = results_file(project)
    assert sorted(bench["group"] for bench in document["benchmarks"]) == ["forward", "train_step"]
    assert document["cifarbench"]["complete"] is False


def test_an_interrupted_sweep_keeps_the_cases_it_finished(project):
    project.makepyfile(bench_zz_interrupt=textwrap.dedent("""\
        def bench_interrupt():
            raise KeyboardInterrupt
        """))
    result = project.runpytest_subprocess(*TINY, "bench_step.py", "bench_zz_interrupt.py", timeout=300)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    document = results_file(project)
    assert sorted(bench["group"] for bench in document["benchmarks"]) == ["forward", "train_step"]
    assert document["cifarbench"]["interrupted"] is True


def interrupting_case(round_to_interrupt: int) -> str:
    """A case that sends itself SIGINT (what Ctrl-C does) inside its timed round N (1-based)."""
    return textwrap.dedent(f"""\
        import os, signal, time
        import pytest

        @pytest.mark.benchmark(group="faults")
        def bench_ctrl_c(benchmark):
            rounds = []
            def one_round():
                rounds.append(1)
                if len(rounds) == {round_to_interrupt}:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(5)  # the KeyboardInterrupt arrives here
            benchmark.pedantic(one_round, rounds=3, iterations=1)
        """)


@pytest.mark.parametrize("round_to_interrupt", [1, 2], ids=["first_round", "second_round"])
def test_ctrl_c_in_a_timed_round_keeps_what_was_measured_and_drops_the_cut_case(project, round_to_interrupt):
    project.makepyfile(bench_zz_ctrl_c=interrupting_case(round_to_interrupt))
    args = [arg for arg in TINY if arg != "--bench-no-report"]
    result = project.runpytest_subprocess(*args, "bench_step.py", "bench_zz_ctrl_c.py", timeout=300)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    result.stdout.fnmatch_lines(["interrupted: 2 measured cases are saved above; the case in progress was dropped",
                                 "report: *report.html"])
    document = results_file(project)
    assert document["cifarbench"]["interrupted"] is True
    assert document["cifarbench"]["complete"] is False
    assert sorted(bench["name"] for bench in document["benchmarks"]) == [
        "bench_forward[tutorial-cpu-bs16]", "bench_train_step[tutorial-cpu-bs16-fp32-nchw-eager]"]
    [cut] = [case for case in document["cifarbench"]["cases"] if case["outcome"] == "interrupted"]
    assert cut["nodeid"].endswith("bench_ctrl_c")


def test_a_results_folder_that_fails_mid_sweep_keeps_every_measured_case(project, tmp_path):
    results = tmp_path / "results"
    project.makepyfile(bench_zz_break=textwrap.dedent(f"""\
        import shutil
        from pathlib import Path

        def bench_break_the_results_folder():
            shutil.rmtree({str(results)!r})
            Path({str(results)!r}).write_text("no longer a folder")
        """))
    result = project.runpytest_subprocess(*TINY, f"--bench-results={results}", "-k", "bench_forward or break",
                                          "bench_step.py", "bench_zz_break.py", timeout=300)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["stopped: could not write *; every measured case is saved in * instead"])
    fallback = Path(re.search(r"saved in (\S+) instead", result.stdout.str()).group(1))
    try:
        document = json.loads(fallback.read_text())
        assert [bench["name"] for bench in document["benchmarks"]] == ["bench_forward[tutorial-cpu-bs16]"]
        assert not list(fallback.parent.glob(f".{fallback.name}.*.partial"))
    finally:
        fallback.unlink()


def test_a_failing_case_is_reported_once(pytester, monkeypatch):
    project = lay_out(pytester, monkeypatch, [], warnings_as_errors=True)
    project.makepyfile(bench_fails=textwrap.dedent("""\
        import pytest

        @pytest.mark.benchmark(group="faults")
        def bench_fails_before_timing(benchmark):
            raise RuntimeError("broken before the timed rounds")
        """))
    result = project.runpytest_subprocess(*TINY, timeout=300)
    result.assert_outcomes(failed=1)  # and no teardown error
    document = results_file(project)
    assert [case["outcome"] for case in document["cifarbench"]["cases"]] == ["failed"]
    assert document["benchmarks"] == []


def test_a_librarys_warning_is_shown_and_does_not_fail_the_case(pytester, monkeypatch):
    """Seen on the H200 lease: torch 2.11's compiler warns on first use; with pyproject.toml's
    `filterwarnings = error` that failed the compiled case. The ini's ignores still hold."""
    project = lay_out(pytester, monkeypatch, [], warnings_as_errors=True)
    project.makeini(textwrap.dedent("""\
        [pytest]
        python_files = test_*.py bench_*.py
        python_functions = test_* bench_*
        filterwarnings =
            error
            ignore:an ignored warning:UserWarning
        """))
    project.makepyfile(bench_warns=textwrap.dedent("""\
        import warnings

        import pytest

        @pytest.mark.benchmark(group="faults")
        def bench_a_library_warns(benchmark):
            def work():
                warnings.warn("a library's deprecation", DeprecationWarning)
                warnings.warn("an ignored warning", UserWarning)
            benchmark.pedantic(work, rounds=2, iterations=1)
            benchmark.extra_info["images_per_round"] = 1
        """))
    result = project.runpytest_subprocess(*TINY, timeout=300)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*warnings summary*", "*DeprecationWarning: a library's deprecation*"])
    result.stdout.no_fnmatch_line("*an ignored warning*")


def test_a_plain_run_collects_no_benchmark_case(project):
    project.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = project.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(("option", "message"), [
    (["--bench-sweep", "huge"], "*--bench-sweep: 'huge' is not one of: auto, smoke, quick, standard, full*"),
    (["--bench-models", "vgg"], "*--bench-models: 'vgg' is not one of: tutorial, resnet18*"),
    (["--bench-sample-interval", "0"], "*--bench-sample-interval: 0.0 must be a positive number*"),
    (["--bench-threads", "0"], "*--bench-threads: thread counts must be at least 1*"),
    (["--bench-compile", "jit"], "*--bench-compile: 'jit' is not one of: eager, default, max-autotune*"),
])
def test_invalid_options_are_usage_errors(project, option, message):
    result = project.runpytest_inprocess("--benchmark", *option, "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_timing_brackets_asynchronous_work(pytester):
    """A fake device whose work runs after the launch returns, like CUDA kernels: the timed
    round must include the work, which only the closing synchronization makes it wait for."""
    pytester.makepyfile(test_fake=textwrap.dedent("""\
        import threading, time
        import bench.timing as timing

        WORK_SECONDS = 0.05

        def test_round_includes_the_work(benchmark, monkeypatch):
            queued = []
            def launch():  # returns at once; the work goes on in the background
                worker = threading.Thread(target=time.sleep, args=(WORK_SECONDS,))
                worker.start()
                queued.append(worker)
            def synchronize(device):
                while queued:
                    queued.pop().join()
            monkeypatch.setattr(timing, "synchronize", synchronize)
            timing.timed_rounds(benchmark, launch, "cpu", rounds=3)
            assert len(benchmark.stats.stats.data) == 3
            assert min(benchmark.stats.stats.data) >= WORK_SECONDS
        """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_running_out_of_cpu_memory_is_a_skip_with_its_reason():
    sweep = Sweep(grid=grid_from_options("quick"))
    message = "[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried"
    with (
        pytest.raises(pytest.skip.Exception, match=r"out of memory on cpu for tutorial at batch 9: .*can't allocate"),
        sweep.device_errors(torch.device("cpu"), "tutorial at batch 9"),
    ):
        raise RuntimeError(message)
    with pytest.raises(RuntimeError, match="another error"), sweep.device_errors(torch.device("cpu"), "x"):
        raise RuntimeError("another error")


def test_running_out_of_device_memory_is_a_skip_with_its_reason():
    sweep = Sweep(grid=grid_from_options("quick"))
    with (
        pytest.raises(pytest.skip.Exception, match="out of memory on cpu for tutorial at batch 9: no room"),
        sweep.device_errors(torch.device("cpu"), "tutorial at batch 9"),
    ):
        raise torch.OutOfMemoryError("no room")
