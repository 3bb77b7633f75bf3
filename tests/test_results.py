"""Result files: claimed exclusively, written whole or not at all (bench/results.py)."""

import json
import os
from datetime import datetime, timezone

import pytest

from bench.results import ResultsError, claim_results_path, results_stem, write_atomically

STARTED = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


def test_two_sweeps_with_the_same_label_in_the_same_second_get_two_files(tmp_path):
    first = claim_results_path(tmp_path, "g6.xlarge", STARTED)
    second = claim_results_path(tmp_path, "g6.xlarge", STARTED)
    assert first.name == "g6.xlarge_20261125T120000Z.json"
    assert second.name == "g6.xlarge_20261125T120000Z_2.json"
    assert first.exists()
    assert second.exists()


def test_a_long_or_odd_label_makes_a_short_safe_name():
    stem = results_stem("team a/" + "x" * 300, STARTED)
    assert len(stem) < 120
    assert "/" not in stem


def test_a_file_where_the_folder_should_be_is_refused(tmp_path):
    blocker = tmp_path / "results"
    blocker.write_text("")
    with pytest.raises(ResultsError, match="--bench-results: cannot write result files in"):
        claim_results_path(blocker, "x", STARTED)


def test_a_failed_write_leaves_the_old_file_whole_and_no_partial_file(tmp_path):
    path = claim_results_path(tmp_path, "x", STARTED)
    write_atomically(path, {"cases": 1})

    class Unserializable:
        def __repr__(self):
            raise RuntimeError("cannot be written")

    with pytest.raises(RuntimeError):
        write_atomically(path, {"cases": Unserializable()})
    assert json.loads(path.read_text()) == {"cases": 1}
    assert os.listdir(tmp_path) == [path.name]
