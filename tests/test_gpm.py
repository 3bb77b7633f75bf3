"""GPM activity metrics over a window, with a fake pynvml that answers like nvidia-ml-py's GPM calls."""

from __future__ import annotations

import time

import pynvml
import pytest

from bench.sampling.gpm import GpmReading, GpmWindow
from tests.fake_pynvml import fake_nvml
from tests.sampler_helpers import make_sampler, run_for_samples, wait_for

GPM_KEYS = {"supported", "reason", "sm_active_pct", "sm_occupancy_pct", "tensor_active_pct", "dram_bw_util_pct"}
SERIES = ("gpu_sm_active_pct", "gpu_sm_occupancy_pct", "gpu_tensor_active_pct", "gpu_dram_bw_util_pct")


@pytest.fixture(autouse=True)
def no_cuda_visible_devices(monkeypatch):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)


def test_supported_gpu_records_the_window_and_a_series():
    nv = fake_nvml(gpm="supported", energy_mj={"handle0": [0, 1_000]})
    sampler = make_sampler(nv, gpu_indices=[0])
    with sampler:  # long enough for intermediate pairs, which are at least 0.1 s apart
        wait_for(lambda: "gpu_sm_active_pct" in sampler.result().summary, "a GPM pair")
    sampled = sampler.result()

    assert sampled.gpm == {0: GpmReading(supported=True, reason=None, sm_active_pct=62.5, sm_occupancy_pct=31.25,
                                         tensor_active_pct=12.5, dram_bw_util_pct=45.0)}
    assert sampled.gpm_json() == {"supported": True, "reason": None, "sm_active_pct": 62.5,
                                  "sm_occupancy_pct": 31.25, "tensor_active_pct": 12.5, "dram_bw_util_pct": 45.0}
    for name in SERIES:
        assert sampled.summary[name]["n"] >= 1, name
    assert sampled.summary["gpu_sm_active_pct"]["max"] == pytest.approx(62.5)
    assert sampled.facts.notes == ()
    assert nv.gpm.allocated == 4
    assert nv.gpm.alive == {}  # every sample freed
    assert nv.gpm.pairs >= 2  # the window, and at least one pair of the series


@pytest.mark.parametrize(("mode", "reason"), [
    ("unsupported", "GPM not recorded: this GPU does not support GPM (Hopper and later do)"),
    ("no permission", "GPM not recorded: NVMLError_NoPermission: Insufficient Permissions"),
    ("function not found", "GPM not recorded: this driver has no GPM (NVMLError_FunctionNotFound: Function Not Found)"),
    ("mig", "GPM not recorded: MIG mode is enabled (GPM per GPU instance is not read)"),
    ("absent", "GPM not recorded: these pynvml bindings have no GPM functions (nvidia-ml-py too old)"),
])
def test_gpm_unavailable_says_why_and_the_rest_is_recorded(mode, reason):
    nv = fake_nvml(gpm=mode)
    sampled = run_for_samples(make_sampler(nv, gpu_indices=[0])).result()
    assert sampled.gpm_json() == {"supported": False, "reason": reason, "sm_active_pct": None,
                                  "sm_occupancy_pct": None, "tensor_active_pct": None, "dram_bw_util_pct": None}
    assert not set(SERIES) & set(sampled.summary)
    assert sampled.summary["gpu_util_pct"]["max"] == pytest.approx(87.0)  # NVML's own metrics go on
    assert nv.gpm.alive == {}  # what was allocated before the failure is freed


def test_a_metric_the_gpu_does_not_count_is_none_with_its_reason():
    values = {pynvml.NVML_GPM_METRIC_SM_UTIL: 80.0, pynvml.NVML_GPM_METRIC_SM_OCCUPANCY: 20.0,
              pynvml.NVML_GPM_METRIC_ANY_TENSOR_UTIL: 0.0}  # no DRAM bandwidth
    nv = fake_nvml(gpm_values_pct=values)
    reading = run_for_samples(make_sampler(nv, gpu_indices=[0]), count=1).result().gpm[0]
    assert reading.supported is True
    assert (reading.sm_active_pct, reading.sm_occupancy_pct, reading.tensor_active_pct) == (80.0, 20.0, 0.0)
    assert reading.dram_bw_util_pct is None
    assert reading.reason == f"dram_bw_util_pct not recorded (NVML return code {pynvml.NVML_ERROR_NOT_SUPPORTED})"


def test_several_gpus_are_keyed_by_cuda_index():
    sampled = run_for_samples(make_sampler(fake_nvml(), gpu_indices=[0, 1]), count=1).result()
    written = sampled.gpm_json()
    assert set(written) == {"0", "1"}
    for reading in written.values():
        assert set(reading) == GPM_KEYS
        assert reading["supported"] is True


def test_window_pairs_take_turns_and_respect_the_minimum_spacing():
    nv = fake_nvml()
    notes = []
    window = GpmWindow(nv, "handle0", notes.append, min_pair_s=0.1)
    assert window.reading.reason == "the window is still open"
    window.start()
    started_s = time.perf_counter()
    assert window.running
    assert window.sample(started_s + 0.05) == {}  # too soon: no pair
    for step in range(1, 5):  # each pair is (previous, current), taken in order: the fake checks it
        assert window.sample(started_s + 0.2 * step)["sm_active_pct"] == pytest.approx(62.5)
    assert nv.gpm.pairs == 4
    assert window.finish().sm_active_pct == pytest.approx(62.5)
    assert not window.running
    assert window.sample(started_s + 10.0) == {}  # finished: no more pairs
    assert window.finish() is window.reading  # idempotent
    assert nv.gpm.alive == {}
    assert notes == []
