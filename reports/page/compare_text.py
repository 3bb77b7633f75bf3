"""`python -m reports compare`'s output: a `RunComparison` in words, as text that is also Markdown.

Header lines are a list, the cases a pipe table with aligned columns (readable in a terminal and
in a CI log, rendered as a table where Markdown is), then one summary line. Every number goes
through `reports.page.display`; every sentence about a comparison is made here, from the records
of `reports.analysis.run_compare` (nothing here decides a verdict).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bench.contract.vocab import INTERVAL_FROM_ROUNDS, INVALID, NOISY
from reports.analysis.run_compare import (
    INVALID_RUN,
    NO_FIGURE,
    NO_INTERVAL,
    NO_SCIPY,
    TOO_FEW_ROUNDS,
    CaseComparison,
    Check,
    CompareError,
    Measured,
    MixedMachinesError,
    NoCaseInCommonError,
    Obstacle,
    Rule,
    RunComparison,
    Side,
    Verdict,
)
from reports.page import display as show

ARROW = "->"
NO_SCIPY_LINE = "no rank test: scipy is not installed; intervals and the factor only"
COLUMNS = ("case", "old img/s [90% interval]", "new img/s [90% interval]", "new/old", "verdict")


def render(comparison: RunComparison, old_given: Sequence[str] = (), new_given: Sequence[str] = ()) -> str:
    """The whole output: header lines, the table of cases, the summary, the cases left out."""
    lines = [f"- {line}" for line in header(comparison, old_given, new_given)]
    lines += ["", *table(comparison.cases), "", summary(comparison)]
    listed = [f"- {what}: {', '.join(names)}"
              for what, names in (("only in old", comparison.only_old), ("only in new", comparison.only_new),
                                  ("without an images/s figure (left out)", comparison.without_figure)) if names]
    if listed:  # a list of its own, after a blank line, in Markdown as in the terminal
        lines += ["", *listed]
    return "\n".join(lines) + "\n"


def header(comparison: RunComparison, old_given: Sequence[str] = (), new_given: Sequence[str] = ()) -> list[str]:
    """What was compared, what changed around the cases, the machines' own speed, and the rule."""
    lines = [side_line("old", comparison.old, old_given), side_line("new", comparison.new, new_given)]
    lines += [f"{change.fact} {', '.join(change.old)} {ARROW} {', '.join(change.new)}" for change in comparison.changes]
    given = resources_line(comparison.cases)
    if given:
        lines.append(given)
    canary = canary_line(comparison)
    if canary:
        lines.append(canary)
    lines.append(rule_line(comparison))
    if not comparison.rank_test_available:
        lines.append(NO_SCIPY_LINE)
    basis = interval_line(comparison)
    if basis:
        lines.append(basis)
    return lines


def side_line(which: str, side: Side, given: Sequence[str] = ()) -> str:
    """'old: results/ (cpu-2core-quiet; 2 files used: a.json, b.json)'; a file given alone is not named twice."""
    machines = show.joined(list(side.machines))
    if list(given) == list(side.files):
        return f"{which}: {', '.join(given)} ({machines})"
    files = [Path(file).name for file in side.files]
    where = f"{', '.join(given)} " if given else ""
    return f"{which}: {where}({machines}; {show.plural(len(files), 'file')} used: {', '.join(files)})"


def resources_line(cases: Sequence[CaseComparison]) -> str | None:
    """'torch threads 2 -> 1 in 6 cases: compared anyway ...'; None when every case had the same CPU."""
    differences: dict[str, int] = {}
    for case in cases:
        for resource in case.resources:
            words = obstacle_words(resource)
            differences[words] = differences.get(words, 0) + 1
    if not differences:
        return None
    listed = "; ".join(f"{words} in {show.plural(count, 'case')}" for words, count in differences.items())
    return (f"{listed}: compared anyway (the CPU a run is given, a container's limit or OMP_NUM_THREADS, "
            "is what a gate must catch)")


def canary_line(comparison: RunComparison) -> str | None:
    """The machine's own speed, new against old, from the canary readings; None when neither run read it."""
    old, new = comparison.old.canary_median, comparison.new.canary_median
    if old is None and new is None:
        return None
    if old is None or new is None:
        return (f"canary: only the {'new' if old is None else 'old'} run read the machine's own speed; "
                "the machines' speeds are not compared")
    line = (f"the machine itself read {show.times(comparison.canary_ratio)} against the old run "
            f"(canary, median {show.rate(old)} {ARROW} {show.rate(new)} img/s)")
    return f"{line}: compare with care" if comparison.canary_beyond_factor else line


def rule_line(comparison: RunComparison) -> str:
    factor = show.number(comparison.factor)
    return (f"rule: a change counts when new/old is beyond {factor}x either way, each run's figure lies outside "
            "the other's 90% interval (what another run of that sweep reads), "
            f"and a Mann-Whitney U test over the rounds' images/s gives p < {show.number(comparison.alpha)} "
            "(where the rounds allow one)")


def interval_line(comparison: RunComparison) -> str | None:
    """A warning when intervals rest on one run's rounds only (no repeats): they leave out run-to-run noise."""
    within = [dict(side.interval_bases).get(INTERVAL_FROM_ROUNDS, 0) for side in (comparison.old, comparison.new)]
    if not any(within):
        return None
    return (f"intervals of {within[0]} old and {within[1]} new cases come from one run's rounds only (no repeats): "
            "they leave out run-to-run noise, so outside is weaker evidence; --bench-repeats 3 measures it")


def table(cases: Sequence[CaseComparison]) -> list[str]:
    """The cases as a Markdown pipe table, columns padded to line up."""
    rows = [COLUMNS, *([case_name(case), figure(case.old), figure(case.new), show.times(case.ratio),
                        verdict_sentence(case, ratio=False)] for case in cases)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(COLUMNS))]
    lines = [_row(rows[0], widths), _row(["-" * width for width in widths], widths)]
    lines += [_row(row, widths) for row in rows[1:]]
    return lines


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return ("| " + " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |")


def case_name(case: CaseComparison) -> str:
    return f"{case.machine}: {case.name}" if case.machine else case.name


def figure(side: Measured) -> str:
    """'3.5k [3.4k-3.6k]' (an en dash between), with 'noisy' where the harness marked the case so."""
    if side.images_per_sec is None:
        return ""
    text = show.rate(side.images_per_sec)
    if side.interval:
        text += f" [{show.spread_range(*side.interval)}]"
    return f"{text} {NOISY}" if side.trust == NOISY else text


def verdict_sentence(case: CaseComparison, ratio: bool = True) -> str:
    """'slower: 0.52x, outside the intervals, p = 0.0002'; 'no measurable change: within 1.1x';
    'not comparable: ...'; a difference in the CPU given follows: '...; torch threads 2 -> 1'."""
    given = "".join(f"; {obstacle_words(resource)}" for resource in case.resources)
    if case.verdict is Verdict.NOT_COMPARABLE:
        return f"{case.verdict.value}: {', '.join(obstacle_words(obstacle) for obstacle in case.obstacles)}{given}"
    if case.changed:  # every rule, the ratio in place of the factor's where it is shown
        checks = [check for check in case.checks if not (ratio and check.rule is Rule.FACTOR)]
    else:  # the rules that did not hold
        checks = [check for check in case.checks if check.held is False]
    clauses = [check_words(check) for check in checks]
    if ratio:
        clauses.insert(0, show.times(case.ratio))
    return f"{case.verdict.value}: {', '.join(clauses)}{given}"


def check_words(check: Check) -> str:
    """One rule's outcome: 'beyond 1.1x', 'outside the intervals', 'p = 0.0002', 'no rank test (2 and 2 ...)'."""
    if check.rule is Rule.FACTOR:
        return f"{'beyond' if check.held else 'within'} {show.number(check.threshold)}x"
    if check.rule is Rule.INTERVALS:
        if check.skipped == NO_INTERVAL:
            return "no interval to compare"
        return "outside the intervals" if check.held else "inside an interval"
    if check.skipped == TOO_FEW_ROUNDS:
        old, new = check.rounds
        return f"no rank test ({old} and {new} rounds cannot reach p < {show.number(check.threshold)})"
    if check.skipped == NO_SCIPY:
        return "no rank test (no scipy)"
    return show.p_value(check.figure)


def obstacle_words(obstacle: Obstacle) -> str:
    """'torch threads 2 -> 16', 'new run invalid', 'no images/s figure'."""
    if obstacle.code == INVALID_RUN:
        sides = [side for side, level in (("old", obstacle.old), ("new", obstacle.new)) if level == INVALID]
        return f"{'both runs' if len(sides) == 2 else sides[0] + ' run'} invalid"
    if obstacle.code == NO_FIGURE:
        missing = [side for side, value in (("old", obstacle.old), ("new", obstacle.new)) if value is None]
        return "no images/s figure" + ("" if len(missing) == 2 else f" in the {missing[0]} run")
    return f"{obstacle.fact} {show.text(obstacle.old) or 'none'} {ARROW} {show.text(obstacle.new) or 'none'}"


def summary(comparison: RunComparison) -> str:
    """'29 cases in common: 1 slower, 28 no measurable change; 19 only in old, 2 without an images/s figure'."""
    counts = comparison.counts()
    counted = [f"{count} {verdict.value}" for verdict, count in counts.items() if count]
    line = f"{show.plural(len(comparison.cases), 'case')} in common: {', '.join(counted)}"
    others = [f"{len(names)} {what}" for what, names in (("only in old", comparison.only_old),
                                                          ("only in new", comparison.only_new),
                                                          ("without an images/s figure", comparison.without_figure))
              if names]
    return f"{line}; {', '.join(others)}" if others else line


def error_line(error: CompareError, old_given: Sequence[str], new_given: Sequence[str]) -> str:
    """Why the two sides cannot be compared at all, and the fix, in one line."""
    old, new = ", ".join(old_given), ", ".join(new_given)
    if isinstance(error, MixedMachinesError):
        return (f"{old} holds {show.plural(len(error.old), 'machine')} ({', '.join(error.old)}) and {new} "
                f"{show.plural(len(error.new), 'machine')} ({', '.join(error.new)}); give one machine's result "
                "files on each side (or the same machines on both)")
    if isinstance(error, NoCaseInCommonError):
        return (f"no case in common between {old} ({show.plural(error.old_cases, 'case')}) and {new} "
                f"({show.plural(error.new_cases, 'case')}); compare runs of the same sweep (same preset and "
                "--bench-* options)")
    return str(error)


def gate_line(comparison: RunComparison, fail_on: str) -> str:
    """Why `--fail-on` fails: '2 cases slower (--fail-on slower): bench_a, bench_b'."""
    failing = [case for case in comparison.cases
               if case.verdict is Verdict.SLOWER or (fail_on == "changed" and case.changed)]
    verdicts = show.joined(list(dict.fromkeys(case.verdict.value for case in failing)), last="or")
    return (f"{show.plural(len(failing), 'case')} {verdicts} (--fail-on {fail_on}): "
            f"{', '.join(case_name(case) for case in failing)}")
