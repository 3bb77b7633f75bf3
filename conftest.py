"""Registers cifarbench's pytest plugin for every run started from the repository root.

The plugin lives in `bench/plugin.py`. It is loaded from here, the root conftest, because
pytest reads command-line options only from plugins it knows at start-up: this makes
`pytest --benchmark` work from a plain checkout (no install) whatever paths are given, and
puts the repository root on sys.path so `bench`, `models` and `reports` import.
`pytester` drives the plugin's own tests.
"""

pytest_plugins = ["bench.plugin", "pytester"]
