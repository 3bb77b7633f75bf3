"""The sampler reads real NVML values: utilization, memory, power, clocks, energy, GPM."""

import time

import pytest
import torch

from bench.sampling import Sampler
from bench.sampling.nvml import (
    CLOCK_EVENT_REASONS,
    NVML,
    decode_clock_event_reasons,
    nvml_handle,
    read_clock_event_reasons,
)
from tests.gpu import requires_cuda

pytestmark = requires_cuda

INTERVAL_S = 0.05
WINDOW_S = 1.5
GPM_GPUS = ("H100", "H200")  # Hopper: GPM must be supported


@pytest.fixture(scope="module")
def nvml():
    module = NVML.get()
    if module is None:
        pytest.fail(f"CUDA is available but NVML is not: {NVML.error}")
    return module


def busy(device: torch.device, seconds: float) -> None:
    """Keep the GPU busy with large matmuls for about `seconds`."""
    left = torch.randn(4096, 4096, device=device)
    right = torch.randn(4096, 4096, device=device)
    end_s = time.perf_counter() + seconds
    while time.perf_counter() < end_s:
        for _ in range(8):
            torch.mm(left, right)
        torch.cuda.synchronize(device)  # host-device sync point: keeps the queue short


def test_busy_and_idle_windows(nvml):
    device = torch.device("cuda", 0)
    torch.cuda.synchronize(device)  # host-device sync point
    time.sleep(1.0)  # NVML's utilization covers the last period (up to 1 s): let it go quiet
    with Sampler(interval_s=INTERVAL_S, gpu_indices=[0]) as idle:
        time.sleep(WINDOW_S)
    with Sampler(interval_s=INTERVAL_S, gpu_indices=[0]) as loaded:
        busy(device, WINDOW_S)
    idle_result, busy_result = idle.result(), loaded.result()

    assert idle_result.summary["gpu_util_pct"]["mean"] < 20.0, idle_result.summary["gpu_util_pct"]
    assert busy_result.summary["gpu_util_pct"]["mean"] > 50.0, busy_result.summary["gpu_util_pct"]
    summary = busy_result.summary
    assert summary["gpu_mem_used_mib"]["max"] > 0  # this process's context and matrices at least
    assert summary["gpu_power_w"]["mean"] > 0
    assert summary["gpu_sm_clock_mhz"]["max"] > 0
    assert 0 < summary["gpu_temp_c"]["max"] < 120
    assert busy_result.energy_j is not None, busy_result.facts.notes
    assert busy_result.energy_j > 0
    assert busy_result.facts.gpu_available is True
    known = set(CLOCK_EVENT_REASONS.values())
    assert all(reason in known or reason.startswith("unknown_") for reason in busy_result.throttle_reasons)


def test_throttle_reasons_decode_to_names(nvml):
    bitmask = read_clock_event_reasons(nvml, nvml_handle(nvml, 0))
    assert isinstance(bitmask, int)
    names = decode_clock_event_reasons(bitmask)
    assert all(name in set(CLOCK_EVENT_REASONS.values()) or name.startswith("unknown_") for name in names)


def test_cuda_visible_devices_maps_to_the_same_gpu(nvml):
    torch_uuid = str(torch.cuda.get_device_properties(0).uuid).removeprefix("GPU-")
    default_handle = nvml_handle(nvml, 0)
    uuid = nvml.nvmlDeviceGetUUID(default_handle)
    uuid = uuid.decode() if isinstance(uuid, bytes) else uuid
    nvml_index = nvml.nvmlDeviceGetIndex(default_handle)
    for visible in (uuid, str(nvml_index)):
        handle = nvml_handle(nvml, 0, environ={"CUDA_VISIBLE_DEVICES": visible})
        mapped = nvml.nvmlDeviceGetUUID(handle)
        mapped = mapped.decode() if isinstance(mapped, bytes) else mapped
        assert mapped.removeprefix("GPU-") == torch_uuid, visible


def test_gpm_over_a_busy_window(nvml):
    device = torch.device("cuda", 0)
    with Sampler(interval_s=INTERVAL_S, gpu_indices=[0]) as loaded:
        busy(device, WINDOW_S)
    reading = loaded.result().gpm[0]
    name = torch.cuda.get_device_name(device)
    if not reading.supported and not any(gpu in name for gpu in GPM_GPUS):
        pytest.skip(f"GPM not supported on {name}: {reading.reason}")
    assert reading.supported, f"{name}: {reading.reason}"
    for value in (reading.sm_active_pct, reading.sm_occupancy_pct, reading.tensor_active_pct,
                  reading.dram_bw_util_pct):
        assert value is not None, reading.reason
        assert 0.0 <= value <= 100.0, reading
    assert reading.sm_active_pct > 10.0, reading  # large matmuls keep most SMs busy
