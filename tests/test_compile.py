"""torch.compile as an axis (bench/compile.py): compile time apart, recompiles counted, failures as skips.

The sweeps run in a child process, as a user's would; the counting and the skip are also
checked in this process on tiny functions (dynamo's `eager` backend compiles no code, so they
take no C++ compiler and a fraction of a second).
"""

import json
import textwrap

import pytest
import torch

from bench.compile import Recompiles, compile_model, compiling
from bench.data import make_loader, synthetic_cifar10
from tests.sweep_project import lay_out

SWEEP = ["--benchmark", "--bench-sweep", "quick", "--bench-batch-sizes", "16", "--bench-workers", "0",
         "--bench-loaders", "device", "--bench-epoch-images", "64", "--bench-no-report", "--bench-no-preflight",
         "--bench-no-peak", "--bench-repeats", "1", "--bench-label", "compile-test", "-p", "no:cacheprovider"]


def results(pytester) -> dict:
    [path] = (pytester.path / "results").glob("*.json")
    return json.loads(path.read_text())


def test_compile_seconds_are_recorded_and_kept_out_of_the_timed_rounds(pytester, monkeypatch):
    project = lay_out(pytester, monkeypatch, ["bench_step.py", "bench_epoch.py"], warnings_as_errors=True)
    result = project.runpytest_subprocess(*SWEEP, "--bench-compile", "eager,default", "-k",
                                          "bench_train_step or bench_epoch", timeout=600)
    result.assert_outcomes(passed=4)
    by_name = {bench["name"]: bench for bench in results(project)["benchmarks"]}
    assert sorted(by_name) == [
        "bench_epoch[tutorial-cpu-device-tutorial-bs16-w0-compiled]",
        "bench_epoch[tutorial-cpu-device-tutorial-bs16-w0-eager]",
        "bench_train_step[tutorial-cpu-bs16-fp32-nchw-compiled]",
        "bench_train_step[tutorial-cpu-bs16-fp32-nchw-eager]",
    ]
    for name, bench in by_name.items():
        info = bench["extra_info"]
        if name.endswith("-eager]"):
            assert bench["params"]["compile"] == "eager"
            assert "compile_seconds" not in info
            assert "recompiles" not in info
            continue
        assert bench["params"]["compile"] == "default"
        assert info["compile_backend"] == "inductor"
        assert info["compile_seconds"] == pytest.approx(info["compile_first_seconds"] - info["compile_eager_seconds"])
        # Compiling is in the first compiled run, before the rounds: no round holds it.
        assert max(bench["stats"]["data"]) < info["compile_first_seconds"]
        assert info["recompiles"] == 0
        assert "recompiles" not in [reason["code"] for reason in info["trust"]["reasons"]]
    assert by_name["bench_epoch[tutorial-cpu-device-tutorial-bs16-w0-compiled]"]["extra_info"]["drop_last"] is True
    assert by_name["bench_epoch[tutorial-cpu-device-tutorial-bs16-w0-eager]"]["extra_info"]["drop_last"] is False


def test_without_a_cpp_compiler_a_compiled_case_is_a_skip_with_the_reason_and_the_sweep_goes_on(pytester, monkeypatch):
    project = lay_out(pytester, monkeypatch, ["bench_step.py"], warnings_as_errors=True)
    monkeypatch.setenv("CXX", "/nonexistent/c++")  # inductor's C++ compiler on a CPU machine
    result = project.runpytest_subprocess(*SWEEP, "--bench-compile", "eager,default", "-k", "bench_train_step",
                                          "-rs", timeout=600)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*torch.compile (mode default) failed for tutorial train step at batch 16: "
                                 "*No working C++ compiler*"])
    document = results(project)
    names = [bench["name"] for bench in document["benchmarks"]]
    assert names == ["bench_train_step[tutorial-cpu-bs16-fp32-nchw-eager]"]
    [skipped] = [case for case in document["cifarbench"]["cases"] if case["outcome"] == "skipped"]
    assert skipped["params"]["compile"] == "default"
    assert "No working C++ compiler" in skipped["reason"]


def test_a_compile_failure_is_a_skip_naming_the_mode_and_the_error(monkeypatch):
    import torch._inductor.config

    monkeypatch.setattr(torch._inductor.config.cpp, "cxx", ("/nonexistent/c++",))
    net = compile_model(torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU()), "default")  # C++ kernels
    with (pytest.raises(pytest.skip.Exception, match=r"torch\.compile \(mode default\) failed for a tiny net: .*"
                        r"No working C\+\+ compiler"),
          compiling("default", "a tiny net")):
        net(torch.randn(4, 3))


def test_eager_cases_are_not_compiled_and_pass_errors_through():
    net = torch.nn.Linear(3, 2)
    assert compile_model(net, "eager") is net
    with pytest.raises(ValueError, match="not a compile failure"), compiling("eager", "x"):
        raise ValueError("not a compile failure")


def test_recompiles_are_counted_only_while_open():
    torch._dynamo.reset()
    double = torch.compile(lambda x: x * 2, backend="eager")
    double(torch.ones(2))  # the first compile: before the rounds
    with Recompiles() as steady:
        double(torch.ones(2))
    with Recompiles() as changed:
        double(torch.ones(3))  # a new shape: dynamo compiles the frame again
    torch._dynamo.reset()
    assert steady.count == 0
    assert changed.count == 1


def test_a_recompile_inside_the_timed_rounds_is_recorded_and_marks_the_case_noisy(pytester):
    """A shape change in the second timed round, through the harness's own measure and record."""
    pytester.makepyfile(test_shape_change=textwrap.dedent("""\
        import torch
        from bench.compile import Recompiles
        from bench.grid import grid_from_options
        from bench.sweep import Sweep

        def test_shape_change(benchmark):
            torch._dynamo.reset()
            double = torch.compile(lambda x: x * 2, backend="eager")
            double(torch.ones(2))  # compiled before the rounds, as a case does
            sweep = Sweep(grid=grid_from_options("quick"))
            rounds = []

            def one_round():
                rounds.append(1)
                double(torch.ones(2 + (len(rounds) == 2)))  # round 2: another shape

            recompiles = Recompiles()
            window = sweep.measure(benchmark, one_round, "cpu", rounds=3, warmup_rounds=0, recompiles=recompiles)
            sweep.record(benchmark, window, torch.device("cpu"), images_per_round=2,
                         facts={"recompiles": recompiles.count})
            torch._dynamo.reset()
            info = benchmark.extra_info
            assert info["recompiles"] == 1
            assert info["trust"]["level"] in ("noisy", "invalid")
            assert {"code": "recompiles", "level": "noisy", "figure": 1, "threshold": 0, "detail": {}} in (
                info["trust"]["reasons"])
        """))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize("loader", ["pil", "tensor", "device"])
def test_drop_last_gives_every_batch_one_shape(loader):
    split = synthetic_cifar10().test
    images = 70
    batches = make_loader(type(split)(split.images[:images], split.labels[:images]), loader, "tutorial", 32,
                          drop_last=True)
    assert [len(labels) for _, labels in batches] == [32, 32]
    kept = make_loader(type(split)(split.images[:images], split.labels[:images]), loader, "tutorial", 32)
    assert [len(labels) for _, labels in kept] == [32, 32, 6]
