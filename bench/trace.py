"""Profiler traces on request (`--bench-trace`): a few training steps of an epoch case.

Recorded after the case's timed rounds, never inside them (the profiler slows what it
records), with torch.profiler's wait / warm-up / active schedule, and written as a gzipped
Chrome-trace JSON that Perfetto (ui.perfetto.dev) and chrome://tracing open. The trace carries
`distributedInfo` with rank 0, which Holistic Trace Analysis expects of every trace
(HTA#104). Known trap: the profiler with multi-worker DataLoaders has had bugs
(pytorch#109969); the worker processes are not profiled, only the training process.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile, schedule

from bench.timing import synchronize
from bench.workload import to_device, train_step

WAIT_STEPS, WARMUP_STEPS, ACTIVE_STEPS = 1, 1, 3
TOP_OPS = 10


def _batches_forever(batches: Iterable):
    while True:
        yield from batches


def _self_seconds(event, device_type: str) -> float:
    if device_type == "cuda":
        device_us = getattr(event, "self_device_time_total", None)
        if device_us is None:
            device_us = getattr(event, "self_cuda_time_total", 0.0)
        return (event.self_cpu_time_total + device_us) / 1e6
    return event.self_cpu_time_total / 1e6


def write_trace(exported_json: Path, path: Path) -> None:
    """Gzip the profiler's Chrome trace to `path`, with rank 0 added for HTA."""
    document = json.loads(exported_json.read_text(encoding="utf-8"))
    document.setdefault("distributedInfo", {"backend": "none", "rank": 0, "world_size": 1})
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(document, handle)


def record_trace(model: nn.Module, optimizer: torch.optim.Optimizer, batches: Iterable, device: torch.device,
                 path: Path) -> dict:
    """Profile WAIT + WARMUP + ACTIVE training steps; write the trace to `path`; return what to record.

    Returns {"file": path, "steps": ACTIVE_STEPS, "top_ops": [{name, self_seconds, calls}]},
    the operators by self time (CPU plus device time on CUDA) over the active steps.
    """
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    criterion = nn.CrossEntropyLoss()
    steps = _batches_forever(batches)
    with tempfile.TemporaryDirectory() as folder:
        exported = Path(folder) / "trace.json"

        def export(finished: profile) -> None:
            finished.export_chrome_trace(str(exported))

        with profile(activities=activities, on_trace_ready=export,
                     schedule=schedule(wait=WAIT_STEPS, warmup=WARMUP_STEPS, active=ACTIVE_STEPS, repeat=1)) as prof:
            for _ in range(WAIT_STEPS + WARMUP_STEPS + ACTIVE_STEPS):
                images, labels = to_device(*next(steps), device)
                train_step(model, optimizer, criterion, images, labels)
                synchronize(device)  # host-device sync point: each profiled step ends finished
                prof.step()
        write_trace(exported, path)
    # The schedule's own step markers (ProfilerStep#N) are not operators.
    operators = [event for event in prof.key_averages() if not event.key.startswith("ProfilerStep")]
    averages = sorted(operators, key=lambda event: _self_seconds(event, device.type), reverse=True)
    top = [{"name": event.key, "self_seconds": _self_seconds(event, device.type), "calls": event.count}
           for event in averages[:TOP_OPS]]
    return {"file": path, "steps": ACTIVE_STEPS, "top_ops": top}
