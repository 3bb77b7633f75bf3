"""`python -m reports [PATH ...] [-o report.html] [--prices prices.toml]`

Builds the HTML report from pytest-benchmark result files, or folders of them (default:
results/), and writes it to -o (default: report.html in the first folder given, else beside
the first file given). Files that cannot be read are named on stderr and left out. Every
problem the user can fix (no results, an output path that is a folder or cannot be written,
a bad prices file) is one line on stderr saying what and how, with a non-zero exit status.

`python -m reports compare OLD NEW [--fail-on slower|changed] [--factor 1.1] [--alpha 0.01]`
compares two runs case by case, knowing their noise (reports.analysis.run_compare), and prints
a table; with --fail-on its exit status gates CI (1 when a case got slower, or changed). A
results folder named `compare` is given as `./compare` to the report.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

from reports.analysis.run_compare import DEFAULT_ALPHA, DEFAULT_FACTOR, CompareError, compare_runs
from reports.page import compare_text
from reports.reading.load import Record, ResultFileWarning, load_records
from reports.reading.prices import load_prices

DEFAULT_RESULTS = "results"
REPORT_NAME = "report.html"
COMPARE = "compare"
FAIL_ON = ("slower", "changed")
COMPARE_DESCRIPTION = (
    "Compares two runs case by case, knowing their noise: a case is faster or slower only when new/old is "
    "beyond --factor, the two 90% intervals are apart, and (where the rounds allow it, with scipy) a "
    "Mann-Whitney U test over the rounds' images/s gives p < --alpha. OLD and NEW are each a result file "
    "or a folder of them; where a folder holds a case more than once, the newest run's is used.")
COMPARE_EPILOG = ("exit status: 0; 1 when --fail-on finds a case slower (slower) or slower or faster (changed); "
                  "2 for a usage error (a missing path, no results, no case in common, mixed machines)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [COMPARE]:
        return compare(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__.split("\n\n")[1],
                                     epilog="python -m reports compare OLD NEW: compare two runs "
                                            "(python -m reports compare --help)")
    parser.add_argument("paths", nargs="*", default=[DEFAULT_RESULTS],
                        help="result files or folders of them (default: results)")
    parser.add_argument("-o", "--output", type=Path,
                        help="the report to write (default: report.html in the first folder given, or beside "
                             "the first file)")
    parser.add_argument("--prices", type=Path, help="a TOML file of prices per hour, for the cost section")
    parser.add_argument("--title", help="the report's title")
    args = parser.parse_args(argv)

    output = args.output or default_output(args.paths)
    problem = output_problem(output)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    prices = None
    if args.prices is not None:
        try:
            prices = load_prices(args.prices)
        except (OSError, ValueError, RuntimeError) as error:
            print(f"error: --prices {args.prices}: {error}", file=sys.stderr)
            return 2

    records = read_records(args.paths)
    if not records:
        print(f"error: no pytest-benchmark results in {', '.join(map(str, args.paths))}; no report written",
              file=sys.stderr)
        return 1

    from reports.page.build import build_report  # the plotting stack loads only when there is something to draw

    html = build_report(records, prices=prices, title=args.title, made_by=made_by(), trace_base=output.parent)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_whole(output, html)
    except OSError as error:
        print(f"error: cannot write the report to {output}: {error.strerror or error}; "
              "choose another file with -o", file=sys.stderr)
        return 2
    print(output)
    return 0


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all: a temporary file beside it, then a rename.

    On a full disk the write fails before the rename, the temporary file goes, and an older
    report at `path` stays as it was (never a truncated page).
    """
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def read_records(paths: list[str]) -> list[Record]:
    """The records under `paths`; each file skipped is named on stderr as a warning."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResultFileWarning)
        records = load_records(paths)
    for warning in caught:
        if issubclass(warning.category, ResultFileWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return records


def compare(argv: list[str]) -> int:
    """`python -m reports compare OLD NEW`: 0, or 1 when --fail-on finds what it names; 2 for usage errors."""
    parser = argparse.ArgumentParser(prog=f"python -m reports {COMPARE}", description=COMPARE_DESCRIPTION,
                                     epilog=COMPARE_EPILOG)
    parser.add_argument("old", metavar="OLD", help="the baseline run: a result file or a folder of them")
    parser.add_argument("new", metavar="NEW", help="the run to judge: a result file or a folder of them")
    parser.add_argument("--fail-on", choices=FAIL_ON,
                        help="exit 1 when any case is slower, or when any is slower or faster (changed)")
    parser.add_argument("--factor", type=float, default=DEFAULT_FACTOR,
                        help=f"the smallest ratio that counts as a change, either way (default: {DEFAULT_FACTOR})")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA,
                        help=f"the rank test's threshold: a change needs p below it (default: {DEFAULT_ALPHA})")
    args = parser.parse_args(argv)
    if args.factor <= 1:
        return _usage_error(f"--factor {args.factor}: the minimum factor must be above 1, e.g. --factor 1.1")
    if not 0 < args.alpha < 1:
        return _usage_error(f"--alpha {args.alpha}: the rank test's threshold must be between 0 and 1, "
                            "e.g. --alpha 0.01")
    sides = []
    for which, path in (("OLD", args.old), ("NEW", args.new)):
        if not Path(path).exists():
            return _usage_error(f"{which} {path}: no such file or folder; give a result file or a folder of them")
        records = [record for record in read_records([path]) if record.cifarbench]
        if not records:
            return _usage_error(f"{which} {path}: no cifarbench results there; give a result file a sweep wrote "
                                "(results/<label>_<time>.json) or a folder of them")
        sides.append(records)
    try:
        comparison = compare_runs(*sides, factor=args.factor, alpha=args.alpha)
    except CompareError as error:
        return _usage_error(compare_text.error_line(error, [args.old], [args.new]))
    print(compare_text.render(comparison, [args.old], [args.new]), end="")
    if comparison.fails(args.fail_on):
        print(f"failed: {compare_text.gate_line(comparison, args.fail_on)}", file=sys.stderr)
        return 1
    return 0


def _usage_error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def default_output(paths: list[str]) -> Path:
    """report.html in the first folder given, else beside the first file given."""
    for path in map(Path, paths):
        if path.is_dir():
            return path / REPORT_NAME
    for path in map(Path, paths):
        if path.is_file():
            return path.parent / REPORT_NAME
    return Path(DEFAULT_RESULTS) / REPORT_NAME


def output_problem(output: Path) -> str | None:
    """Why the report cannot be written to `output` (checked before the work), or None."""
    if output.is_dir():
        return f"-o {output} is a folder; name a file, e.g. -o {output / REPORT_NAME}"
    folder = next((parent for parent in [output.parent, *output.parent.parents] if parent.exists()), None)
    if folder is not None and not folder.is_dir():
        return f"-o {output}: {folder} is a file, not a folder; choose another path with -o"
    writable = _writable(output) if output.exists() else folder is not None and _writable(folder)
    if not writable:
        return f"-o {output}: no permission to write there; choose another path with -o"
    return None


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK)


def made_by() -> str:
    """'cifarbench 0.1.0 (commit abc1234)': the tool's version and, in a checkout, its commit."""
    try:
        version = metadata.version("cifarbench")
    except metadata.PackageNotFoundError:
        version = "(not installed)"
    text = f"cifarbench {version}"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                                capture_output=True, text=True, timeout=5, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{text} (python -m reports, commit {commit})" if commit else f"{text} (python -m reports)"


if __name__ == "__main__":
    sys.exit(main())
