"""Results that survive: the sweep's JSON is rewritten after every case.

The file is pytest-benchmark's own JSON (made by its `pytest_benchmark_generate_json`
hook, so `pytest-benchmark compare` reads it), written to a temporary file of this process
and renamed over the old one, so a crash or a kill mid-sweep leaves the cases finished so
far on disk, and readers never see half a file.

No two sweeps ever write the same file: the name is claimed with an exclusive create before
the first case (two sweeps with the same label started in the same second get `_2`, `_3`,
...), and each process writes through a temporary name of its own.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from bench.machine import safe_label

# File names stay well under the 255 bytes most file systems allow; the whole label is
# kept inside the file.
MAX_LABEL_CHARS_IN_NAME = 100
MAX_CLAIM_ATTEMPTS = 1000


class ResultsError(OSError):
    """The results folder cannot take the results file; the message says why and what to do."""


def results_stem(label: str, started: datetime | None = None) -> str:
    """<label>_<UTC timestamp>, the label made safe for a file name and shortened."""
    started = started or datetime.now(timezone.utc)
    stamp = started.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{safe_label(label)[:MAX_LABEL_CHARS_IN_NAME].rstrip('._-') or 'machine'}_{stamp}"


def claim_results_path(directory: Path, label: str, started: datetime | None = None) -> Path:
    """Create results/<label>_<UTC timestamp>.json empty and exclusively, and return it.

    The folder is made if needed. Raises `ResultsError` naming the folder and the fix when it
    cannot be written: checked before the first case, so no measurement is lost to it.
    """
    directory = Path(directory)
    stem = results_stem(label, started)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ResultsError(error.errno, _cannot_write(directory, error)) from error
    if not directory.is_dir():
        raise ResultsError(errno.ENOTDIR, f"--bench-results: {directory} is not a folder; "
                                          "give a folder to write result files into")
    for attempt in range(1, MAX_CLAIM_ATTEMPTS + 1):
        path = directory / (f"{stem}.json" if attempt == 1 else f"{stem}_{attempt}.json")
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        except OSError as error:
            raise ResultsError(error.errno, _cannot_write(directory, error)) from error
        os.close(descriptor)
        return path
    raise ResultsError(errno.EEXIST, f"--bench-results: {MAX_CLAIM_ATTEMPTS} files named {stem}*.json "
                                     f"exist in {directory}; give another folder or label")


def _cannot_write(directory: Path, error: OSError) -> str:
    return (f"--bench-results: cannot write result files in {directory} ({error.strerror or error}); "
            "give a folder you can write to, e.g. --bench-results=results")


def write_atomically(path: Path, document: dict) -> None:
    """Write JSON to a temporary file of this process next to `path`, then rename.

    On any error the temporary file is removed and the error raised: the previous version of
    `path` stays whole.
    """
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def fallback_path(path: Path) -> Path:
    """Where the results go when their folder fails mid-sweep: the temporary folder."""
    return Path(tempfile.gettempdir()) / path.name

