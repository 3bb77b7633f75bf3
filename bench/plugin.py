"""cifarbench's pytest plugin: the `--benchmark` switch, the sweep's options, fixtures, hooks.

- Without `--benchmark`, the cases in `bench/bench_*.py` are not collected: `pytest` runs
  the tests alone. With it, only the cases run (tests/ is left out).
- The cases' parametrize values come from the grid (`bench.grid`), chosen by
  `--bench-profile` and the `--bench-*` axis options.
- Machine facts go into `machine_info["cifarbench"]`; every finished case is saved at once
  to `results/<label>_<UTC timestamp>.json`; the end prints a summary per group and builds
  the HTML report of the results folder.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch

from bench import machine
from bench.data import resolve_data_dir
from bench.grid import GROUP_AXES, GridError, case_id, grid_from_options, usable_cores
from bench.results import results_path, write_atomically
from bench.sweep import Sweep

CASE_FILE_PREFIX = "bench_"


def pytest_addoption(parser):
    group = parser.getgroup("cifarbench", "cifarbench benchmark sweep")
    group.addoption("--benchmark", action="store_true", default=False,
                    help="run the benchmark sweep in bench/ (the tests are not run)")
    group.addoption("--bench-profile", default="standard",
                    help="sweep size: quick, standard or full (default: standard)")
    group.addoption("--bench-devices", help="comma-separated devices: cpu, cuda, cuda:N")
    group.addoption("--bench-models", help="comma-separated models: tutorial, resnet18")
    group.addoption("--bench-batch-sizes", help="comma-separated batch sizes, e.g. 4,128")
    group.addoption("--bench-workers", help="comma-separated DataLoader worker counts, e.g. 0,2,8")
    group.addoption("--bench-loaders", help="comma-separated input pipelines: pil, tensor, device")
    group.addoption("--bench-transforms", help="comma-separated transforms: tutorial, augmented")
    group.addoption("--bench-world-sizes", help="comma-separated ddp world sizes (processes), e.g. 1,2,4")
    group.addoption("--bench-epoch-images", type=int,
                    help="images per timed epoch; fewer than 50,000 are projected to a full epoch")
    group.addoption("--bench-threads", type=int,
                    help="CPU intra-op threads for torch (default: the usable cores)")
    group.addoption("--bench-label", help="name of this machine in the results, e.g. the instance shape")
    group.addoption("--bench-results", default="results",
                    help="folder for result files and the report (default: results)")
    group.addoption("--bench-data-dir",
                    help="real CIFAR-10 folder (holds cifar-10-batches-py); default $CIFAR10_ROOT, "
                         "else synthetic data")
    group.addoption("--bench-download", action="store_true", default=False,
                    help="download CIFAR-10 into --bench-data-dir if it is not there")
    group.addoption("--bench-sample-interval", type=float, default=0.1,
                    help="utilization sampling period in seconds (default: 0.1)")
    group.addoption("--bench-price-per-hour", type=float,
                    help="price of this machine per hour, for cost per epoch in the report")
    group.addoption("--bench-no-report", action="store_true", default=False,
                    help="do not build the HTML report at the end")
    group.addoption("--bench-no-peak", action="store_true", default=False,
                    help="skip the peak-matmul microbenchmark in the machine facts")


def pytest_configure(config):
    config.addinivalue_line("markers", "bench_case: a cifarbench benchmark case (bench/bench_*.py)")
    if not config.getoption("benchmark"):
        return
    try:
        grid = grid_from_options(
            config.getoption("bench_profile"),
            devices=config.getoption("bench_devices"),
            models=config.getoption("bench_models"),
            batch_sizes=config.getoption("bench_batch_sizes"),
            workers=config.getoption("bench_workers"),
            loaders=config.getoption("bench_loaders"),
            transforms=config.getoption("bench_transforms"),
            epoch_images=config.getoption("bench_epoch_images"),
            world_sizes=config.getoption("bench_world_sizes"),
        )
    except GridError as error:
        raise pytest.UsageError(str(error)) from None
    interval_s = config.getoption("bench_sample_interval")
    if not interval_s > 0:
        raise pytest.UsageError(f"--bench-sample-interval: {interval_s} must be a positive number of seconds")
    threads = config.getoption("bench_threads")
    threads = usable_cores() if threads is None else threads
    if threads < 1:
        raise pytest.UsageError(f"--bench-threads: {threads} must be at least 1")
    price = config.getoption("bench_price_per_hour")
    if price is not None and price < 0:
        raise pytest.UsageError(f"--bench-price-per-hour: {price} must not be negative")
    # Set once for the whole sweep, and recorded: torch's default (all logical cores) can be
    # slower than fewer threads for small batches.
    torch.set_num_threads(threads)
    started = datetime.now(timezone.utc)
    config._cifarbench = SweepSession(
        config=config,
        sweep=Sweep(
            grid=grid,
            data_dir=resolve_data_dir(config.getoption("bench_data_dir")),
            download=config.getoption("bench_download"),
            sample_interval_s=interval_s,
            cpu_threads=threads,
        ),
        results_dir=Path(config.getoption("bench_results")),
        started=started,
    )


class SweepSession:
    """The plugin's state for one `pytest --benchmark` run."""

    def __init__(self, config, sweep: Sweep, results_dir: Path, started: datetime):
        self.config = config
        self.sweep = sweep
        self.results_dir = results_dir
        self.started = started
        self._machine_info: dict | None = None
        self.commit_info: dict | None = None
        self.path: Path | None = None
        self.interrupted = False

    def machine_info(self) -> dict:
        """pytest-benchmark's machine_info with our facts under "cifarbench", made once.

        Made once per sweep: py-cpuinfo alone takes about a second, and the results file is
        rewritten after every case.
        """
        if self._machine_info is None:
            info = self.config._benchmarksession.get_machine_info()
            info["cifarbench"] = machine.collect(
                info.get("cpu") or {},
                devices=list(self.sweep.grid.devices),
                label=self.config.getoption("bench_label"),
                threads=self.sweep.cpu_threads,
                price_per_hour=self.config.getoption("bench_price_per_hour"),
                measure_peak=not self.config.getoption("bench_no_peak"),
            )
            self._machine_info = info
        return self._machine_info

    @property
    def facts(self) -> dict | None:
        """Our machine facts, once measured (None before the session starts)."""
        return self._machine_info["cifarbench"] if self._machine_info is not None else None

    def save(self, complete: bool = False) -> Path:
        """Write every benchmark finished so far (pytest-benchmark's JSON) to the results file."""
        bs = self.config._benchmarksession
        machine_info = self.machine_info()
        if self.path is None:
            self.path = results_path(self.results_dir, machine_info["cifarbench"]["label"], self.started)
        if self.commit_info is None:
            self.commit_info = self.config.hook.pytest_benchmark_generate_commit_info(config=self.config)
        output = self.config.hook.pytest_benchmark_generate_json(
            config=self.config, benchmarks=bs.benchmarks, include_data=True,
            machine_info=machine_info, commit_info=self.commit_info,
        )
        output["cifarbench"] = {
            "profile": self.sweep.grid.profile,
            "complete": complete,
            "interrupted": self.interrupted,
            "started": self.started.isoformat(),
            "data": "synthetic" if self.sweep.data_dir is None else str(self.sweep.data_dir),
            "cases": self.sweep.outcomes,
        }
        write_atomically(self.path, output)
        return self.path


def _session(config) -> SweepSession | None:
    return getattr(config, "_cifarbench", None)


def pytest_ignore_collect(collection_path: Path, config):
    """Cases only with --benchmark; with it, the tests are left out.

    Test modules are ignored one by one rather than as the `tests` folder: a folder named
    in `testpaths` is a start path, which pytest never asks this hook about.
    """
    if collection_path.suffix != ".py":
        return None
    is_case = collection_path.name.startswith(CASE_FILE_PREFIX)
    if config.getoption("benchmark"):
        return True if collection_path.name.startswith("test_") else None
    return True if is_case else None


def pytest_generate_tests(metafunc):
    """Parametrize a case with its group's combinations from the grid."""
    marker = metafunc.definition.get_closest_marker("benchmark")
    group = marker.kwargs.get("group") if marker else None
    session = _session(metafunc.config)
    if group not in GROUP_AXES or session is None:
        return
    axes = GROUP_AXES[group]
    missing = [axis for axis in axes if axis not in metafunc.fixturenames]
    if missing:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: group {group!r} needs arguments {missing}")
    cases = session.sweep.grid.cases(group)
    metafunc.parametrize(
        ",".join(axes), [tuple(case[axis] for axis in axes) for case in cases],
        ids=[case_id(case) for case in cases],
    )


@pytest.fixture(scope="session")
def sweep(request) -> Sweep:
    """The sweep's shared state; the data set is built on first use."""
    session = _session(request.config)
    if session is None:
        pytest.skip("benchmark cases run with --benchmark")
    return session.sweep


def pytest_sessionstart(session):
    state = _session(session.config)
    if state is not None:
        # Measured before the first case, not between cases; the data set builds lazily.
        state.machine_info()


def pytest_benchmark_update_machine_info(config, machine_info):
    state = _session(config)
    if state is not None and state.facts:
        machine_info["cifarbench"] = state.facts


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Note each case's outcome (skips and failures with their reason) for the results file."""
    outcome = yield
    report = outcome.get_result()
    state = _session(item.config)
    if state is None or (report.when != "call" and report.passed):
        return
    marker = item.get_closest_marker("benchmark")
    callspec = getattr(item, "callspec", None)
    state.sweep.outcomes.append({
        "nodeid": item.nodeid,
        "group": marker.kwargs.get("group") if marker else None,
        "params": dict(callspec.params) if callspec else {},
        "when": report.when,
        "outcome": report.outcome,
        "reason": _reason(report),
        "duration_s": report.duration,
    })


def _reason(report) -> str | None:
    if report.passed:
        return None
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    crash = getattr(report.longrepr, "reprcrash", None)
    return crash.message if crash is not None else str(report.longrepr).strip().splitlines()[-1]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Save after every case: what is measured is on disk before the next case starts."""
    yield
    state = _session(item.config)
    if state is not None:
        state.save()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    state = _session(session.config)
    if state is None:
        return
    state.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    if state.path is None and not state.sweep.outcomes:
        return  # nothing ran (--collect-only, no case selected): no empty results file
    state.save(complete=not state.interrupted)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """The best configuration per group, the results file, and the HTML report."""
    state = _session(config)
    if state is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("cifarbench")
    for group, best in best_per_group(config._benchmarksession.benchmarks).items():
        write(f"{group:>10}: {best['images_per_sec']:>12,.0f} images/s  {best['name']}")
    if state.path is not None:
        write(f"results: {state.path}")
    if state.interrupted:
        write("interrupted: the cases finished so far are saved above")
    if config.getoption("bench_no_report") or state.path is None:
        return
    report = build_report(state.results_dir)
    if report is not None:
        write(report)


def best_per_group(benchmarks) -> dict[str, dict]:
    """The fastest case (images/s of its median round) of each group."""
    best: dict[str, dict] = {}
    for bench in benchmarks:
        images_per_sec = bench.extra_info.get("images_per_sec")
        if images_per_sec is None or bench.has_error:
            continue
        if bench.group not in best or images_per_sec > best[bench.group]["images_per_sec"]:
            best[bench.group] = {"images_per_sec": images_per_sec, "name": bench.name}
    return best


def build_report(results_dir: Path) -> str | None:
    """Run `python -m reports` on the results folder in a child process.

    A child process keeps pandas and seaborn out of the benchmark process (bench/ never
    imports them) and a report failure out of the sweep's exit status.
    """
    try:
        if importlib.util.find_spec("reports.__main__") is None:
            return None
    except ModuleNotFoundError:  # a checkout without reports/
        return None
    output = results_dir / "report.html"
    completed = subprocess.run(
        [sys.executable, "-m", "reports", str(results_dir), "-o", str(output)],
        capture_output=True, text=True, check=False,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))),
    )
    if completed.returncode != 0:
        return f"report: not built ({(completed.stderr or completed.stdout).strip().splitlines()[-1:]})"
    return f"report: {output}"


ROOT = Path(__file__).resolve().parent.parent
