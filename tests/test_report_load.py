"""reports.reading.load: result files and folders -> records; unusable files skipped with a warning."""

import json
import shutil

import pytest

from reports.reading.load import (
    ResultFileError,
    ResultFileWarning,
    load_records,
    read_result_file,
    records_from_document,
    result_files,
)
from tests.report_data import BROKEN, FOREIGN, read_document, real_files


def test_real_file_loads_one_record_per_benchmark_tagged_with_file_and_machine():
    path = real_files()[0]
    document = read_document(path)
    records = read_result_file(path)
    assert len(records) == len(document["benchmarks"])
    label = document["machine_info"]["cifarbench"]["label"]
    assert {record.machine for record in records} == {label}
    assert {record.file for record in records} == {str(path)}
    assert all(record.cifarbench for record in records)
    assert records[0].facts["label"] == label
    # Read through the contract's compatibility path: this file's `profile` is today's `preset`.
    assert records[0].run["preset"] == document["cifarbench"]["profile"]
    assert "profile" not in records[0].run


def test_foreign_file_loads_as_foreign_records_named_after_the_node():
    records = read_result_file(FOREIGN)
    assert records
    assert not any(record.cifarbench for record in records)
    assert {record.machine for record in records} == {read_document(FOREIGN)["machine_info"]["node"]}
    assert all(record.facts == {} and record.run == {} for record in records)


def test_folder_loads_every_good_file_and_warns_naming_the_broken_one(tmp_path):
    for path in [*real_files(), FOREIGN, BROKEN]:
        shutil.copy(path, tmp_path / path.name)
    with pytest.warns(ResultFileWarning, match=BROKEN.name) as caught:
        records = load_records([tmp_path])
    assert len(caught) == 1
    assert "skipped" in str(caught[0].message)
    files = {record.file for record in records}
    assert files == {str(tmp_path / path.name) for path in [*real_files(), FOREIGN]}


def test_json_that_is_not_pytest_benchmark_is_skipped_with_a_warning(tmp_path):
    other = tmp_path / "package.json"
    other.write_text(json.dumps({"name": "not a benchmark"}), encoding="utf-8")
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2, 3]", encoding="utf-8")
    shutil.copy(real_files()[0], tmp_path / real_files()[0].name)
    with pytest.warns(ResultFileWarning) as caught:
        records = load_records([tmp_path])
    assert sorted(str(warning.message).split(":")[0] for warning in caught) == sorted(
        [str(listed), str(other)])
    assert {record.file for record in records} == {str(tmp_path / real_files()[0].name)}


def test_partial_files_are_ignored_and_folders_are_searched_recursively(tmp_path):
    nested = tmp_path / "machine-a"
    nested.mkdir()
    shutil.copy(real_files()[0], nested / "a.json")
    shutil.copy(real_files()[1], tmp_path / "b.json.partial")
    assert result_files([tmp_path]) == [nested / "a.json"]
    assert result_files([tmp_path / "b.json.partial"]) == []


def test_missing_path_warns_and_loads_nothing(tmp_path):
    with pytest.warns(ResultFileWarning, match="no such file"):
        assert load_records([tmp_path / "nowhere"]) == []


def test_a_benchmark_without_stats_makes_the_file_unusable():
    document = read_document(FOREIGN)
    del document["benchmarks"][0]["stats"]
    with pytest.raises(ResultFileError, match=r"stats\.median"):
        records_from_document(document, "edited.json")


def test_label_falls_back_to_the_node_then_the_file_stem():
    document = read_document(FOREIGN)
    document["machine_info"].pop("node")
    records = records_from_document(document, "runs/0001_abc.json")
    assert {record.machine for record in records} == {"0001_abc"}
