"""`python -m reports [PATH ...] [-o report.html] [--prices prices.toml]`

Builds the HTML report from pytest-benchmark result files, or folders of them (default:
results/), and writes it to -o (default: report.html in the first folder given, else beside
the first file given). Files that cannot be read are named on stderr and left out. Every
problem the user can fix (no results, an output path that is a folder or cannot be written,
a bad prices file) is one line on stderr saying what and how, with a non-zero exit status.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import warnings
from importlib import metadata
from pathlib import Path

from reports.reading.load import ResultFileWarning, load_records
from reports.reading.prices import load_prices

DEFAULT_RESULTS = "results"
REPORT_NAME = "report.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__.split("\n\n")[1])
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

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResultFileWarning)
        records = load_records(args.paths)
    for warning in caught:
        if issubclass(warning.category, ResultFileWarning):
            print(f"warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if not records:
        print(f"error: no pytest-benchmark results in {', '.join(map(str, args.paths))}; no report written",
              file=sys.stderr)
        return 1

    from reports.page.build import build_report  # the plotting stack loads only when there is something to draw

    html = build_report(records, prices=prices, title=args.title, made_by=made_by(), trace_base=output.parent)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(html, encoding="utf-8")
    except OSError as error:
        print(f"error: cannot write the report to {output}: {error.strerror or error}; "
              "choose another file with -o", file=sys.stderr)
        return 2
    print(output)
    return 0


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
