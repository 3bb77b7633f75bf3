"""The machines frame: records -> one row per machine (CPU, cores, RAM, GPUs, versions, peaks, price).

Read from the newest result file of each machine; the page's machines table
(`reports.page.parts.machine_tables`) shows it, and the pipeline takes run prices and
preflight checks from it.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from reports.reading.load import Record


def machines_frame(records: Iterable[Record]) -> pd.DataFrame:
    """One row per machine: CPU, cores, RAM, GPUs, driver, versions, peak TFLOP/s, price.

    From the newest file of each machine; `files` counts its files. `peak_tflops` holds the
    measured peaks as {device: {dtype: TFLOP/s}}, `allreduce_busbw_gb_per_s` the all-reduce
    bus bandwidth as {"<backend>:ws<N>": {message bytes: GB/s}} ({} where not measured).
    """
    newest: dict[str, Record] = {}
    files: dict[str, set[str]] = {}
    for record in records:
        files.setdefault(record.machine, set()).add(record.file)
        current = newest.get(record.machine)
        if current is None or (record.run.get("started") or record.datetime or "") >= (
                current.run.get("started") or current.datetime or ""):
            newest[record.machine] = record
    rows = [_machine_row(record, len(files[machine])) for machine, record in newest.items()]
    columns = ["machine", "hostname", "cpu", "cores_usable", "cores_logical", "torch_threads", "ram_gib",
               "gpus", "driver", "python", "torch", "torchvision", "cuda", "cudnn", "peak_tflops",
               "allreduce_busbw_gb_per_s", "price_per_hour", "profile", "preset", "preflight", "repeat_noise",
               "data_source", "complete", "started", "files", "cifarbench"]
    return pd.DataFrame(rows, columns=columns)


def _machine_row(record: Record, file_count: int) -> dict:
    info = record.machine_info
    facts = record.facts
    cpu = info.get("cpu") if isinstance(info.get("cpu"), dict) else {}
    versions = facts.get("versions") or {}
    gpus = [gpu for gpu in facts.get("gpus") or [] if isinstance(gpu, dict)]
    return {
        "machine": record.machine,
        "hostname": facts.get("hostname") or info.get("node"),
        "cpu": facts.get("cpu_brand") or cpu.get("brand_raw"),
        "cores_usable": facts.get("cpu_count_usable"),
        "cores_logical": facts.get("cpu_count_logical") or cpu.get("count"),
        "torch_threads": facts.get("torch_threads"),
        "ram_gib": facts.get("ram_gib"),
        "gpus": _gpu_summary(gpus),
        "driver": next((gpu.get("driver") for gpu in gpus if gpu.get("driver")), None),
        "python": versions.get("python") or info.get("python_version"),
        "torch": versions.get("torch"),
        "torchvision": versions.get("torchvision"),
        "cuda": versions.get("cuda"),
        "cudnn": versions.get("cudnn"),
        "peak_tflops": facts.get("peak_tflops") or {},
        "allreduce_busbw_gb_per_s": facts.get("allreduce_busbw_gb_per_s") or {},
        "price_per_hour": facts.get("price_per_hour"),
        "profile": record.run.get("profile"),
        "preset": record.run.get("preset") or record.run.get("profile"),
        "preflight": facts.get("preflight") if isinstance(facts.get("preflight"), dict) else None,
        # The run-to-run noise the run's repeats measured (bench/repeats.py), None with one repeat.
        "repeat_noise": (record.run.get("noise") or {}).get("repeat_log_sd"),
        "data_source": record.run.get("data"),
        "complete": record.run.get("complete"),
        "started": record.run.get("started") or record.datetime,
        "files": file_count,
        "cifarbench": record.cifarbench,
    }


def _gpu_summary(gpus: list[dict]) -> str | None:
    """'1 x NVIDIA H200 (139 GiB)'; several kinds joined with '; '."""
    kinds: dict[tuple, int] = {}
    for gpu in gpus:
        key = (gpu.get("name"), gpu.get("memory_total_mib"))
        kinds[key] = kinds.get(key, 0) + 1
    parts = []
    for (name, memory_mib), count in kinds.items():
        memory = f" ({memory_mib / 1024:.0f} GiB)" if isinstance(memory_mib, int | float) else ""
        parts.append(f"{count} x {name}{memory}")
    return "; ".join(parts) or None
