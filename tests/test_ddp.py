"""The ddp group on this CPU: gloo ranks at world sizes 1 and 2, a rank that dies or hangs, two
torchrun agents on 127.0.0.1. Tiny epochs (64 images a rank); nothing here is timed.

Every process a test starts carries a marker in its environment, so that a process left running
is found even after it has been re-parented.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from bench import distributed
from bench.grid import GridError, case_id, grid_from_options
from bench.timing import MAX_TIMED_ROUNDS
from tests.sweep_project import ROOT, lay_out

DDP_DATA = ROOT / "tests" / "data" / "ddp"  # recorded by the harness on a 2-core CPU VM: a sweep and two agents

MARK = "CIFARBENCH_TEST_MARK"
TINY_DDP = ["--benchmark", "--bench-sweep", "quick", "--bench-batch-sizes", "16", "--bench-epoch-images", "64",
            "--bench-threads", "1", "--bench-repeats", "1", "--bench-no-report", "--bench-no-peak",
            "--bench-label", "tiny-ddp",
            "-p", "no:cacheprovider"]
TINY_SPEC = distributed.RunSpec(model="tutorial", device="cpu", loader="tensor", batch_size=16, images=64,
                                rounds=2, threads_per_rank=1, comm_steps=2, busbw_iterations=2)


@pytest.fixture
def mark(monkeypatch) -> str:
    """A marker in the environment of every process started from here on."""
    value = uuid.uuid4().hex
    monkeypatch.setenv(MARK, value)
    return value


def marked_processes(value: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["status"]):
        if process.pid == os.getpid() or process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if process.environ().get(MARK) == value:
                found.append(process)
        except psutil.Error:
            continue
    return found


def assert_nothing_left_running(value: str, grace_s: float = 5.0) -> None:
    deadline = time.monotonic() + grace_s
    while (left := marked_processes(value)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for process in left:  # clean up before failing: no test leaves processes behind
        process.kill()
    assert not left, [process.cmdline() for process in left]


def results_file(pytester) -> dict:
    files = sorted((pytester.path / "results").glob("*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def test_the_grid_has_world_sizes_one_and_two_on_the_cpu_and_ids_carry_them():
    cases = grid_from_options("quick", devices="cpu").cases("ddp")
    assert [case["world_size"] for case in cases] == [1, 2]
    assert {case["device"] for case in cases} == {"cpu"}
    grid = grid_from_options("quick", devices="cpu", world_sizes="2,4", batch_sizes="8")
    assert [(case["world_size"], case["batch_size"]) for case in grid.cases("ddp")] == [(2, 8), (4, 8)]
    assert case_id(grid.cases("ddp")[0]) == "tutorial-cpu-tensor-bs8-weak-ws2"
    with pytest.raises(GridError, match="--bench-world-sizes: world sizes must be at least 1"):
        grid_from_options("quick", world_sizes="0,2")


def rank_measurements(rank: int, round_seconds, busy_seconds, allreduce_seconds) -> dict:
    """What `run_rank` gathers from one rank, with made-up numbers."""
    return {
        "rank": rank, "host": "h", "device": "cpu", "backend": "gloo", "threads": 1, "num_workers": 0,
        "batch_size": 16, "round_images": [64] * len(round_seconds), "round_seconds": round_seconds,
        "busy_seconds": busy_seconds, "train_loss": [2.0], "synced_step_seconds": 0.04,
        "local_step_seconds": 0.03, "allreduce_seconds": allreduce_seconds, "peak_mem_mib": None,
        "no_ddp_round_seconds": [], "no_ddp_round_images": [], "group_world_size": 1,
    }


def test_summarize_takes_the_slowest_rank_per_round_and_the_nccl_tests_bus_bandwidth():
    ranks = [rank_measurements(1, [1.0, 2.0, 1.0], [0.5, 0.5, 0.5], {"1000000": 0.002}),
             rank_measurements(0, [1.5, 1.0, 1.0], [1.0, 1.0, 1.0], {"1000000": 0.001})]
    summary = distributed.summarize(ranks, TINY_SPEC)
    assert summary["round_seconds"] == [1.5, 2.0, 1.0]
    assert summary["images_per_round"] == 128
    facts = summary["facts"]
    assert facts["rank_images_per_sec"] == [64 / 1.0, 64 / 1.0]  # rank order, each over its median round
    assert facts["straggler_ratio"] == pytest.approx(1.0 / 0.75)  # slowest busy over the median rank's
    assert facts["allreduce_share"] == pytest.approx(0.25)  # 1 - 0.03 / 0.04
    # busbw = size / time * 2(n-1)/n, the slowest rank's time, in GB/s
    assert facts["allreduce_busbw_gb_per_s"] == {"1000000": pytest.approx(1e6 / 0.002 * 2 * 1 / 2 / 1e9)}


def test_the_ddp_group_runs_gloo_ranks_at_world_sizes_one_and_two(pytester, monkeypatch, mark):
    project = lay_out(pytester, monkeypatch, ["bench_ddp.py"])
    result = project.runpytest_subprocess(*TINY_DDP, timeout=240)
    result.assert_outcomes(passed=2)
    document = results_file(project)
    benchmarks = {bench["params"]["world_size"]: bench for bench in document["benchmarks"]}
    assert sorted(benchmarks) == [1, 2]
    assert benchmarks[2]["name"].endswith("-weak-ws2]")
    one = benchmarks[1]["extra_info"]
    for world_size, bench in benchmarks.items():
        info, stats = bench["extra_info"], bench["stats"]
        assert bench["group"] == "ddp"
        assert info["world_size"] == world_size
        assert info["backend"] == "gloo"
        assert info["threads_per_rank"] == 1
        assert info["images_per_round"] == 64 * world_size  # weak scaling: 64 images a rank
        assert len(stats["data"]) == stats["rounds"] == info["timed_rounds"] == 2
        # pytest-benchmark holds, per round, the slowest rank's seconds
        assert stats["data"] == [max(rounds) for rounds in zip(*info["rank_round_seconds"], strict=True)]
        assert info["images_per_sec"] == pytest.approx(info["images_per_round"] / stats["median"])
        assert len(info["rank_images_per_sec"]) == world_size
        assert all(rate > 0 for rate in info["rank_images_per_sec"])
        assert len(info["rank_busy_seconds"]) == world_size
        assert info["straggler_ratio"] >= 1
        assert 0 <= info["allreduce_share"] <= 1
        assert info["train_loss"] > 0
    assert one["scaling_efficiency"] == pytest.approx(1.0)
    assert one["allreduce_busbw_gb_per_s"] == {}  # no bus between one rank and itself
    assert one["no_ddp_images_per_sec"] > 0
    two = benchmarks[2]["extra_info"]
    assert two["scaling_efficiency"] == pytest.approx(two["images_per_sec"] / (2 * one["images_per_sec"]))
    assert two["baseline_images_per_sec"] == pytest.approx(one["images_per_sec"])
    assert len(two["allreduce_busbw_gb_per_s"]) == 2
    assert all(busbw > 0 for busbw in two["allreduce_busbw_gb_per_s"].values())
    # The bus bandwidth is a machine fact too, next to the peak matmul (not measured here: --bench-no-peak).
    facts = document["machine_info"]["cifarbench"]
    assert facts["allreduce_busbw_gb_per_s"] == {"gloo:ws2": two["allreduce_busbw_gb_per_s"]}
    assert "peak_tflops" in facts
    assert_nothing_left_running(mark)


def test_a_killed_rank_fails_its_case_cleanly_and_the_sweep_goes_on(pytester, monkeypatch, mark):
    project = lay_out(pytester, monkeypatch, ["bench_ddp.py", "bench_step.py"], warnings_as_errors=True)
    monkeypatch.setenv(distributed.FAULT_ENV, "kill:1")
    result = project.runpytest_subprocess(*TINY_DDP, "--bench-world-sizes", "2", "--bench-loaders", "tensor",
                                          "-k", "bench_ddp or bench_forward", timeout=240)
    result.assert_outcomes(passed=1, failed=1)  # ddp ws2 failed; the forward case after it ran
    result.stdout.fnmatch_lines(["*ws2: rank 1 (pid *) killed by SIGKILL*"])
    cases = results_file(project)["cifarbench"]["cases"]
    failed = [case for case in cases if case["outcome"] == "failed"]
    assert len(failed) == 1
    assert failed[0]["params"]["world_size"] == 2
    assert "rank 1" in failed[0]["reason"]
    assert_nothing_left_running(mark)


def test_short_rounds_are_timed_more_often_up_to_a_cap():
    spec = distributed.RunSpec(**{**TINY_SPEC.__dict__, "rounds": 2, "min_timed_seconds": 2.0})
    assert spec.timed_rounds(warm_round_seconds=0.06) == 34  # 2 s of 60 ms rounds (ddp on 2 CPU cores)
    assert spec.timed_rounds(warm_round_seconds=1.5) == 2  # long rounds: the preset's count
    assert spec.timed_rounds(warm_round_seconds=0.001) == MAX_TIMED_ROUNDS
    assert TINY_SPEC.timed_rounds(warm_round_seconds=0.001) == TINY_SPEC.rounds  # fixed work: no sizing


def test_every_rank_times_the_same_number_of_rounds(mark):
    spec = distributed.RunSpec(**{**TINY_SPEC.__dict__, "min_timed_seconds": 0.5})
    ranks = distributed.launch(spec, 2)
    counts = {len(rank["round_seconds"]) for rank in ranks}
    assert len(counts) == 1, counts  # agreed: each round closes with a barrier of both
    [count] = counts
    assert spec.rounds < count <= MAX_TIMED_ROUNDS
    assert_nothing_left_running(mark)


def test_a_hung_rank_fails_the_launch_naming_it_within_the_timeout(monkeypatch, mark):
    monkeypatch.setenv(distributed.FAULT_ENV, "hang:1")
    spec = distributed.RunSpec(**{**TINY_SPEC.__dict__, "pg_timeout_s": 3.0})
    with pytest.raises(distributed.LaunchError, match=r"Ranks 1 failed to pass monitoredBarrier"):
        distributed.launch(spec, 2, timeout_s=120)
    assert_nothing_left_running(mark)


def test_a_launch_past_its_deadline_is_killed(monkeypatch, mark):
    monkeypatch.setenv(distributed.FAULT_ENV, "hang:0")  # rank 0 alone: no peer times out
    spec = distributed.RunSpec(**{**TINY_SPEC.__dict__, "pg_timeout_s": 600.0})
    started = time.monotonic()
    with pytest.raises(distributed.LaunchError, match=r"did not finish within 10 s"):
        distributed.launch(spec, 1, timeout_s=10)
    assert time.monotonic() - started < 45
    assert_nothing_left_running(mark)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_torchrun_agents_on_localhost_write_one_results_file(tmp_path, monkeypatch, mark):
    """The multi-node command of docs/ddp.md, two single-process agents on 127.0.0.1."""
    from reports.reading.load import read_result_file

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "2", "--nproc-per-node", "1",
               "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}", "--rdzv-id", mark,
               "--local-addr", "127.0.0.1", "--max-restarts", "0",
               "-m", "bench.distributed", "worker", "--batch-size", "16", "--images", "64", "--rounds", "2",
               "--results", str(tmp_path / "results"), "--label", "two-agents", "--no-peak",
               "--threads-per-rank", "1"]
    agents = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True) for _ in range(2)]
    try:
        outputs = [agent.communicate(timeout=180)[0].decode(errors="replace") for agent in agents]
    finally:
        for agent in agents:
            if agent.poll() is None:
                os.killpg(agent.pid, signal.SIGKILL)
                agent.wait()
    assert [agent.returncode for agent in agents] == [0, 0], outputs
    files = sorted((tmp_path / "results").glob("*.json"))
    assert len(files) == 1, files  # rank 0 alone writes
    records = read_result_file(files[0])
    assert len(records) == 1
    record = records[0]
    assert record.machine == "two-agents"
    assert record.benchmark["group"] == "ddp"
    assert record.benchmark["name"].endswith("-ws2]")
    info = record.benchmark["extra_info"]
    assert (info["world_size"], info["nnodes"], info["backend"]) == (2, 2, "gloo")
    assert len(info["rank_images_per_sec"]) == 2
    assert info["images_per_round"] == 128
    assert info["images_per_sec"] == pytest.approx(128 / record.benchmark["stats"]["median"])
    assert len(record.benchmark["stats"]["data"]) == 2
    assert info["threads_per_rank"] == 1
    assert_nothing_left_running(mark)


def test_the_scaling_table_derives_efficiency_per_machine_with_the_rank_spread():
    from reports.analysis.scaling import scaling_points
    from reports.page.charts.scaling import POINT_COLUMNS, points_frame
    from reports.reading.load import load_records
    from reports.reading.tidy import tidy

    frame = points_frame(scaling_points(tidy(load_records([DDP_DATA]))))
    assert list(frame.columns) == list(POINT_COLUMNS)
    sweep = frame[frame["machine"] == "cpu-2core-ddp"].set_index("world_size")
    assert sorted(sweep.index) == [1, 2]
    assert sweep.loc[1, "scaling_efficiency"] == pytest.approx(1.0)
    assert sweep.loc[2, "scaling_efficiency"] == pytest.approx(
        sweep.loc[2, "images_per_sec"] / (2 * sweep.loc[1, "images_per_sec"]))
    assert sweep.loc[2, "rank_efficiency_min"] <= sweep.loc[2, "rank_efficiency_max"]
    two_agents = frame[frame["machine"] == "2x-cpu-2core-localhost"]
    assert list(two_agents["nnodes"]) == [2]
    assert two_agents["scaling_efficiency"].isna().all()  # no one-rank case on that machine


def test_the_scaling_chart_draws_a_line_per_machine_and_configuration():
    from reports.analysis.scaling import scaling_points
    from reports.page.charts.scaling import points_frame, scaling_chart
    from reports.reading.load import load_records
    from reports.reading.tidy import tidy

    figure = scaling_chart(points_frame(scaling_points(tidy(load_records([DDP_DATA])))))
    [ax] = figure.axes
    labels = ax.get_legend_handles_labels()[1]
    assert "perfect scaling" in labels
    assert any(label.startswith("cpu-2core-ddp: tutorial cpu tensor bs128 weak") for label in labels)
    assert [tick.get_text() for tick in ax.get_xticklabels()] == ["1", "2"]
