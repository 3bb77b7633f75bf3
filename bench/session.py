"""One `pytest --benchmark` run's state: the results file, what was measured, what happened.

- The results file is claimed before the first case (`bench.results.claim_results_path`), so
  an unwritable folder is a usage error, not a lost measurement.
- Only cases whose timed call finished and passed are saved as measurements; a case cut short
  (Ctrl-C, a kill) or failed is listed in `cifarbench.cases` with its outcome, never in
  `benchmarks`, so `pytest-benchmark compare` and the regression gate never read it.
- A write that fails mid-sweep keeps every measured case: the file goes to a fallback path in
  the temporary folder, the sweep stops cleanly with the reason, and no partial file stays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench import machine
from bench.preflight import Preflight
from bench.results import fallback_path, write_atomically
from bench.sweep import Sweep
from bench.trust import worst


@dataclass
class Progress:
    """Cases done and the time they took, for the line after each case (never inside a round)."""

    total: int = 0
    done: int = 0
    seconds: float = 0.0
    started_s: float | None = None

    def start_case(self) -> None:
        self.started_s = time.perf_counter()

    def finish_case(self) -> float:
        elapsed = time.perf_counter() - self.started_s if self.started_s is not None else 0.0
        self.done += 1
        self.seconds += elapsed
        self.started_s = None
        return elapsed

    def seconds_left(self) -> float | None:
        """The mean case so far times the cases left: crude, and said to be an estimate."""
        if not self.done or self.total <= self.done:
            return None
        return self.seconds / self.done * (self.total - self.done)


@dataclass
class SweepSession:
    """The plugin's state for one `pytest --benchmark` run."""

    config: object
    sweep: Sweep
    label: str
    path: Path | None  # the claimed results file; None in a smoke run (nothing is saved)
    started: datetime
    preflight: Preflight | None = None
    smoke: bool = False
    interrupted: bool = False
    write_error: str | None = None  # why the results folder stopped taking the file
    measured: set[str] = field(default_factory=set)  # node ids of cases saved as measurements
    finished: set[str] = field(default_factory=set)  # node ids whose call phase ended
    running: str | None = None  # the node id of the case in progress
    progress: Progress = field(default_factory=Progress)
    commit_info: dict | None = None
    _machine_info: dict | None = None

    def machine_info(self) -> dict:
        """pytest-benchmark's machine_info with our facts under "cifarbench", made once.

        Made once per sweep: py-cpuinfo alone takes about a second, and the results file is
        rewritten after every case.
        """
        if self._machine_info is None:
            config = self.config
            info = config._benchmarksession.get_machine_info()
            info["cifarbench"] = machine.collect(
                info.get("cpu") or {},
                devices=list(self.sweep.grid.devices),
                label=self.label,
                threads=self.sweep.cpu_threads,
                price_per_hour=config.getoption("bench_price_per_hour"),
                measure_peak=not config.getoption("bench_no_peak"),
            )
            if self.preflight is not None:
                info["cifarbench"]["preflight"] = self.preflight.as_dict()
            self._machine_info = info
        return self._machine_info

    @property
    def facts(self) -> dict | None:
        """Our machine facts, once measured (None before the session starts)."""
        return self._machine_info["cifarbench"] if self._machine_info is not None else None

    def prune(self) -> None:
        """Drop from pytest-benchmark's list every benchmark whose case did not finish its call.

        A case cut short in its first round has no stats (pytest-benchmark's own summary
        would fail on it); one cut later has a partial set that the compare gate would trust.
        """
        benchmarks = self.config._benchmarksession.benchmarks
        benchmarks[:] = [bench for bench in benchmarks if bench.fullname in self.finished]

    def measurements(self) -> list:
        """The benchmarks saved as measurements: cases whose call passed."""
        return [bench for bench in self.config._benchmarksession.benchmarks if bench.fullname in self.measured]

    def trust_levels(self) -> dict[str, int]:
        """How many saved cases are ok, noisy and invalid."""
        counts: dict[str, int] = {}
        for bench in self.measurements():
            level = bench.extra_info.get("trust", {}).get("level")
            if level is not None:
                counts[level] = counts.get(level, 0) + 1
        return counts

    def document(self, complete: bool) -> dict:
        """The results file's content: pytest-benchmark's JSON plus our `cifarbench` section."""
        config = self.config
        machine_info = self.machine_info()
        if self.commit_info is None:
            self.commit_info = config.hook.pytest_benchmark_generate_commit_info(config=config)
        output = config.hook.pytest_benchmark_generate_json(
            config=config, benchmarks=self.measurements(), include_data=True,
            machine_info=machine_info, commit_info=self.commit_info,
        )
        levels = self.trust_levels()
        output["cifarbench"] = {
            "preset": self.sweep.grid.preset,
            "complete": complete,
            "interrupted": self.interrupted,
            "started": self.started.isoformat(),
            "data": "synthetic" if self.sweep.data_dir is None else str(self.sweep.data_dir),
            "trust": {"level": worst(list(levels)), "cases": levels},
            "cases": self.sweep.outcomes,
        }
        return output

    def save(self, complete: bool = False) -> Path | None:
        """Write every measured case to the results file; on a write error, to the fallback.

        Returns where the file is. A failed write sets `write_error` (the sweep then stops);
        the measured cases stay in memory and go to `fallback_path` in the temporary folder.
        """
        if self.path is None:
            return None
        document = self.document(complete)
        try:
            write_atomically(self.path, document)
            return self.path
        except OSError as error:
            first_error = f"{self.path}: {error.strerror or error}"
        fallback = fallback_path(self.path)
        try:
            write_atomically(fallback, document)
        except OSError as error:
            self.write_error = (f"could not write {first_error}, nor the fallback {fallback} "
                                f"({error.strerror or error}); the measured cases are lost with this process")
            return None
        self.write_error = (f"could not write {first_error}; every measured case is saved "
                            f"in {fallback} instead")
        self.path = fallback
        return fallback
