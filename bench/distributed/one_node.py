"""Launching on one node: elastic_launch in a child process's own session, killed and checked empty after.

`launch(spec, world_size)` runs `python -m bench.distributed launch ...` in a new session; that
child (`launch_main`) calls `elastic_launch` (max_restarts=0) and writes rank 0's gathered
results. A rank that dies fails the launch with that rank's error; a hang ends at the process
group's timeout (collectives) or the launch deadline.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import fields
from pathlib import Path

import psutil

from bench.distributed.rank import run_rank
from bench.distributed.spec import RunSpec

# The whole launch, start-up included: the last resort for a hang outside any collective.
DEFAULT_LAUNCH_TIMEOUT_S = 1800.0
ROOT = Path(__file__).resolve().parents[2]


class LaunchError(RuntimeError):
    """A data-parallel run failed: the message names the rank and its error."""


def session_processes(session_id: int) -> list[psutil.Process]:
    """Live (non-zombie) processes of a session: a launch's leftovers, even once re-parented."""
    found = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) == session_id and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (ProcessLookupError, PermissionError):
            continue
    return found


def _end_session(session_id: int, grace_s: float = 10.0) -> list[psutil.Process]:
    """Kill what is left of a launch's session; the processes still alive after `grace_s`."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(session_id, signal.SIGKILL)
    deadline = time.monotonic() + grace_s
    while (left := session_processes(session_id)) and time.monotonic() < deadline:
        for process in left:
            with contextlib.suppress(psutil.Error):
                process.kill()
        time.sleep(0.1)
    return left


def launch(spec: RunSpec, world_size: int, timeout_s: float = DEFAULT_LAUNCH_TIMEOUT_S) -> list[dict]:
    """Run `spec` on `world_size` ranks on this machine; every rank's measurements, by rank.

    The agent (`elastic_launch`) runs in a child process in a session of its own, so that
    whatever happens, killing that session leaves nothing running. Raises `LaunchError` naming
    the failed rank and its error, or the deadline.
    """
    with tempfile.TemporaryDirectory(prefix="cifarbench-ddp-") as folder:
        out, log = Path(folder) / "ranks.json", Path(folder) / "launch.log"
        command = [sys.executable, "-m", "bench.distributed", "launch", "--nproc", str(world_size),
                   "--spec", spec.to_json(), "--out", str(out)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        with open(log, "wb") as log_file:
            child = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
            try:
                child.wait(timeout=timeout_s)
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                left = _end_session(child.pid)
                child.wait()
        tail = log.read_text(errors="replace")[-3000:]
        if left:
            raise LaunchError(f"processes left running after the launch: {[p.pid for p in left]}")
        if timed_out:
            raise LaunchError(f"ws{world_size}: the ranks did not finish within {timeout_s:.0f} s; killed\n{tail}")
        if not out.exists():
            raise LaunchError(f"ws{world_size}: the launcher exited with {child.returncode} and no result\n{tail}")
        result = json.loads(out.read_text())
    if "failures" in result:
        raise LaunchError(f"ws{world_size}: " + "; ".join(result["failures"]))
    return result["ranks"]


def _failure_lines(error) -> list[str]:
    """One line per failed rank of a ChildFailedError, the earliest first.

    The earliest is the cause: a rank that dies takes its peers' collectives down with it.
    Error files are ordered by when they were written (the failures' own timestamps are whole
    seconds); a rank killed by a signal writes none and counts from when the agent saw it.
    """

    def when(failure) -> float:
        with contextlib.suppress(OSError, TypeError):
            return os.path.getmtime(failure.error_file)
        return float(failure.timestamp)

    lines = []
    for rank, failure in sorted(error.failures.items(), key=lambda item: when(item[1])):
        how = (f"killed by {failure.signal_name()}" if failure.exitcode < 0
               else f"exited with code {failure.exitcode}")
        message = failure.message
        if isinstance(message, dict):  # a Python error recorded by the rank: {"message": ..., "extraInfo": ...}
            message = message.get("message", json.dumps(message))
        lines.append(f"rank {rank} (pid {failure.pid}) {how}: {str(message or '').strip()}")
    return lines


def launch_main(spec: RunSpec, nproc: int, out: Path) -> int:
    """The child process of `launch`: elastic_launch on this node, rank 0's results to `out`."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    # Newer torch lets the launch wait less than its default 30 s for ranks to exit after
    # SIGTERM; older releases (torch 2.11 on GPU images) have no such field and wait their own.
    shutdown = ({"shutdown_timeout": 5} if "shutdown_timeout" in {field.name for field in fields(LaunchConfig)}
                else {})
    config = LaunchConfig(
        min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=str(uuid.uuid4()),
        rdzv_backend="c10d", rdzv_endpoint="127.0.0.1:0", local_addr="127.0.0.1",
        max_restarts=0, monitor_interval=0.1, start_method="spawn", **shutdown,
    )
    try:
        results = elastic_launch(config, run_rank)(spec)
    except ChildFailedError as error:
        out.write_text(json.dumps({"failures": _failure_lines(error)}))
        return 1
    out.write_text(json.dumps({"ranks": results[0]}))
    return 0
