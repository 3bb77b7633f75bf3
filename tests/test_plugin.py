"""The plugin as a user meets it: `pytest --benchmark` on the real cases, driven by pytester.

Sweeps run in a child process (as a user's would): the cases set torch's thread count and
start DataLoader workers, which must not leak into this test process.
"""

import json
import textwrap

import pytest
import torch

from bench.grid import grid_from_options
from bench.sweep import Sweep
from tests.sweep_project import lay_out

CASE_FILES = ["bench_loader.py", "bench_step.py", "bench_epoch.py"]
# The smallest sweep that still runs every group: one batch size, no workers, tiny epochs.
TINY = ["--benchmark", "--bench-profile", "quick", "--bench-batch-sizes", "16", "--bench-workers", "0",
        "--bench-epoch-images", "64", "--bench-no-report", "--bench-label", "tiny-test",
        "-p", "no:cacheprovider"]


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
    result.stdout.fnmatch_lines(["*cifarbench*", "*epoch:*images/s*", "results: *tiny-test_*.json"])
    document = results_file(project)

    facts = document["machine_info"]["cifarbench"]
    assert facts["label"] == "tiny-test"
    assert facts["cpu_count_usable"] >= 1
    assert facts["versions"]["torch"] == torch.__version__
    assert facts["peak_tflops"]["cpu"]["float32"] > 0
    assert document["cifarbench"]["complete"] is True
    assert [case["outcome"] for case in document["cifarbench"]["cases"]] == ["passed"] * 6

    by_group = {}
    for bench in document["benchmarks"]:
        by_group.setdefault(bench["group"], []).append(bench)
        info = bench["extra_info"]
        assert info["images_per_round"] > 0
        assert info["images_per_sec"] == pytest.approx(info["images_per_round"] / bench["stats"]["median"])
        assert len(bench["stats"]["data"]) == bench["stats"]["rounds"]  # per-round data kept
        assert "cpu_pct" in info["utilization"]
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


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the skip on a machine without CUDA")
def test_an_absent_device_skips_its_cases_with_the_reason(project):
    result = project.runpytest_subprocess(*TINY, "-rs", "--bench-devices", "cuda", "bench_step.py", timeout=300)
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(["*cuda:0: CUDA is not available on this machine*"])


def test_a_plain_run_collects_no_benchmark_case(project):
    project.makepyfile(test_plain="def test_plain():\n    pass\n")
    result = project.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(("option", "message"), [
    (["--bench-profile", "huge"], "*--bench-profile: 'huge' is not one of: quick, standard, full*"),
    (["--bench-models", "vgg"], "*--bench-models: 'vgg' is not one of: tutorial, resnet18*"),
    (["--bench-sample-interval", "0"], "*--bench-sample-interval: 0.0 must be a positive number*"),
    (["--bench-threads", "0"], "*--bench-threads: 0 must be at least 1*"),
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


def test_running_out_of_device_memory_is_a_skip_with_its_reason():
    sweep = Sweep(grid=grid_from_options("quick"))
    with (
        pytest.raises(pytest.skip.Exception, match="out of memory on cpu for tutorial at batch 9: no room"),
        sweep.device_errors(torch.device("cpu"), "tutorial at batch 9"),
    ):
        raise torch.OutOfMemoryError("no room")
