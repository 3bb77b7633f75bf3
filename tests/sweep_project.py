"""A pytester folder laid out like the repository, for the tests that drive a real sweep."""

import os
import shutil
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The smallest sweep that still runs every throughput group: one batch size, no workers, tiny
# epochs, each case once (repeats have tests of their own).
TINY = ["--benchmark", "--bench-sweep", "quick", "--bench-batch-sizes", "16", "--bench-workers", "0",
        "--bench-epoch-images", "64", "--bench-repeats", "1", "--bench-no-report", "--bench-label", "tiny-test",
        "-p", "no:cacheprovider"]


def lay_out(pytester, monkeypatch, case_files: list[str], warnings_as_errors: bool = False):
    """Register the plugin, copy the named case files from bench/, and return `pytester`.

    `warnings_as_errors` adds pyproject.toml's `filterwarnings = error`.
    """
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    pytester.makeconftest('pytest_plugins = ["bench.plugin"]')
    ini = textwrap.dedent("""\
        [pytest]
        python_files = test_*.py bench_*.py
        python_functions = test_* bench_*
        """)
    pytester.makeini(ini + ("filterwarnings = error\n" if warnings_as_errors else ""))
    for name in case_files:
        shutil.copy(ROOT / "bench" / name, pytester.path / name)
    return pytester
