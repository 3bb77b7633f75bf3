"""A sweep on the GPU, end to end in a child process: out of memory is a skip, every group has its GPU facts."""

import json
import textwrap

import pytest

from tests.gpu import requires_cuda
from tests.sweep_project import TINY, lay_out

pytestmark = requires_cuda

CASE_FILES = ["bench_loader.py", "bench_step.py", "bench_epoch.py"]
GPM_KEYS = {"supported", "reason", "sm_active_pct", "sm_occupancy_pct", "tensor_active_pct", "dram_bw_util_pct"}


@pytest.fixture
def project(pytester, monkeypatch):
    return lay_out(pytester, monkeypatch, CASE_FILES)


def results(pytester) -> dict:
    [path] = sorted((pytester.path / "results").glob("*.json"))
    return json.loads(path.read_text())


def test_out_of_memory_is_a_skip_and_the_next_case_runs(project):
    project.makepyfile(bench_aa_absurd=textwrap.dedent("""\
        import torch

        def bench_absurd_batch(sweep):
            device = sweep.require("cuda")
            with sweep.device_errors(device, "an absurd batch"):
                torch.empty((2**40, 3, 32, 32), dtype=torch.uint8, device=device)  # 3 PiB
        """))
    result = project.runpytest_subprocess(*TINY, "-rs", "--bench-devices", "cuda", "bench_aa_absurd.py",
                                          "bench_step.py", "-k", "absurd or bench_forward", timeout=300)
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped") == 1, outcomes
    assert outcomes.get("passed", 0) >= 1, outcomes  # the forward cases after it
    assert outcomes.get("failed", 0) == 0, outcomes
    result.stdout.fnmatch_lines(["*out of memory on cuda:0 for an absurd batch*"])
    document = results(project)
    [skipped] = [case for case in document["cifarbench"]["cases"] if case["outcome"] == "skipped"]
    assert "out of memory on cuda:0 for an absurd batch" in skipped["reason"]
    assert {bench["group"] for bench in document["benchmarks"]} == {"forward"}


def test_a_tiny_gpu_sweep_writes_the_gpu_facts_of_every_group(project):
    result = project.runpytest_subprocess(*TINY, "--bench-devices", "cuda", "--bench-loaders", "tensor,device",
                                          timeout=600)
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, outcomes
    assert outcomes.get("errors", 0) == 0, outcomes
    document = results(project)
    groups = set()
    gpu_cases = 0
    energy_j = 0.0
    for bench in document["benchmarks"]:
        groups.add(bench["group"])
        params, info = bench["params"], bench["extra_info"]
        if bench["group"] == "loader" and params.get("loader") != "device":
            continue  # served on the host: no GPU in the window
        gpu_cases += 1
        where = bench["name"]
        assert info["device_name"] != "cpu", where
        assert info["peak_mem_mib"] > 0, where
        assert "gpu_util_pct" in info["utilization"], where
        # A window shorter than the energy counter's update period can read 0 J.
        assert info["energy_j"] >= 0, where
        assert info["energy_j_per_round"] >= 0, where
        energy_j += info["energy_j"]
        assert set(info["gpm"]) == GPM_KEYS, where
        assert isinstance(info["gpm"]["supported"], bool), where
        if not info["gpm"]["supported"]:
            assert info["gpm"]["reason"], where
        assert "other_cpu_pct" in info["utilization"], where
    assert groups == {"loader", "forward", "train_step", "epoch"}
    assert gpu_cases >= 4
    assert energy_j > 0
