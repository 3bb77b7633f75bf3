"""The end of a sweep, in the terminal: the best case per group, the trust of the figures, the
results file, and the HTML report (built in a child process), printed last.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from bench.contract import Case, Converge, derive
from bench.contract.vocab import CONVERGE, TUTORIAL_SETTINGS
from bench.paste import TUTORIAL_URL, settings_code
from bench.rootdir import ROOT
from bench.session import SweepSession


def summary_lines(state: SweepSession, build: bool = True) -> list[str]:
    """What the plugin prints under its `cifarbench` section; `build`: build the HTML report too."""
    if state.smoke:
        return ["smoke run (--benchmark-disable): every case ran its work once; nothing was timed or saved"]
    entries, _ = state.merged()
    lines = [f"{group:>10}: {best['images_per_sec']:>12,.0f} images/s  {best['name']}"
             for group, best in best_per_group(entries).items()]
    if state.search is not None:
        lines += search_answer(state.search.result(), [entry for entry in entries if entry.get("group") == CONVERGE])
    levels = state.trust_levels(entries)
    if levels:
        lines.append("trust: " + ", ".join(f"{count} {level}" for level, count in sorted(levels.items()))
                     + (f"  ({invalid_hint(entries)})" if levels.get("invalid") else ""))
    if state.preflight is not None and not state.preflight.quiet:
        lines.append(state.preflight.message)
    if state.write_error is not None:
        lines.append(f"stopped: {state.write_error}")
    if state.path is not None:
        lines.append(f"results: {state.path}")
    if state.interrupted:
        lines.append(f"interrupted: {len(state.measured)} measured cases are saved above"
                     + ("; the case in progress was dropped" if any(case["outcome"] == "interrupted"
                                                                   for case in state.sweep.outcomes) else ""))
    if build and state.path is not None and state.measured:
        report = build_report(state.path.parent)
        if report is not None:
            lines.append(report)
    return lines


# What made figures invalid, in the order a user should fix it, with the fix.
INVALID_HINTS = (
    ("throttled", "invalid figures were throttled by the container's CPU limit: run with --bench-threads that "
                  "fit the limit, or raise the limit"),
    ("starved", "invalid figures got too little of their threads' CPU time: give the sweep more CPU, or fewer "
                "--bench-threads"),
    ("other_cpu", "invalid figures were measured while other processes used the CPU: measure again on a quiet "
                  "machine"),
)


def invalid_hint(entries: list[dict]) -> str:
    """Why the run's invalid figures are invalid, from their reasons' codes, and the fix."""
    codes = {reason.get("code") for entry in entries
             for reason in (entry["extra_info"].get("trust") or {}).get("reasons") or ()
             if reason.get("level") == "invalid"}
    hints = [hint for code, hint in INVALID_HINTS if code in codes]
    return "; ".join(hints) or "invalid figures: see each case's trust reasons"


def search_answer(result, converges: list[dict] = ()) -> list[str]:
    """The auto preset's answer: the fastest to the target accuracy where a trained configuration
    reached it (`converges`: the merged converge entries), else the fastest per image; against the
    tutorial's settings, with ties and the code to paste."""
    best = result.best
    if best is None:
        return [f"search: no answer ({result.stop.code if result.stop else 'not finished'}): no configuration "
                "was measured usably; see the trust line"]
    trained = target_answer(converges)
    if trained:
        return trained
    settings = best.candidate.as_dict()
    low, high = best.interval
    lines = [f"answer: {_settings(settings)}: {best.images_per_sec:,.0f} images/s [{low:,.0f}, {high:,.0f}]"
             + ("" if result.final else " (the search did not reach its final rung)")]
    if converges:
        lines.append("        no trained configuration reached the target accuracy: the fastest per image, untrained")
    reference = result.reference
    if reference is not None and reference.candidate != best.candidate:
        ratio = best.images_per_sec / reference.images_per_sec
        ratio_low, ratio_high = low / reference.interval[1], high / reference.interval[0]
        lines.append(f"        {ratio:.1f}x the tutorial's settings ({reference.images_per_sec:,.0f} images/s), "
                     f"between {ratio_low:.1f}x and {ratio_high:.1f}x")
    for other in result.winners[1:]:
        lines.append(f"        tie (intervals overlap): {_settings(other.candidate.as_dict())}: "
                     f"{other.images_per_sec:,.0f} images/s")
    lines.append(f"        to use it in the tutorial's script ({TUTORIAL_URL}):")
    lines += [f"            {line}" if line else "" for line in settings_code(settings).splitlines()]
    return lines


def target_answer(converges: list[dict]) -> list[str]:
    """'answer: <settings>: 50% test accuracy in 7.9 s (2 epochs, lr 0.032)', the tutorial's settings
    and the fastest per image beside it, and the code with the learning rate; [] when none reached it.

    The seeds' median seconds (`derive.time_to_target`); a configuration that missed the target
    is never the answer. The clock and the target are the converge group's (bench/converge.py).
    """
    timed = [(entry, derive.time_to_target(entry["extra_info"].get(Converge.seeds) or ())) for entry in converges]
    reached = sorted(((entry, answer) for entry, answer in timed if answer.reached),
                     key=lambda pair: pair[1].seconds)
    if not reached:
        return []
    entry, answer = reached[0]
    info = entry["extra_info"]
    settings = dict(entry["params"], threads=entry["params"].get("threads") or info.get(Case.cpu_threads))
    target = f"{info[Converge.target_accuracy]:.0%} test accuracy"
    lines = [f"answer: {_settings(settings)}: {target} in {_reach(answer, info)}"]
    tutorial = next(((other, found) for other, found in timed if other is not entry
                     and all(other["params"].get(axis) == value for axis, value in TUTORIAL_SETTINGS.items())), None)
    if tutorial is not None:
        other, found = tutorial
        lines.append("        the tutorial's settings: " + (
            f"{_reach(found, other['extra_info'])}, {found.seconds / answer.seconds:.1f}x as long" if found.reached
            else f"not reached in {_trained_seconds(other):.0f} s of training (best {found.best_accuracy or 0:.0%}; "
                 "the search's budget, not the recipe, stopped it)"))
    fastest, found = max(timed, key=lambda pair: pair[0]["extra_info"].get(Case.images_per_sec) or 0)
    if fastest is not entry:
        lines.append(f"        fastest per image: {_settings(dict(fastest['params']))}: "
                     f"{fastest['extra_info'][Case.images_per_sec]:,.0f} images/s, "
                     + (f"{target} in {_reach(found, fastest['extra_info'])}" if found.reached
                        else "target not reached"))
    lines.append(f"        to use it in the tutorial's script ({TUTORIAL_URL}):")
    code = settings_code(settings, lr=info.get(Converge.lr), warmup_steps=info.get(Converge.warmup_steps))
    lines += [f"            {line}" if line else "" for line in code.splitlines()]
    return lines


def _trained_seconds(entry: dict) -> float:
    """The longest a seed of this converge case trained (what it got before its budget ran out)."""
    return max((run.get("train_seconds") or 0.0 for run in entry["extra_info"].get(Converge.seeds) or ()), default=0.0)


def _reach(answer, info: dict) -> str:
    """'7.9 s (2 epochs, lr 0.032)'; over several seeds the median and its range."""
    spread = (f" [{answer.seconds_low:.1f}-{answer.seconds_high:.1f} s over {answer.reached} of {answer.seeds} seeds]"
              if answer.seeds > 1 else "")
    epochs = f"{answer.epochs:g} epoch{'s' if answer.epochs != 1 else ''}, " if answer.epochs is not None else ""
    return f"{answer.seconds:.1f} s{spread} ({epochs}lr {info.get(Converge.lr):g})"


def _settings(settings: dict) -> str:
    threads = settings["threads"]
    return (f"{settings['loader']} pipeline, batch {settings['batch_size']}, {settings['num_workers']} workers, "
            f"{threads} thread{'' if threads == 1 else 's'} on {settings['device']}")


def best_per_group(entries: list[dict]) -> dict[str, dict]:
    """The fastest case (images/s over its rounds and repeats) of each group, from the merged entries."""
    best: dict[str, dict] = {}
    for entry in entries:
        images_per_sec = entry["extra_info"].get(Case.images_per_sec)
        group = entry.get("group")
        if images_per_sec is None:
            continue
        if group not in best or images_per_sec > best[group]["images_per_sec"]:
            best[group] = {"images_per_sec": images_per_sec, "name": entry["name"]}
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
