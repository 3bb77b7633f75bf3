"""One `pytest --benchmark` run's state: the results file, what was measured, what happened.

- The results file is claimed before the first case (`bench.results.claim_results_path`), so
  an unwritable folder is a usage error, not a lost measurement.
- Each run of a case (a case runs once per repeat) is kept as a measurement only if its timed
  call finished and passed; a run cut short (Ctrl-C, a kill) or failed is dropped from
  pytest-benchmark's list at once and listed in `cifarbench.cases` with its outcome, so
  `pytest-benchmark compare` and the regression gate never read it.
- When the file is written, the runs of each case are merged into one case (bench/repeats.py),
  with the canary's readings (bench/canary.py) and the run's pooled noise.
- A write that fails mid-sweep keeps every measured case: the file goes to a fallback path in
  the temporary folder, the sweep stops cleanly with the reason, and no partial file stays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench import machine
from bench.canary import Canary
from bench.compat import benchmark_session
from bench.contract import File, Machine
from bench.contract.vocab import worst_level
from bench.preflight import Preflight
from bench.repeats import RunFacts, merge
from bench.results import fallback_path, write_atomically
from bench.sweep import Sweep
from bench.trust import THRESHOLDS


@dataclass
class Progress:
    """Runs done and the time they took, for the line after each run (never inside a round)."""

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
        """The mean run so far times the runs left: crude, and said to be an estimate."""
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
    repeats: int = 1
    canary: Canary | None = None
    search: object | None = None  # the auto preset's bench.search.Search, while and after it runs
    interrupted: bool = False
    write_error: str | None = None  # why the results folder stopped taking the file
    measured: set[str] = field(default_factory=set)  # node ids of cases with a run saved as a measurement
    running: str | None = None  # the node id of the case in progress
    progress: Progress = field(default_factory=Progress)
    commit_info: dict | None = None
    started_s: float = field(default_factory=time.perf_counter)  # the sweep's start, perf_counter seconds
    _runs: dict[int, RunFacts] = field(default_factory=dict)  # id(benchmark) -> its run, for kept runs
    _run_passed: bool = False
    _run_started_s: float = 0.0
    _run_benchmarks: int = 0
    _machine_info: dict | None = None

    def machine_info(self) -> dict:
        """pytest-benchmark's machine_info with our facts under "cifarbench", made once.

        Made once per sweep: py-cpuinfo alone takes about a second, and the results file is
        rewritten after every case.
        """
        if self._machine_info is None:
            config = self.config
            info = benchmark_session(config).get_machine_info()
            info["cifarbench"] = machine.collect(
                info.get("cpu") or {},
                devices=list(self.sweep.grid.devices),
                label=self.label,
                threads=self.sweep.cpu_threads,
                price_per_hour=config.getoption("bench_price_per_hour"),
                measure_peak=not config.getoption("bench_no_peak"),
                cpu_limit=self.sweep.cpu_limit,
            )
            if self.preflight is not None:
                info["cifarbench"][Machine.preflight] = self.preflight.as_dict()
            self._machine_info = info
            self.sweep.machine_facts = info["cifarbench"]  # cases add facts there (the ddp's bus bandwidth)
        return self._machine_info

    @property
    def facts(self) -> dict | None:
        """Our machine facts, once measured (None before the session starts)."""
        return self._machine_info["cifarbench"] if self._machine_info is not None else None

    def read_canary(self, before: str | None) -> None:
        """A canary reading now, before the case `before` (None: at the end)."""
        if self.canary is not None:
            self.canary.read(before)

    def start_run(self, nodeid: str, repeat: int) -> None:
        """Before one run of a case: remember where pytest-benchmark's list stood."""
        self.running = nodeid
        self.sweep.running, self.sweep.repeat = nodeid, repeat
        self._run_passed = False
        self._run_started_s = time.perf_counter() - self.started_s
        self._run_benchmarks = len(benchmark_session(self.config).benchmarks)

    def call_passed(self) -> None:
        """The running case's timed call finished and passed."""
        self._run_passed = True
        if self.running is not None:
            self.measured.add(self.running)

    @property
    def run_passed(self) -> bool:
        """Whether the run in progress (or the last one) finished its timed call and passed."""
        return self._run_passed

    def finish_run(self) -> None:
        """After one run: keep its benchmarks as measurements if its call passed, else drop them."""
        benchmarks = benchmark_session(self.config).benchmarks
        new = benchmarks[self._run_benchmarks:]
        if self._run_passed:
            run = RunFacts(started_s=self._run_started_s,
                           seconds=time.perf_counter() - self.started_s - self._run_started_s,
                           repeat=self.sweep.repeat)
            for bench in new:
                self._runs[id(bench)] = run
        else:
            # Cut short or failed: a partial set of rounds that the compare gate would trust,
            # or none at all (pytest-benchmark's own summary would fail on it).
            del benchmarks[self._run_benchmarks:]
        self.running = self.sweep.running = None

    def prune(self) -> None:
        """Drop from pytest-benchmark's list every benchmark that is not a kept run."""
        benchmarks = benchmark_session(self.config).benchmarks
        benchmarks[:] = [bench for bench in benchmarks if id(bench) in self._runs]

    def measurements(self) -> list:
        """The benchmarks kept as measurements, one per passed run, in run order."""
        return [bench for bench in benchmark_session(self.config).benchmarks if id(bench) in self._runs]

    def merged(self) -> tuple[list[dict], object]:
        """pytest-benchmark's entries of every kept run merged into one per case, and the run's noise."""
        measurements = self.measurements()
        entries = [bench.as_dict(include_data=True) for bench in measurements]
        return merge(entries, [self._runs[id(bench)] for bench in measurements], self.canary)

    def trust_levels(self, entries: list[dict] | None = None) -> dict[str, int]:
        """How many saved (merged) cases are ok, noisy and invalid."""
        counts: dict[str, int] = {}
        for entry in entries if entries is not None else self.merged()[0]:
            level = (entry["extra_info"].get("trust") or {}).get("level")
            if level is not None:
                counts[level] = counts.get(level, 0) + 1
        return counts

    def document(self, complete: bool) -> dict:
        """The results file's content: pytest-benchmark's JSON plus our `cifarbench` section."""
        config = self.config
        machine_info = self.machine_info()
        if self.canary is not None:
            machine_info["cifarbench"][Machine.canary] = self.canary.as_dict(THRESHOLDS.noisy_machine_drift)
        if self.commit_info is None:
            self.commit_info = config.hook.pytest_benchmark_generate_commit_info(config=config)
        output = config.hook.pytest_benchmark_generate_json(
            config=config, benchmarks=[], include_data=True,
            machine_info=machine_info, commit_info=self.commit_info,
        )
        entries, noise = self.merged()
        output["benchmarks"] = entries
        levels = self.trust_levels(entries)
        output["cifarbench"] = {
            File.preset: self.sweep.grid.preset,
            File.complete: complete,
            File.interrupted: self.interrupted,
            File.started: self.started.isoformat(),
            File.data: self.sweep.data_source if self.sweep.data_dir is None else str(self.sweep.data_dir),
            File.repeats: self.repeats,
            File.epoch_images: self.sweep.grid.epoch_images if self.sweep.grid.epoch_round_seconds is None else None,
            File.noise: None if noise is None else {"repeat_log_sd": noise.log_sd, "cases": noise.cases,
                                                    "degrees_of_freedom": noise.degrees_of_freedom},
            File.trust: {"level": worst_level(list(levels)), "cases": levels},
            File.cases: self.sweep.outcomes,
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
