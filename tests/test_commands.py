"""The README's sweep commands as a user types them: `python3 -m pytest ...` in a child process,
from the repository root, on the real cases.

pytester's in-process runs skip pytest's own argument handling (where the rootdir is
decided), so these run the real command line. Each selects one or a few fast cases; nothing
is timed or asserted about speed.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
# Fast and small: one batch size, no workers; no peak matmul, no preflight second.
SMALL = ["--bench-sweep", "quick", "--bench-batch-sizes", "16", "--bench-workers", "0",
         "--bench-no-report", "--bench-no-peak", "--bench-no-preflight", "-p", "no:cacheprovider"]


def pytest_command(*args: str, cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    """`python3 -m pytest ARGS` in a child process, as typed in the repository root."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CIFARBENCH_")}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False, env=env)


def result_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.json"))


@pytest.mark.parametrize("form", ["space", "equals"])
def test_results_folder_that_exists_works_in_both_forms(tmp_path, form):
    results = tmp_path / "results"
    results.mkdir()
    option = ["--bench-results", str(results)] if form == "space" else [f"--bench-results={results}"]
    completed = pytest_command("--benchmark", *option, *SMALL, "-k", "bench_forward")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "unrecognized arguments" not in completed.stderr
    [path] = result_files(results)
    document = json.loads(path.read_text())
    assert [bench["group"] for bench in document["benchmarks"]] == ["forward"]
    assert completed.stdout.rstrip().splitlines()[-2].startswith("results: ")  # what a user needs, last


def test_data_folder_that_exists_but_is_empty_stops_before_the_first_case(tmp_path):
    empty, results = tmp_path / "cifar", tmp_path / "results"
    empty.mkdir()
    completed = pytest_command("--benchmark", "--bench-data-dir", str(empty), "--bench-results", str(results),
                               *SMALL)
    assert completed.returncode == pytest.ExitCode.USAGE_ERROR, completed.stdout + completed.stderr
    assert "unrecognized arguments" not in completed.stderr
    assert completed.stderr.count(f"CIFAR-10 directory {empty} is empty") == 1
    assert not results.exists() or not result_files(results)


def test_missing_data_folder_stops_before_the_first_case(tmp_path):
    results = tmp_path / "results"
    completed = pytest_command("--benchmark", f"--bench-data-dir={tmp_path / 'nowhere'}",
                               f"--bench-results={results}", *SMALL)
    assert completed.returncode == pytest.ExitCode.USAGE_ERROR
    assert completed.stderr.count("does not exist") == 1
    assert "passed" not in completed.stdout
    assert "failed" not in completed.stdout
    assert not results.exists() or not result_files(results)


def test_benchmark_disable_is_a_smoke_run_of_every_group(tmp_path):
    results = tmp_path / "results"
    # Both fast pipelines, one ddp launch (the launch alone takes about 10 s here).
    completed = pytest_command("--benchmark", "--benchmark-disable", f"--bench-results={results}", *SMALL,
                               "--bench-loaders", "tensor,device", "--bench-world-sizes", "2",
                               "-k", "not (bench_ddp and device)")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    assert " failed" not in completed.stdout
    for case in ("bench_loader[", "bench_forward[", "bench_train_step[", "bench_epoch[", "bench_ddp[",
                 "bench_converge[", "bench_sampler_overhead[", "bench_phase_overhead["):
        assert any(case in line and "PASSED" in line for line in completed.stdout.splitlines()), case
    assert "nothing was timed or saved" in completed.stdout
    counts = re.findall(r"; (\d+)/(\d+) runs done", completed.stdout)
    assert counts
    assert all(int(done) <= int(total) for done, total in counts), counts  # never 17/16
    assert counts[-1][0] == counts[-1][1]
    assert not results.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
def test_a_named_device_that_is_absent_is_an_error(tmp_path):
    completed = pytest_command("--benchmark", "--bench-devices", "cuda", f"--bench-results={tmp_path}", *SMALL)
    assert completed.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--bench-devices: cuda:0 is not available: CUDA is not available on this machine" in completed.stderr
    assert not result_files(tmp_path)


@pytest.mark.parametrize("target", ["/etc/hostname", "/proc/cifarbench-results"])
def test_a_results_folder_that_cannot_be_written_is_a_usage_error(target):
    completed = pytest_command("--benchmark", f"--bench-results={target}", *SMALL, "-k", "bench_forward")
    assert completed.returncode == pytest.ExitCode.USAGE_ERROR
    assert "--bench-results: " in completed.stderr
    assert "passed" not in completed.stdout


def test_a_300_character_label_gets_a_file_and_keeps_its_name(tmp_path):
    label = "shape-" + "x" * 294
    completed = pytest_command("--benchmark", f"--bench-results={tmp_path}", *SMALL, "-k", "bench_forward",
                               "--bench-label", label)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    [path] = result_files(tmp_path)
    assert len(path.name) < 130
    assert json.loads(path.read_text())["machine_info"]["cifarbench"]["label"] == label


def test_fixed_epoch_images_are_honoured_on_every_pipeline(tmp_path):
    completed = pytest_command("--benchmark", f"--bench-results={tmp_path}", *SMALL, "--bench-epoch-images", "100",
                               "-k", "bench_epoch")
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    [path] = result_files(tmp_path)
    epochs = json.loads(path.read_text())["benchmarks"]
    assert {bench["params"]["loader"] for bench in epochs} == {"pil", "tensor", "device"}
    for bench in epochs:
        # the smallest whole number of batches of 16 that holds 100 images: 7 batches, 112 images
        assert bench["extra_info"]["epoch_images"] == 112
        assert bench["extra_info"]["batches_per_round"] == 7


def test_the_deprecated_preset_option_still_works_and_says_so(tmp_path):
    args = [arg if arg != "--bench-sweep" else "--bench-profile" for arg in SMALL]
    completed = pytest_command("--benchmark", f"--bench-results={tmp_path}", *args, "--co", "-q")
    assert completed.returncode == 0, completed.stderr
    assert "--bench-profile is deprecated: use --bench-sweep" in completed.stdout


def test_what_the_preset_leaves_out_is_listed_and_named_values_run(tmp_path):
    listed = pytest_command("--benchmark", f"--bench-results={tmp_path}", "--bench-sweep", "standard",
                            "--bench-devices", "cpu", "--bench-no-preflight", "--co", "-q")
    assert "left out by the preset: cpu: batch sizes 4096" in listed.stdout
    assert "left out by the preset: epoch cases use the transform 'tutorial' only" in listed.stdout
    named = pytest_command("--benchmark", f"--bench-results={tmp_path}", "--bench-sweep", "standard",
                           "--bench-devices", "cpu", "--bench-batch-sizes", "4096",
                           "--bench-transforms", "tutorial,augmented", "--bench-no-preflight", "--co", "-q")
    assert "bench_train_step[tutorial-cpu-bs4096-fp32-nchw-eager]" in named.stdout
    assert "bench_epoch[tutorial-cpu-tensor-augmented-bs4096-w0-eager]" in named.stdout
    assert "left out by the preset: cpu" not in named.stdout


def test_the_compile_axis_is_in_the_ids_and_named_modes_run_everywhere(tmp_path):
    quick = pytest_command("--benchmark", f"--bench-results={tmp_path}", "--bench-sweep", "quick",
                           "--bench-devices", "cpu", "--bench-no-preflight", "--co", "-q")
    assert quick.returncode == 0, quick.stderr
    assert "bench_train_step[tutorial-cpu-bs128-fp32-nchw-compiled]" in quick.stdout
    assert "bench_train_step[tutorial-cpu-bs4-fp32-nchw-compiled]" not in quick.stdout
    assert "-compiled]" not in "".join(line for line in quick.stdout.splitlines() if "bench_epoch[" in line)
    assert "left out by the preset: torch.compile (default) runs only in train_step cases at batch 128" in quick.stdout
    named = pytest_command("--benchmark", f"--bench-results={tmp_path}", "--bench-sweep", "quick",
                           "--bench-devices", "cpu", "--bench-compile", "default", "--bench-batch-sizes", "4",
                           "--bench-no-preflight", "--co", "-q")
    assert named.returncode == 0, named.stderr
    assert "bench_train_step[tutorial-cpu-bs4-fp32-nchw-compiled]" in named.stdout
    assert "bench_epoch[tutorial-cpu-pil-tutorial-bs4-w0-compiled]" in named.stdout
    assert "-eager]" not in named.stdout
    assert "left out by the preset: torch.compile" not in named.stdout


# A Ctrl-C at a chosen step of start-up, made exact: this sitecustomize (imported by Python at
# start) raises KeyboardInterrupt where a user's Ctrl-C would land, in the same process.
INTERRUPT_AT = {
    "torch": """
import sys
class _CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            raise KeyboardInterrupt
sys.meta_path.insert(0, _CtrlC())
""",
    "preflight": """
import time
def _sleep(seconds):
    raise KeyboardInterrupt
time.sleep = _sleep  # the preflight's one-second window
""",
}


@pytest.mark.parametrize("step", ["torch", "preflight"])
def test_ctrl_c_before_the_first_case_says_so_and_exits_2(tmp_path, step):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(INTERRUPT_AT[step])
    results = tmp_path / "results"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CIFARBENCH_")}
    env["PYTHONPATH"] = os.pathsep.join([str(hook), str(ROOT)])
    completed = subprocess.run([sys.executable, "-m", "pytest", "--benchmark", *SMALL[:-3], "--bench-results",
                                str(results), "-p", "no:cacheprovider"], cwd=ROOT, capture_output=True, text=True,
                               timeout=300, check=False, env=env)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 2, output[-3000:]
    assert "cifarbench: interrupted before the first case" in output
    assert "Traceback" not in output
    assert not result_files(results)  # a file claimed before the interrupt is not left behind empty


def test_a_real_ctrl_c_while_starting_exits_2_with_one_line(tmp_path):
    """SIGINT to the process group, as a terminal sends it, a second into start-up (torch still importing)."""
    import signal
    import time

    process = subprocess.Popen([sys.executable, "-m", "pytest", "--benchmark", *SMALL, "--bench-results",
                                str(tmp_path / "results")], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 2, stdout[-2000:] + stderr[-2000:]
    assert "interrupted before the first case" in stdout + stderr
