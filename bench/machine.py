"""Facts about the machine a sweep ran on, stored in the JSON's `machine_info["cifarbench"]`.

Hardware (CPU, cores, RAM, GPUs through NVML), software versions, backend flags, and the
measured peak matmul TFLOP/s per device and dtype, so a report can give a fraction of peak.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import socket
import time

import psutil
import torch
import torchvision

from bench.contract import Machine
from bench.grid import usable_cores
from bench.timing import synchronize

log = logging.getLogger("cifarbench.machine")

# CPU flags that decide how fast PyTorch's CPU kernels can be.
INTERESTING_CPU_FLAGS = (
    "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx512bw", "amx_bf16",
    "amx_tile", "amx_int8", "asimd", "sve", "neon",
)


def gpu_facts() -> list[dict]:
    """Name, memory, driver and power limit of each GPU NVML sees (empty without NVML)."""
    try:
        import pynvml
        pynvml.nvmlInit()
    except Exception as error:  # ImportError, NVMLError_LibraryNotFound, NVMLError_DriverNotLoaded
        log.info("no NVML: %s", error)
        return []
    facts = []
    driver = _text(pynvml.nvmlSystemGetDriverVersion())
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        gpu = {
            "index": index,
            "name": _text(pynvml.nvmlDeviceGetName(handle)),
            "memory_total_mib": pynvml.nvmlDeviceGetMemoryInfo(handle).total / 2**20,
            "driver": driver,
        }
        try:
            gpu["power_limit_w"] = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
        except pynvml.NVMLError as error:
            gpu["power_limit_w"] = None
            log.info("GPU %d power limit not available: %s", index, error)
        facts.append(gpu)
    return facts


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def measure_peak_tflops(device: str, dtype: torch.dtype, size: int | None = None,
                        seconds: float = 0.3) -> float:
    """Achieved TFLOP/s of a square matmul on `device` in `dtype`: the practical peak.

    A few hundred milliseconds of repeated `size` x `size` matmuls after a warm-up, bracketed
    by device synchronizations.
    """
    if size is None:
        size = 8192 if device.startswith("cuda") else 1024
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    torch.matmul(a, b)
    synchronize(device)  # host-device sync point: warm-up done
    iterations = 0
    started = time.perf_counter()
    while True:
        torch.matmul(a, b)
        iterations += 1
        if iterations % 4 == 0:
            synchronize(device)  # host-device sync point: check the clock on finished work
            elapsed = time.perf_counter() - started
            if elapsed >= seconds:
                break
    return 2 * size**3 * iterations / elapsed / 1e12


def peak_tflops(devices: list[str]) -> dict[str, dict[str, float]]:
    """Measured peak per device and dtype: float32 (TF32 where enabled) and bfloat16 on CUDA."""
    peaks = {}
    for device in devices:
        if device.startswith("cuda") and not torch.cuda.is_available():
            continue
        dtypes = {"float32": torch.float32}
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            dtypes["bfloat16"] = torch.bfloat16
        peaks[device] = {name: measure_peak_tflops(device, dtype) for name, dtype in dtypes.items()}
    return peaks


def default_label(gpus: list[dict]) -> str:
    """hostname plus hardware: 'myhost-16c-1xH200' or 'myhost-2c-cpu'."""
    hardware = f"{len(gpus)}x{short_gpu_name(gpus[0]['name'])}" if gpus else "cpu"
    return f"{socket.gethostname()}-{usable_cores()}c-{hardware}"


def short_gpu_name(name: str) -> str:
    """'NVIDIA H200' -> 'H200'; 'NVIDIA GeForce RTX 4090' -> 'RTX4090'."""
    name = re.sub(r"^(NVIDIA\s+)?(GeForce\s+|Tesla\s+)?", "", name)
    return re.sub(r"[^A-Za-z0-9]+", "", name.split(" NVL")[0].split(" SXM")[0].split(" PCIe")[0]) or "gpu"


def safe_label(label: str) -> str:
    """A label usable in a file name: letters, digits, '.', '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._") or "machine"


def collect(cpu_info: dict, devices: list[str], label: str | None, threads: int,
            price_per_hour: float | None = None, measure_peak: bool = True, cpu_limit=None) -> dict:
    """Everything `machine_info["cifarbench"]` holds (keys: bench.contract.Machine).

    `cpu_info` is py-cpuinfo's dict; `cpu_limit` the process's cgroup limit (bench.cgroup).
    """
    gpus = gpu_facts()
    flags = set(cpu_info.get("flags", []))
    facts = {
        Machine.label: label or default_label(gpus),
        Machine.hostname: socket.gethostname(),
        Machine.cpu_brand: cpu_info.get("brand_raw") or platform.processor() or platform.machine(),
        Machine.cpu_count_logical: os.cpu_count(),
        Machine.cpu_count_usable: usable_cores(),
        Machine.cpu_limit: cpu_limit_facts(cpu_limit),
        Machine.cpu_flags: sorted(flags.intersection(INTERESTING_CPU_FLAGS)),
        Machine.ram_gib: psutil.virtual_memory().total / 2**30,
        Machine.torch_threads: threads,
        Machine.gpus: gpus,
        Machine.versions: {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torchvision": torchvision.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        },
        Machine.backend: {
            "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
            "tf32_cudnn": torch.backends.cudnn.allow_tf32,
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
            "float32_matmul_precision": torch.get_float32_matmul_precision(),
        },
        Machine.price_per_hour: price_per_hour,
        Machine.peak_tflops: peak_tflops(devices) if measure_peak else {},
    }
    return facts


def cpu_limit_facts(cpu_limit) -> dict | None:
    """The cgroup CPU limit as a machine fact: {limit_cores, version, cgroup}, None without one."""
    setter = cpu_limit.setter if cpu_limit is not None else None
    if setter is None:
        return None
    return {"limit_cores": setter.limit_cores, "version": setter.cgroup.version, "cgroup": setter.cgroup.path}
