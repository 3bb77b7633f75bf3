"""Fixtures shared by the report tests; their plain helpers are in tests/report_data.py and
tests/typed_cases.py (test modules import from those, never from each other)."""

import pytest

from reports.reading.load import load_records
from tests.report_data import FOREIGN, real_files


@pytest.fixture(scope="module")
def real_records():
    """The records of the real cifarbench files and the foreign pytest-benchmark one."""
    return load_records([*real_files(), FOREIGN])
