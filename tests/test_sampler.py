"""The utilization sampler, with a fake NVML (tests/fake_pynvml.py) and the real psutil.

Nothing here is timed: the tests wait for sample counts (at least a few) and check what was
recorded, its units and its shape, and that the sampling thread always ends.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

import psutil
import pytest

from bench.contract.derive import images_per_joule
from bench.grid import grid_from_options
from bench.sampling import Sampler
from bench.sampling.cpu import CPU_METRICS
from bench.sampling.nvml import Nvml, decode_clock_event_reasons
from bench.sampling.sampler import OnceLog
from bench.sampling.stats import downsample_indices
from bench.sweep import Sweep, Window
from tests.fake_pynvml import fake_nvml
from tests.sampler_helpers import INTERVAL_S, make_sampler, run_for_samples, sampler_threads, samples, wait_for

GPU_SUFFIXES = ("util_pct", "mem_util_pct", "mem_used_mib", "power_w", "sm_clock_mhz", "temp_c",
                "pcie_tx_mib_per_sec", "pcie_rx_mib_per_sec")
GPM_SUFFIXES = ("sm_active_pct", "sm_occupancy_pct", "tensor_active_pct", "dram_bw_util_pct")
SUMMARY_KEYS = {"mean", "p50", "p95", "max", "n"}
FACT_KEYS = {"interval_s", "samples", "gpu_indices", "gpu_available", "notes", "thread_cpu_seconds",
             "wall_seconds", "thread_cpu_pct_of_one_core", "sampling_wall_seconds"}


@pytest.fixture(autouse=True)
def no_cuda_visible_devices(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_cpu_only_records_every_field():
    sampled = run_for_samples(make_sampler()).result()
    summary, timeline, facts = sampled.summary, sampled.timeline, sampled.facts

    assert set(summary) == set(CPU_METRICS)
    for name, stats in summary.items():
        assert set(stats) == SUMMARY_KEYS, name
        assert stats["n"] >= 1
        assert stats["p50"] <= stats["p95"] <= stats["max"], name
        assert stats["mean"] <= stats["max"], name
    for name in ("cpu_pct", "cpu_core_pct_max", "cpu_core_pct_mean"):
        assert 0.0 <= summary[name]["max"] <= 100.0
    assert summary["cpu_cores_busy"]["max"] <= psutil.cpu_count()
    assert summary["proc_rss_mib"]["mean"] > 0
    assert summary["workers_count"]["max"] == 0  # no child processes here

    assert set(timeline) == {"t_s", *CPU_METRICS}
    assert facts.samples >= 3
    assert all(len(values) == facts.samples for values in timeline.values())
    assert timeline["t_s"] == sorted(timeline["t_s"])
    assert timeline["t_s"][0] > 0

    assert sampled.energy_j is None
    assert sampled.throttle_reasons == ()
    assert sampled.gpm == {}
    assert sampled.gpm_json() is None
    assert facts.interval_s == INTERVAL_S
    assert facts.gpu_available is False
    assert facts.gpu_indices == ()
    assert facts.notes == ()
    assert facts.thread_cpu_seconds >= 0
    assert facts.wall_seconds > 0
    assert facts.thread_cpu_pct_of_one_core >= 0
    assert facts.sampling_wall_seconds > 0
    written = facts.to_json()
    assert set(written) == FACT_KEYS  # extra_info["sampler"], as the report reads it
    assert written["gpu_indices"] == []
    assert written["notes"] == []
    assert written["thread_cpu_pct_of_one_core"] == facts.thread_cpu_pct_of_one_core


def test_the_result_is_a_frozen_snapshot():
    sampler = make_sampler()
    with sampler:
        wait_for(lambda: samples(sampler) >= 1, "a sample")
        early = sampler.result()
        wait_for(lambda: samples(sampler) > early.facts.samples, "another sample")
    assert early.facts.thread_cpu_seconds is None  # the thread was still running
    assert sampler.result().facts.samples > early.facts.samples
    with pytest.raises(AttributeError):
        early.energy_j = 1.0


def test_a_busy_process_outside_the_tree_shows_as_other_cpu():
    """The evidence the trust verdict reads: a busy loop in a process the sampler does not
    follow (here: it follows an idle child instead) counts as other processes' CPU."""
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # both started
        with make_sampler(pid=idle.pid) as sampler:
            time.sleep(0.5)
        summary = sampler.result().summary
    finally:
        for process in (idle, busy):
            process.kill()
            process.wait()
    # The busy loop holds a core (100%) when it runs; on two cores shared with this test
    # process it still gets well over half of one.
    assert summary["other_cpu_pct"]["mean"] > 50.0
    assert summary["proc_cpu_pct"]["mean"] < 10.0


def test_one_gpu_metrics_in_their_units():
    nv = fake_nvml(energy_mj={"handle0": [5_000_000, 5_012_500]})
    sampled = run_for_samples(make_sampler(nv, gpu_indices=[0])).result()
    summary = sampled.summary

    assert {f"gpu_{suffix}" for suffix in GPU_SUFFIXES} <= set(summary)
    assert not any(name.startswith("gpu0_") for name in summary)
    expected = {"gpu_util_pct": 87.0, "gpu_mem_util_pct": 40.0, "gpu_mem_used_mib": 3072.0,
                "gpu_power_w": 123.456, "gpu_sm_clock_mhz": 1410.0,
                "gpu_pcie_tx_mib_per_sec": 2.0, "gpu_pcie_rx_mib_per_sec": 0.5}
    for name, value in expected.items():
        assert summary[name]["max"] == pytest.approx(value), name
        assert summary[name]["mean"] == pytest.approx(value), name
    gpm_series = {f"gpu_{s}" for s in GPM_SUFFIXES} & set(sampled.timeline)  # only windows of >= 0.1 s have them
    assert set(sampled.timeline) == {"t_s", *CPU_METRICS, *(f"gpu_{s}" for s in GPU_SUFFIXES), *gpm_series}
    assert sampled.energy_j == pytest.approx(12.5)  # (5,012,500 - 5,000,000) mJ
    assert sampled.throttle_reasons == ("sw_power_cap", "hw_thermal_slowdown")
    assert sampled.facts.gpu_available is True
    assert sampled.facts.notes == ()
    assert sampled.gpm_json()["supported"] is True


def test_unsupported_metric_is_left_out_and_noted_once(caplog):
    nv = fake_nvml(pcie=False, energy_mj={"handle0": [1_000, 2_000, 3_000, 5_000]})
    nvml, once_log = Nvml(load=lambda: nv), OnceLog()  # one process, two cases
    with caplog.at_level(logging.WARNING, logger="cifarbench.sampler"):
        first = run_for_samples(make_sampler(nvml=nvml, once_log=once_log, gpu_indices=[0])).result()
        second = run_for_samples(make_sampler(nvml=nvml, once_log=once_log, gpu_indices=[0])).result()

    for sampled in (first, second):
        assert "gpu_pcie_tx_mib_per_sec" not in sampled.summary
        assert "gpu_pcie_rx_mib_per_sec" not in sampled.summary
        assert "gpu_pcie_tx_mib_per_sec" not in sampled.timeline
        assert "gpu_util_pct" in sampled.summary
        [note] = sampled.facts.notes
        assert "PCIe throughput" in note
        assert "NVMLError_NotSupported: Not Supported" in note
    assert first.energy_j == pytest.approx(1.0)
    assert second.energy_j == pytest.approx(2.0)
    assert nv.calls["pcie"] == 2  # asked once per sampler, not once per sample
    assert nv.calls["init"] == 1  # NVML initialized once per process
    pcie_logs = [record for record in caplog.records if "PCIe" in record.getMessage()]
    assert len(pcie_logs) == 1


@pytest.mark.parametrize("event_reasons", ["absent", "missing in driver"])
def test_older_throttle_reasons_function(event_reasons):
    sampler = run_for_samples(make_sampler(fake_nvml(event_reasons=event_reasons), gpu_indices=[0]), count=1)
    assert sampler.result().throttle_reasons == ("hw_slowdown",)


def test_decode_clock_event_reasons():
    assert decode_clock_event_reasons(0) == []
    assert decode_clock_event_reasons(0x1) == []  # GPU idle is not a limit
    assert decode_clock_event_reasons(0x1 | 0x4 | 0x40 | 0x10000) == [
        "sw_power_cap", "hw_thermal_slowdown", "unknown_0x10000"]
    assert decode_clock_event_reasons(0x2 | 0x8 | 0x10 | 0x20 | 0x80 | 0x100) == [
        "applications_clocks_setting", "hw_slowdown", "sync_boost", "sw_thermal_slowdown",
        "hw_power_brake_slowdown", "display_clock_setting"]


def test_several_gpus_are_prefixed_and_energy_summed():
    nv = fake_nvml(energy_mj={"handle0": [0, 1_500], "handle1": [10_000, 12_000]})
    sampled = run_for_samples(make_sampler(nv, gpu_indices=[0, 1])).result()
    for index in (0, 1):
        assert {f"gpu{index}_{suffix}" for suffix in GPU_SUFFIXES} <= set(sampled.summary)
    assert not any(name.startswith("gpu_") for name in sampled.summary)
    assert sampled.energy_j == pytest.approx(3.5)
    assert sampled.throttle_reasons == ("gpu0:sw_power_cap", "gpu0:hw_thermal_slowdown",
                                        "gpu1:sw_power_cap", "gpu1:hw_thermal_slowdown")


def test_energy_of_part_of_the_gpus_is_no_energy():
    nv = fake_nvml(energy_mj={"handle0": [0, 1_500]})  # GPU 1 has no counter
    sampled = run_for_samples(make_sampler(nv, gpu_indices=[0, 1]), count=1).result()
    assert sampled.energy_j is None
    assert any("gpu1 energy" in note for note in sampled.facts.notes)


@pytest.mark.parametrize(("visible", "handle"),
                         [("2,3", "handle3"), ("GPU-a1b2, GPU-c3d4", "handle-GPU-c3d4")])
def test_cuda_visible_devices_maps_to_nvml_devices(monkeypatch, visible, handle):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    nv = fake_nvml()
    run_for_samples(make_sampler(nv, gpu_indices=[1]), count=1)
    assert set(nv.temperatures) == {handle}


def test_gpu_not_visible_is_noted(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    sampled = run_for_samples(make_sampler(fake_nvml(), gpu_indices=[1]), count=1).result()
    assert sampled.facts.gpu_available is False
    assert "gpu1 metrics not recorded" in sampled.facts.notes[0]
    assert set(CPU_METRICS) <= set(sampled.summary)
    assert sampled.gpm[1].supported is False
    assert "gpu1 metrics not recorded" in sampled.gpm[1].reason


def test_pynvml_not_importable_gives_cpu_metrics_and_a_note(caplog):
    nvml, once_log = Nvml(load=lambda: __import__("a_module_that_is_not_there")), OnceLog()
    with caplog.at_level(logging.WARNING, logger="cifarbench.sampler"):
        samplers = [run_for_samples(make_sampler(nvml=nvml, once_log=once_log, gpu_indices=[0]))
                    for _ in range(2)]
    for sampler in samplers:
        sampled = sampler.result()
        assert set(sampled.summary) == set(CPU_METRICS)
        assert sampled.energy_j is None
        assert sampled.facts.gpu_available is False
        [note] = sampled.facts.notes
        assert "pynvml is not importable (ModuleNotFoundError" in note
        assert sampled.gpm_json() == {"supported": False, "reason": note, "sm_active_pct": None,
                                      "sm_occupancy_pct": None, "tensor_active_pct": None,
                                      "dram_bw_util_pct": None}
    assert len(caplog.records) == 1  # once per process, not per case


def test_nvml_init_failure_gives_cpu_metrics_and_a_note():
    import pynvml

    nv = fake_nvml(init_error=pynvml.NVMLError_DriverNotLoaded())
    nvml = Nvml(load=lambda: nv)
    for _ in range(2):
        sampled = run_for_samples(make_sampler(nvml=nvml, gpu_indices=[0])).result()
        assert set(sampled.summary) == set(CPU_METRICS)
        [note] = sampled.facts.notes
        assert "nvmlInit failed (NVMLError_DriverNotLoaded: Driver Not Loaded)" in note
    assert nv.calls["init"] == 1  # not retried per case


def test_summary_and_downsampled_timeline_values():
    nv = fake_nvml()
    sampler = run_for_samples(make_sampler(nv, gpu_indices=[0], max_points=5), count=12)
    sampled = sampler.result()
    count = sampled.facts.samples
    assert nv.temperatures["handle0"] == count  # read once per sample: the series is 1..count

    stats = sampled.summary["gpu_temp_c"]
    assert stats["n"] == count
    assert stats["max"] == count
    assert stats["mean"] == pytest.approx((count + 1) / 2)
    assert stats["p50"] == pytest.approx((count + 1) / 2)
    assert stats["p95"] == pytest.approx(1 + 0.95 * (count - 1))

    timeline = sampled.timeline
    sampler.max_points = 10**6
    full = sampler.result().timeline
    assert len(full["t_s"]) == count
    assert all(len(values) == 5 for values in timeline.values())
    picks = downsample_indices(count, 5)
    assert timeline["gpu_temp_c"] == [float(i + 1) for i in picks]
    assert timeline["gpu_temp_c"][0] == 1.0
    assert timeline["gpu_temp_c"][-1] == float(count)
    assert timeline["t_s"] == [full["t_s"][i] for i in picks]
    assert timeline["t_s"][0] == full["t_s"][0]
    assert timeline["t_s"][-1] == full["t_s"][-1]
    for name, values in timeline.items():
        assert values == [full[name][i] for i in picks], name


def test_exception_in_block_stops_the_thread_and_propagates():
    threads_before = set(threading.enumerate())
    sampler = make_sampler()

    def failing_case():
        with sampler:
            wait_for(lambda: samples(sampler) >= 1, "a sample")
            raise ValueError("case failed")

    with pytest.raises(ValueError, match="case failed"):
        failing_case()
    assert sampler_threads() == []
    assert set(threading.enumerate()) <= threads_before
    assert samples(sampler) >= 1


def test_error_inside_sampling_loop_is_logged_once_and_ends_the_thread(caplog):
    with caplog.at_level(logging.WARNING, logger="cifarbench.sampler"), \
            make_sampler(fake_nvml(power_fails_after=2), gpu_indices=[0]) as sampler:
        wait_for(lambda: sampler_threads() == [], "the sampling thread to end")
    assert sampler_threads() == []
    sampled = sampler.result()
    assert sampled.summary["gpu_power_w"]["n"] == 2  # what was gathered is kept
    assert sampled.facts.samples == 2
    assert "sampling stopped early by RuntimeError: boom" in sampled.facts.notes
    assert sampled.facts.thread_cpu_seconds is not None
    [record] = [r for r in caplog.records if "boom" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None


def test_start_stop_lifecycle():
    sampler = make_sampler()
    sampler.stop()  # never started: nothing to do
    sampler.start()
    sampler.stop()
    sampler.stop()  # idempotent
    assert sampler_threads() == []
    with pytest.raises(RuntimeError, match="one window"):
        sampler.start()


@pytest.mark.parametrize("kwargs", [{"interval_s": 0}, {"interval_s": -1.0}, {"max_points": 1}])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError, match="must be"):
        Sampler(**kwargs)


def test_images_per_joule():
    assert images_per_joule(1000, 12.5) == pytest.approx(80.0)
    assert images_per_joule(1000, None) is None
    assert images_per_joule(1000, 0.0) is None  # the counter did not advance: nothing measured


def fake_benchmark(rounds_seconds: list[float]) -> SimpleNamespace:
    """What `Sweep.record` reads of pytest-benchmark's fixture: the rounds' stats and extra_info."""
    ordered = sorted(rounds_seconds)
    stats = SimpleNamespace(median=ordered[len(ordered) // 2], data=list(rounds_seconds))
    return SimpleNamespace(stats=SimpleNamespace(stats=stats), extra_info={}, disabled=False, group="forward")


def test_record_writes_the_sampler_keys_the_report_reads():
    nv = fake_nvml(energy_mj={"handle0": [1_000_000, 1_040_000]})
    sampler = run_for_samples(make_sampler(nv, gpu_indices=[0]))
    benchmark = fake_benchmark([0.5, 0.4, 0.6, 0.5])
    Sweep(grid=grid_from_options("quick")).record(benchmark, Window(sampler), None, images_per_round=1000)
    info = json.loads(json.dumps(benchmark.extra_info))  # as the results file holds it

    sampled = sampler.result()
    assert info["utilization"] == sampled.summary
    assert info["timeline"] == sampled.timeline
    assert info["sampler"] == sampled.facts.to_json()
    assert info["throttle_reasons"] == ["sw_power_cap", "hw_thermal_slowdown"]
    assert info["energy_j"] == pytest.approx(40.0)
    assert info["energy_j_per_round"] == pytest.approx(10.0)
    assert info["images_per_joule"] == pytest.approx(4 * 1000 / 40.0)
    assert info["gpm"] == {"supported": True, "reason": None, "sm_active_pct": 62.5, "sm_occupancy_pct": 31.25,
                           "tensor_active_pct": 12.5, "dram_bw_util_pct": 45.0}
    assert "other_cpu_pct" in info["utilization"]


def test_record_of_a_cpu_case_writes_no_gpu_keys():
    sampler = run_for_samples(make_sampler())
    benchmark = fake_benchmark([0.5])
    Sweep(grid=grid_from_options("quick")).record(benchmark, Window(sampler), None, images_per_round=10)
    assert {"utilization", "timeline", "sampler", "throttle_reasons"} <= set(benchmark.extra_info)
    assert not {"energy_j", "energy_j_per_round", "images_per_joule", "gpm"} & set(benchmark.extra_info)
