"""Results that survive: the sweep's JSON is rewritten after every case.

The file is pytest-benchmark's own JSON (made by its `pytest_benchmark_generate_json`
hook, so `pytest-benchmark compare` reads it), written to a temporary file and renamed over
the old one, so a crash or a kill mid-sweep leaves the cases finished so far on disk.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

from bench.machine import safe_label


def results_path(directory: Path, label: str, started: datetime | None = None) -> Path:
    """results/<label>_<UTC timestamp>.json"""
    started = started or datetime.now(timezone.utc)
    stamp = started.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path(directory) / f"{safe_label(label)}_{stamp}.json"


def write_atomically(path: Path, document: dict) -> None:
    """Write JSON next to `path`, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=1, default=str)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
