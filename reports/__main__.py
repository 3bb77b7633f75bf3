"""`python -m reports [PATH ...] [-o report.html] [--prices prices.toml]`

Builds the HTML report from pytest-benchmark result files, or folders of them (default:
results/), and writes it to -o (default: report.html in the first folder given, else
results/report.html). Files that cannot be read are named on stderr and left out. With no
results at all nothing is written and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from reports.load import ResultFileWarning, load_records
from reports.prices import load_prices

DEFAULT_RESULTS = "results"
REPORT_NAME = "report.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reports", description=__doc__.split("\n\n")[1])
    parser.add_argument("paths", nargs="*", default=[DEFAULT_RESULTS],
                        help="result files or folders of them (default: results)")
    parser.add_argument("-o", "--output", type=Path,
                        help="the report to write (default: report.html in the first folder given)")
    parser.add_argument("--prices", type=Path, help="a TOML file of prices per hour, for the cost section")
    parser.add_argument("--title", help="the report's title")
    args = parser.parse_args(argv)

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

    from reports.html import build_report

    output = args.output or default_output(args.paths)
    html = build_report(records, prices=prices, title=args.title)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(html, encoding="utf-8")
    print(output)
    return 0


def default_output(paths: list[str]) -> Path:
    """report.html in the first folder given; results/report.html when only files are given."""
    for path in map(Path, paths):
        if path.is_dir():
            return path / REPORT_NAME
    return Path(DEFAULT_RESULTS) / REPORT_NAME


if __name__ == "__main__":
    sys.exit(main())
