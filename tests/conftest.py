"""Fixtures shared by the report tests; their plain helpers are in tests/report_data.py and
tests/typed_cases.py (test modules import from those, never from each other)."""

import signal

import pytest

from reports.reading.load import load_records
from tests.report_data import FOREIGN, real_files

# The Ctrl-C tests need SIGINT to reach Python. A background job of a non-interactive shell
# (`pytest ... &` in a script) starts with SIGINT ignored, and an ignored signal stays ignored
# in every child: restore the default here, so that children start with it (exec resets a
# handler to the default, never an ignore) and the tests run the same in the foreground or not.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="module")
def real_records():
    """The records of the real cifarbench files and the foreign pytest-benchmark one."""
    return load_records([*real_files(), FOREIGN])
