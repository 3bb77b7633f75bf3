"""A `pynvml` stand-in that answers like nvidia-ml-py, for the sampler's tests.

It holds only the functions the sampler calls, with nvidia-ml-py's signatures, and takes
nvidia-ml-py's own error classes, constants and ctypes structures from the installed
`pynvml` (importing it loads no driver): the code under test builds and reads the same
`c_nvmlGpmMetricsGet_t` and raises the same `NVMLError_*` as on a GPU machine. GPM samples
are real `c_nvmlGpmSample_t` pointers, each to a counter of the order it was taken in.
"""

from __future__ import annotations

import ctypes
import types
from types import SimpleNamespace

import pynvml as real

GPM_VALUES_PCT = {
    real.NVML_GPM_METRIC_SM_UTIL: 62.5,
    real.NVML_GPM_METRIC_SM_OCCUPANCY: 31.25,
    real.NVML_GPM_METRIC_ANY_TENSOR_UTIL: 12.5,
    real.NVML_GPM_METRIC_DRAM_BW_UTIL: 45.0,
}
GPM_MODES = ("supported", "unsupported", "no permission", "function not found", "mig", "absent")


def fake_nvml(*, pcie: bool = True, event_reasons: str = "new", init_error: Exception | None = None,
              energy_mj: dict | None = None, power_fails_after: int | None = None, gpm: str = "supported",
              gpm_values_pct: dict | None = None) -> types.ModuleType:
    """A `pynvml` stand-in, and a record of the calls made to it (`calls`, `temperatures`, `gpm`).

    `gpm`: one of `GPM_MODES`: a Hopper GPU (`supported`), an older one, GPM sampling without
    the permission, a driver without GPM, MIG mode on, bindings without GPM functions.
    """
    assert gpm in GPM_MODES, gpm
    nv = types.ModuleType("pynvml")
    for name in dir(real):  # the real error classes and constants
        if name.startswith(("NVMLError", "NVML_")):
            setattr(nv, name, getattr(real, name))
    nv.c_nvmlGpmMetricsGet_t = real.c_nvmlGpmMetricsGet_t
    nv.c_nvmlGpmSample_t = real.c_nvmlGpmSample_t
    nv.calls = {"init": 0, "pcie": 0, "power": 0}
    nv.temperatures = {}
    # Each handle's energy counter, in mJ: read at start and at stop.
    nv.energy_mj = {name: list(reads) for name, reads in (energy_mj or {}).items()}
    # GPM samples alive (address -> the counter it points to), and how many were ever allocated.
    nv.gpm = SimpleNamespace(alive={}, allocated=0, taken=0, pairs=0)
    values_pct = GPM_VALUES_PCT if gpm_values_pct is None else gpm_values_pct

    def init():
        nv.calls["init"] += 1
        if init_error is not None:
            raise init_error

    def temperature(handle, sensor):
        assert sensor == nv.NVML_TEMPERATURE_GPU
        nv.temperatures[handle] = nv.temperatures.get(handle, 0) + 1
        return nv.temperatures[handle]  # 1, 2, 3, ...: one per sample

    def power(handle):
        nv.calls["power"] += 1
        if power_fails_after is not None and nv.calls["power"] > power_fails_after:
            raise RuntimeError("boom")
        return 123_456  # mW

    def pcie_throughput(handle, counter):
        nv.calls["pcie"] += 1
        if not pcie:
            raise real.NVMLError_NotSupported()
        return 2048 if counter == nv.NVML_PCIE_UTIL_TX_BYTES else 512  # KB/s

    def energy(handle):
        reads = nv.energy_mj.get(handle)
        if not reads:
            raise real.NVMLError_NotSupported()
        return reads.pop(0)

    def new_reasons(handle):
        if event_reasons == "missing in driver":
            raise real.NVMLError_FunctionNotFound()
        return 0x1 | 0x4 | 0x40  # idle, SW power cap, HW thermal slowdown

    def mig_mode(handle):
        if gpm == "unsupported":  # an older GPU has no MIG at all
            raise real.NVMLError_NotSupported()
        mode = real.NVML_DEVICE_MIG_ENABLE if gpm == "mig" else real.NVML_DEVICE_MIG_DISABLE
        return [mode, mode]  # [current, pending], as nvidia-ml-py returns them

    def gpm_query_device_support(device):
        if gpm == "function not found":
            raise real.NVMLError_FunctionNotFound()
        support = real.c_nvmlGpmSupport_t()
        support.version = real.NVML_GPM_SUPPORT_VERSION
        support.isSupportedDevice = 0 if gpm == "unsupported" else 1
        return support

    def address(sample) -> int | None:
        return ctypes.cast(sample, ctypes.c_void_p).value

    def counter(sample) -> ctypes.c_int:
        found = nv.gpm.alive.get(address(sample))
        if found is None:  # a null, freed or foreign sample
            raise real.NVMLError_InvalidArgument()
        return found

    def gpm_sample_alloc():
        taken_order = ctypes.c_int(0)  # stands for the driver's opaque sample
        sample = ctypes.cast(ctypes.pointer(taken_order), real.c_nvmlGpmSample_t)
        nv.gpm.alive[address(sample)] = taken_order
        nv.gpm.allocated += 1
        return sample

    def gpm_sample_get(device, gpm_sample):
        if gpm == "no permission":
            raise real.NVMLError_NoPermission()
        nv.gpm.taken += 1
        counter(gpm_sample).value = nv.gpm.taken
        return gpm_sample

    def gpm_metrics_get(metrics_get):
        assert isinstance(metrics_get, real.c_nvmlGpmMetricsGet_t)
        if metrics_get.version != real.NVML_GPM_METRICS_GET_VERSION:
            raise real.NVMLError_ArgumentVersionMismatch()
        first, second = counter(metrics_get.sample1).value, counter(metrics_get.sample2).value
        if not 0 < first < second:  # never taken, or taken in the wrong order
            raise real.NVMLError_InvalidArgument()
        nv.gpm.pairs += 1
        for slot in range(metrics_get.numMetrics):
            metric = metrics_get.metrics[slot]
            if metric.metricId in values_pct:
                metric.value = values_pct[metric.metricId]
                metric.nvmlReturn = real.NVML_SUCCESS
            else:
                metric.nvmlReturn = real.NVML_ERROR_NOT_SUPPORTED
        return metrics_get

    def gpm_sample_free(gpm_sample):
        counter(gpm_sample)
        del nv.gpm.alive[address(gpm_sample)]

    nv.nvmlInit = init
    nv.nvmlDeviceGetHandleByIndex = lambda index: f"handle{index}"
    nv.nvmlDeviceGetHandleByUUID = lambda uuid: f"handle-{uuid}"
    nv.nvmlDeviceGetUtilizationRates = lambda handle: SimpleNamespace(gpu=87, memory=40)
    nv.nvmlDeviceGetMemoryInfo = lambda handle: SimpleNamespace(used=3 * 2**30, total=80 * 2**30)
    nv.nvmlDeviceGetPowerUsage = power
    nv.nvmlDeviceGetClockInfo = lambda handle, clock: 1410 if clock == nv.NVML_CLOCK_SM else 0
    nv.nvmlDeviceGetTemperature = temperature
    nv.nvmlDeviceGetPcieThroughput = pcie_throughput
    nv.nvmlDeviceGetTotalEnergyConsumption = energy
    nv.nvmlDeviceGetCurrentClocksThrottleReasons = lambda handle: 0x8  # HW slowdown
    if event_reasons != "absent":
        nv.nvmlDeviceGetCurrentClocksEventReasons = new_reasons
    nv.nvmlDeviceGetMigMode = mig_mode
    if gpm != "absent":
        nv.nvmlGpmQueryDeviceSupport = gpm_query_device_support
        nv.nvmlGpmSampleAlloc = gpm_sample_alloc
        nv.nvmlGpmSampleGet = gpm_sample_get
        nv.nvmlGpmMetricsGet = gpm_metrics_get
        nv.nvmlGpmSampleFree = gpm_sample_free
    return nv
