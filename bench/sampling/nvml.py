"""NVML (through `pynvml`, from nvidia-ml-py): the library, device handles, and the readers.

NVML is initialized once per process, on first use, and never shut down per case. Its
device numbering ignores `CUDA_VISIBLE_DEVICES`; `nvml_handle` translates a CUDA index of
this process to NVML's device (`CUDA_DEVICE_ORDER=PCI_BUS_ID` makes CUDA's order NVML's on
machines with mixed GPUs). Each reader takes the `pynvml` module and a handle and returns
{metric name: value in the unit its name says}; it raises `NVMLError` when the GPU or
driver cannot answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from types import ModuleType

MIB = 2**20

# NVML clock event ("throttle") reason bits, from nvml.h. GPU idle (0x1) is left out: an
# idle GPU lowering its clocks is not a limit on the work.
CLOCK_EVENT_REASONS = {
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
    0x200: "board_limit",
    0x400: "reliability",
}
CLOCK_EVENT_GPU_IDLE = 0x1


def import_pynvml() -> ModuleType:
    """The real `pynvml` module (imported here, not at the top: only GPU cases need it)."""
    import pynvml

    return pynvml


class Nvml:
    """NVML, initialized on first use and once per object; `NVML` is the process's one.

    `load` returns the `pynvml` module: the real one by default, a stand-in in tests.
    """

    def __init__(self, load: Callable[[], ModuleType] = import_pynvml):
        self._load = load
        self._lock = threading.Lock()
        self._tried = False
        self.module: ModuleType | None = None
        self.error: str | None = None

    def get(self) -> ModuleType | None:
        """The initialized `pynvml` module, or None with `self.error` saying why."""
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    nvml = self._load()
                except Exception as error:  # ImportError, or a warning made an error on import
                    self.error = (f"GPU metrics not recorded: pynvml is not importable "
                                  f"({type(error).__name__}: {error})")
                    return None
                try:
                    nvml.nvmlInit()
                except Exception as error:  # NVMLError, or OSError from a broken library
                    self.error = (f"GPU metrics not recorded: nvmlInit failed "
                                  f"({type(error).__name__}: {error})")
                else:
                    self.module = nvml
            return self.module


NVML = Nvml()


def nvml_handle(nvml: ModuleType, cuda_index: int, environ: Mapping[str, str] = os.environ):
    """NVML's handle for CUDA device `cuda_index` of this process, through CUDA_VISIBLE_DEVICES.

    Raises `LookupError` when the variable names no such device or names it in a form NVML
    cannot look up (a MIG instance), `NVMLError` when NVML has no such device.
    """
    visible = environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return nvml.nvmlDeviceGetHandleByIndex(cuda_index)
    entries = [entry.strip() for entry in visible.split(",") if entry.strip()]
    if cuda_index >= len(entries):
        raise LookupError(f"CUDA_VISIBLE_DEVICES={visible!r} has no device {cuda_index}")
    entry = entries[cuda_index]
    if entry.isdigit():
        return nvml.nvmlDeviceGetHandleByIndex(int(entry))
    if entry.startswith("GPU-"):
        return nvml.nvmlDeviceGetHandleByUUID(entry)
    raise LookupError(f"CUDA_VISIBLE_DEVICES entry {entry!r} cannot be matched to an NVML device")


def decode_clock_event_reasons(bitmask: int) -> list[str]:
    """Readable names of the bits set in an NVML clock event reasons mask, GPU idle left out."""
    names = []
    for bit in range(bitmask.bit_length()):
        flag = 1 << bit
        if bitmask & flag and flag != CLOCK_EVENT_GPU_IDLE:
            names.append(CLOCK_EVENT_REASONS.get(flag, f"unknown_{flag:#x}"))
    return names


def read_clock_event_reasons(nvml: ModuleType, handle) -> int:
    """The clock event reasons bitmask, from the newer call where bindings and driver have it."""
    read = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
    if read is not None:
        try:
            return read(handle)
        except nvml.NVMLError_FunctionNotFound:  # bindings newer than the driver
            pass
    return nvml.nvmlDeviceGetCurrentClocksThrottleReasons(handle)


def read_energy_mj(nvml: ModuleType, handle) -> float:
    """The GPU's energy counter since the driver loaded, in mJ (Volta and later)."""
    return float(nvml.nvmlDeviceGetTotalEnergyConsumption(handle))


def read_utilization(nvml: ModuleType, handle) -> dict[str, float]:
    """Percent of the last period a kernel ran, and that device memory was read or written."""
    rates = nvml.nvmlDeviceGetUtilizationRates(handle)
    return {"util_pct": float(rates.gpu), "mem_util_pct": float(rates.memory)}


def read_memory(nvml: ModuleType, handle) -> dict[str, float]:
    """Device memory in use by every process, in MiB."""
    return {"mem_used_mib": nvml.nvmlDeviceGetMemoryInfo(handle).used / MIB}


def read_power(nvml: ModuleType, handle) -> dict[str, float]:
    """Board power draw in W."""
    return {"power_w": nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0}  # NVML gives mW


def read_sm_clock(nvml: ModuleType, handle) -> dict[str, float]:
    """SM clock in MHz."""
    return {"sm_clock_mhz": float(nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM))}


def read_temperature(nvml: ModuleType, handle) -> dict[str, float]:
    """GPU die temperature in degrees C."""
    return {"temp_c": float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))}


def read_pcie(nvml: ModuleType, handle) -> dict[str, float]:
    """PCIe throughput each way in MiB/s (blocks about 20 ms per direction)."""
    # NVML gives KB/s (1024 bytes), counted over its own 20 ms window.
    tx = nvml.nvmlDeviceGetPcieThroughput(handle, nvml.NVML_PCIE_UTIL_TX_BYTES)
    rx = nvml.nvmlDeviceGetPcieThroughput(handle, nvml.NVML_PCIE_UTIL_RX_BYTES)
    return {"pcie_tx_mib_per_sec": tx / 1024.0, "pcie_rx_mib_per_sec": rx / 1024.0}


# (what, how to read it, whether it is an expensive read kept under the CPU budget)
GPU_READINGS: tuple[tuple[str, Callable[[ModuleType, object], dict[str, float]], bool], ...] = (
    ("utilization", read_utilization, False),
    ("memory used", read_memory, False),
    ("power", read_power, False),
    ("SM clock", read_sm_clock, False),
    ("temperature", read_temperature, False),
    ("PCIe throughput", read_pcie, True),
)
