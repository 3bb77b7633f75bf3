"""cifarbench's pytest plugin: the `--benchmark` switch, the sweep's options, fixtures, hooks.

- Without `--benchmark`, the cases in `bench/bench_*.py` are not collected: `pytest` runs
  the tests alone. With it, only the cases run (tests/ is left out).
- The cases' parametrize values come from the grid (`bench.grid`), chosen by the preset
  (`--bench-sweep`) and the `--bench-*` axis options.
- Before the first case: every option is checked (a usage error names the fix), the data
  folder is read, the results file is claimed, and the preflight says how busy the machine is.
- Machine facts go into `machine_info["cifarbench"]`; every finished case is saved at once
  to `results/<label>_<UTC timestamp>.json` (`bench.session`); the end prints the best case
  per group, the trust of the figures, the results file and the HTML report, last.
- `--benchmark-disable` is a smoke run: every case runs its work once; nothing is timed or saved.

The options themselves are in `bench.options`, the end-of-run lines in `bench.summary`, the
results file's life in `bench.session`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from bench.interrupt import before_first_case

with before_first_case("importing torch", in_session=False):
    import torch

    from bench import autosweep, cgroup
    from bench.canary import Canary
    from bench.compat import alias_private_nodeid
    from bench.contract.vocab import CONVERGE, EAGER, THROUGHPUT_GROUPS, TUTORIAL_SETTINGS
    from bench.converge import choose
    from bench.data import DataError, resolve_data_dir
    from bench.grid import GROUP_AXES, GridError, grid_from_options, usable_cores
    from bench.options import add_options, chosen_preset
    from bench.preflight import run_preflight
    from bench.results import ResultsError, claim_results_path
    from bench.rootdir import restart_rooted
    from bench.session import SweepSession
    from bench.summary import summary_lines
    from bench.sweep import Sweep

CASE_FILE_PREFIX = "bench_"
# The plugin's state, kept where pytest keeps a plugin's state: the config's stash.
SESSION = pytest.StashKey[SweepSession]()  # the run's SweepSession, with --benchmark
NOTES = pytest.StashKey[list]()  # header lines about the options (a deprecated name used, ...)
CLAIMED = pytest.StashKey[Path]()  # the results file claimed, before the session exists

alias_private_nodeid()  # before pytest-benchmark's fixture reads it (bench.compat)


def pytest_addoption(parser):
    add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    """Only reached when the plugin is loaded as an entry point: fix a misrooted run (bench.rootdir)."""
    restart_rooted(early_config, args)


def pytest_configure(config):
    config.addinivalue_line("markers", "bench_case: a cifarbench benchmark case (bench/bench_*.py)")
    if not config.getoption("benchmark"):
        return
    with before_first_case("checking the options, the data and how busy the machine is",
                          cleanup=lambda: _unclaim(config)):
        _configure(config)


def _unclaim(config) -> None:
    """A results file claimed but never measured into goes again (Ctrl-C before the first case)."""
    state = _session(config)
    path = state.path if state is not None else config.stash.get(CLAIMED, None)
    if path is not None and path.exists() and path.stat().st_size == 0:
        path.unlink()


def _configure(config) -> None:
    preset, deprecation = chosen_preset(config)
    # A container's CPU limit (a cgroup quota) leaves affinity showing every core: torch would
    # run a thread per core and be throttled in nearly every period. Threads fit the limit.
    cpu_limit = cgroup.read_cpu_limit()
    default_threads = cgroup.recommended_threads(cpu_limit.limit_cores, usable_cores())
    try:
        grid = grid_from_options(
            preset,
            devices=config.getoption("bench_devices"),
            models=config.getoption("bench_models"),
            batch_sizes=config.getoption("bench_batch_sizes"),
            workers=config.getoption("bench_workers"),
            loaders=config.getoption("bench_loaders"),
            transforms=config.getoption("bench_transforms"),
            epoch_images=config.getoption("bench_epoch_images"),
            world_sizes=config.getoption("bench_world_sizes"),
            compile_modes=config.getoption("bench_compile"),
            threads=config.getoption("bench_threads"),
            default_threads=default_threads,
            repeats=config.getoption("bench_repeats"),
            budget_seconds=config.getoption("bench_budget"),
            seeds=config.getoption("bench_seeds"),
        )
    except GridError as error:
        raise pytest.UsageError(str(error)) from None
    interval_s = config.getoption("bench_sample_interval")
    if not interval_s > 0:
        raise pytest.UsageError(f"--bench-sample-interval: {interval_s} must be a positive number of seconds")
    threads = grid.default_threads
    price = config.getoption("bench_price_per_hour")
    if price is not None and price < 0:
        raise pytest.UsageError(f"--bench-price-per-hour: {price} must not be negative")
    target = config.getoption("bench_target_accuracy")
    if target is not None and not 0 < target < 1:
        raise pytest.UsageError(f"--bench-target-accuracy: {target:g} must lie between 0 and 1 (e.g. 0.5 for 50%)")
    lr = config.getoption("bench_lr")
    if lr is not None and not lr > 0:
        raise pytest.UsageError(f"--bench-lr: {lr:g} must be a positive learning rate")
    sweep = Sweep(
        lr=lr,
        target=target,
        grid=grid,
        data_dir=resolve_data_dir(config.getoption("bench_data_dir")),
        download=config.getoption("bench_download"),
        sample_interval_s=interval_s,
        cpu_threads=threads,
        cpu_limit=cpu_limit,
    )
    if sweep.data_dir is not None or sweep.download:
        # Real data is read now: a missing, empty or corrupt folder stops the sweep before
        # its first case, with one message.
        try:
            sweep.data  # noqa: B018 - loads and caches the data set
        except DataError as error:
            raise pytest.UsageError(str(error)) from None
    smoke = bool(config.getoption("benchmark_disable")) and not config.getoption("benchmark_enable")
    started = datetime.now(timezone.utc)
    path = None
    label = config.getoption("bench_label") or machine_label()
    if not smoke:
        try:
            path = claim_results_path(Path(config.getoption("bench_results")), label, started)
        except ResultsError as error:
            raise pytest.UsageError(str(error)) from None
        config.stash[CLAIMED] = path
    # Set once for the whole sweep, and recorded: torch's default (all logical cores) can be
    # slower than fewer threads for small batches.
    torch.set_num_threads(threads)
    preflight = None if config.getoption("bench_no_preflight") else run_preflight(usable_cores=usable_cores())
    # A case that fails before its timed rounds never used the benchmark fixture; the
    # failure is its report, not a second error from pytest-benchmark's teardown warning.
    config.addinivalue_line("filterwarnings", "ignore:Benchmark fixture was not used at all")
    # A sweep measures; a library's warning must not fail a case (on the H200 lease, torch
    # 2.11's compiler warned a DeprecationWarning and a TF32 UserWarning, and pyproject.toml
    # turns warnings into errors for the tests). Shown in pytest's warnings summary instead,
    # once per place; the ini's `ignore` lines still apply after it, and -W error still wins.
    ignored = [line for line in config.getini("filterwarnings") if line.strip().startswith("ignore")]
    for line in ("default", *ignored):
        config.addinivalue_line("filterwarnings", line)
    # One line per case, so the progress line after it reads as part of it.
    config.option.verbose = max(config.option.verbose, 1)
    if config.getoption("bench_trace") and path is not None:
        sweep.trace_dir = path.parent / "traces" / path.stem
    config.stash[SESSION] = SweepSession(config=config, sweep=sweep, label=label, path=path, started=started,
                                         preflight=preflight, smoke=smoke, repeats=1 if smoke else grid.repeats,
                                         canary=None if smoke else Canary(threads=threads))
    config.stash[NOTES] = [note for note in (deprecation, _limit_note(cpu_limit, threads)) if note]


def _limit_note(cpu_limit: cgroup.CpuLimit, threads: int) -> str | None:
    """The header's line on a cgroup CPU limit, when there is one."""
    setter = cpu_limit.setter
    if setter is None:
        return None
    return (f"CPU limit {setter.limit_cores:g} cores (cgroup v{setter.cgroup.version} {setter.cgroup.path}): "
            f"torch runs {threads} thread{'s' if threads != 1 else ''} ({usable_cores()} cores visible); "
            "throttled rounds are invalid")


def machine_label() -> str:
    """The default label, known before the machine facts are collected."""
    from bench.machine import default_label, gpu_facts
    return default_label(gpu_facts())


def _session(config) -> SweepSession | None:
    return config.stash.get(SESSION, None)


def pytest_report_header(config):
    state = _session(config)
    if state is None:
        return None
    grid = state.sweep.grid
    lines = [f"cifarbench: preset {grid.preset}, devices {', '.join(grid.devices)}, "
             f"{state.sweep.cpu_threads} torch threads"
             + (f" (axis: {', '.join(map(str, grid.threads))} on the CPU)" if grid.threads else "")
             + (f", every case {state.repeats} times, interleaved" if state.repeats > 1 else "")]
    lines += [f"cifarbench: {note}" for note in config.stash.get(NOTES, [])]
    lines += [f"cifarbench: left out by the preset: {note}" for note in grid.left_out()]
    if state.smoke:
        lines.append("cifarbench: smoke run (--benchmark-disable): every case runs once; nothing is timed or saved")
    if state.preflight is not None:
        lines.append(("cifarbench: " if state.preflight.quiet else "cifarbench: WARNING ") + state.preflight.message)
    return lines


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
    if not cases:  # say why, rather than pytest's "got empty parameter set"
        reason = (f"the {session.sweep.grid.preset} preset has no {group} case for this machine's devices "
                  f"({', '.join(session.sweep.grid.devices)}) and the axes asked for")
        metafunc.parametrize(",".join(axes), [pytest.param(*[None] * len(axes), id="none",
                                                           marks=pytest.mark.skip(reason=reason))])
        return
    metafunc.parametrize(
        ",".join(axes), [tuple(case[axis] for axis in axes) for case in cases],
        ids=[session.sweep.grid.case_id(case) for case in cases],
    )


def runs(items: list, repeats: int) -> list:
    """The order the cases run in: every case once, then again, `repeats` times (A B C A B C).

    Interleaved rather than A A B B C C, so that what drifts during a sweep spreads over every
    case's repeats. Repeated: the throughput groups' eager cases. Run once: a compiled case
    (each run would compile cold again, about 13 s for the tutorial net on two CPU cores, and
    its compile time is its own figure), the ddp cases (each run launches its ranks again) and
    the overhead groups (ratios of two cases in the same run).
    """
    order = list(items)
    for _ in range(1, repeats):
        order += [item for item in items if _repeated(item)]
    return order


def _repeated(item) -> bool:
    callspec = getattr(item, "callspec", None)
    compiled = callspec is not None and callspec.params.get("compile", EAGER) != EAGER
    return _group(item) in THROUGHPUT_GROUPS and not compiled


def _group(item) -> str | None:
    marker = item.get_closest_marker("benchmark")
    return marker.kwargs.get("group") if marker else None


def pytest_collection_modifyitems(session, config, items):
    """The auto preset runs its search's epoch and converge cases only: the other groups' are deselected."""
    state = _session(config)
    if state is None or state.sweep.grid.candidates is None:
        return
    kept = [item for item in items if _group(item) in ("epoch", CONVERGE)]
    deselected = [item for item in items if _group(item) not in ("epoch", CONVERGE)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_collection_finish(session):
    state = _session(session.config)
    if state is not None:
        # The auto preset's search decides as it goes: no count of runs ahead of it. A smoke run
        # (--benchmark-disable) is pytest's own loop: every case once, converge included.
        auto = state.sweep.grid.candidates is not None
        if state.smoke:
            state.progress.total = len(session.items)
        else:
            state.progress.total = 0 if auto else len(runs([item for item in session.items
                                                             if _group(item) != CONVERGE], state.repeats))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    """Run the cases in their order, repeats interleaved, the canary read between groups and repeats."""
    state = _session(session.config)
    if state is None or session.config.option.collectonly or state.smoke:
        return None  # pytest's own loop
    if session.testsfailed and not session.config.option.continue_on_collection_errors:
        raise session.Interrupted(f"{session.testsfailed} error{'s' if session.testsfailed != 1 else ''} "
                                  "during collection")
    converges = [item for item in session.items if _group(item) == CONVERGE]
    if state.sweep.grid.candidates is not None:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")

        def run_converge(winners: list[dict], seconds: float) -> None:
            chosen = converge_items(state, converges, winners=winners)
            state.sweep.converge_seconds = seconds / max(len(chosen), 1)  # each its part of what is left
            run_in_order(session, state, chosen)

        autosweep.run(session, state, reporter.write_line if reporter is not None else print, converges,
                      run_converge)
        return True
    run_in_order(session, state, runs([item for item in session.items if _group(item) != CONVERGE], state.repeats))
    if converges:
        # After every other case: the configurations worth training to the target are known now.
        chosen = converge_items(state, converges)
        state.progress.total += len(chosen) * state.sweep.grid.seeds
        run_in_order(session, state, chosen * state.sweep.grid.seeds)  # seeds interleaved: A1 B1 A2 B2
    if session.items:
        state.read_canary(before=None)
    return True


def run_in_order(session, state, order: list) -> None:
    """Run `order`'s items (an item again is its next repeat), the canary read between groups and repeats."""
    passes: dict[str, int] = {}
    previous = None
    for index, item in enumerate(order):
        repeat = passes[item.nodeid] = passes.get(item.nodeid, 0) + 1
        if previous is None or _group(previous) != _group(item) or repeat != passes.get(previous.nodeid):
            state.read_canary(before=item.nodeid)  # at the start, between groups and between repeats
        state.start_run(item.nodeid, repeat)
        # The next item, for pytest's teardown of the fixtures it does not share; the same item
        # again (its next repeat) must be torn down whole first: None tears everything down.
        following = order[index + 1] if index + 1 < len(order) else None
        item.config.hook.pytest_runtest_protocol(item=item, nextitem=None if following is item else following)
        previous = item
        if session.shouldfail:
            raise session.Failed(session.shouldfail)
        if session.shouldstop:
            raise session.Interrupted(session.shouldstop)


def converge_items(state, items: list, winners: list[dict] | None = None) -> list:
    """The converge cases this sweep trains (bench.converge.choose, or the search's `winners` and the
    tutorial's settings); the others are listed in the file's cases with the reason."""
    grid = state.sweep.grid
    configs = [{axis: item.callspec.params[axis] for axis in GROUP_AXES[CONVERGE]} for item in items]
    tutorial = {**TUTORIAL_SETTINGS, "threads": grid.default_threads, "transform": grid.transforms[0]}
    if winners is None:
        entries, _ = state.merged()
        epochs = [entry for entry in entries if entry["group"] == "epoch"]
        chosen = choose(epochs, configs, grid.converge_policy, tutorial, grid.models)
        why = "not trained: neither the tutorial's settings nor the fastest measured per image"
    else:
        chosen = [config for config in configs if config in winners or all(
            config.get(axis) == value for axis, value in tutorial.items())]
        why = "not trained: not among the search's winners"
    picked = [item for item, config in zip(items, configs, strict=True) if config in chosen]
    for item in items:
        if item not in picked:
            state.sweep.outcomes.append({"nodeid": item.nodeid, "group": CONVERGE, "params": dict(item.callspec.params),
                                         "when": "call", "outcome": "not run", "reason": why, "duration_s": None})
    return picked


@pytest.fixture(scope="session")
def sweep(request) -> Sweep:
    """The sweep's shared state; the data set is built on first use."""
    session = _session(request.config)
    if session is None:
        pytest.skip("benchmark cases run with --benchmark")
    return session.sweep


def pytest_sessionstart(session):
    state = _session(session.config)
    if state is not None and not state.smoke:
        # Measured before the first case, not between cases; the data set builds lazily.
        with before_first_case("measuring the machine's facts", cleanup=lambda: _forget(state)):
            state.machine_info()
        state.save()  # the claimed file holds a valid document from the start


def _forget(state: SweepSession) -> None:
    if state.path is not None:
        state.path.unlink(missing_ok=True)


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
    if state is None:
        return
    if report.when == "call":
        if report.passed:
            state.call_passed()
        elif report.failed:
            fixture = getattr(item, "funcargs", {}).get("benchmark")
            if fixture is not None:
                fixture.skipped = True  # reported once, as the failure; see pytest_configure
    if report.when != "call" and report.passed:
        return
    marker = item.get_closest_marker("benchmark")
    callspec = getattr(item, "callspec", None)
    if any(case["nodeid"] == item.nodeid and case["when"] == report.when and case["outcome"] == report.outcome
           for case in state.sweep.outcomes):
        return  # a repeat that went as the case's earlier run did: listed once
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
    state = _session(item.config)
    if state is not None:
        if state.running != item.nodeid:  # pytest's own loop (a smoke run): no repeats
            state.start_run(item.nodeid, 1)
        state.progress.start_case()
    outcome = yield
    if state is None:
        return
    seconds = state.progress.finish_case()
    if outcome.excinfo is not None and not state.run_passed:
        # Ctrl-C (or another exit) inside the case's call: it never finished its rounds.
        state.sweep.outcomes.append(_interrupted_case(item.nodeid))
    state.finish_run()
    state.save()
    if state.write_error is not None:
        item.session.shouldstop = f"cifarbench: {state.write_error}"
    reporter = item.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        left = state.progress.seconds_left()
        reporter.write_line(
            f"    {seconds:.1f} s" + (f"; {state.progress.done}/{state.progress.total} runs done"
                                      if state.progress.total else "")
            + (f", about {_duration(left)} left" if left is not None else ""))


def _interrupted_case(nodeid: str) -> dict:
    return {"nodeid": nodeid, "group": None, "params": {}, "when": "call", "outcome": "interrupted",
            "reason": "cut short; not saved as a measurement", "duration_s": None}


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    """Before pytest-benchmark's own summary: drop a case cut short; after it, the last save."""
    state = _session(session.config)
    if state is not None:
        state.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
        if state.running is not None:
            state.sweep.outcomes.append(_interrupted_case(state.running))
            state.finish_run()
        state.prune()
        if state.path is not None and not state.sweep.outcomes and not state.measured:
            # Nothing ran (--collect-only, no case selected): no empty results file.
            state.path.unlink(missing_ok=True)
            state.path = None
        elif state.path is not None:
            # The last save, before pytest's terminal summary builds the report from the file.
            state.save(complete=not state.interrupted and state.write_error is None)
    yield
    if state is not None and state.write_error is not None:
        session.exitstatus = pytest.ExitCode.INTERRUPTED


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Last, after pytest-benchmark's tables: best per group, trust, results file, report."""
    state = _session(config)
    if state is None:
        return
    terminalreporter.section("cifarbench")
    for line in summary_lines(state, build=not config.getoption("bench_no_report")):
        terminalreporter.write_line(line)
