"""Data-parallel scaling in the report: the ddp files of tests/data/ddp through every stage.

tests/data/ddp holds real files recorded by the harness on a 2-core CPU VM: a sweep at world
sizes 1 and 2 (`cpu-2core-ddp`) and two torchrun agents on one host (`2x-cpu-2core-localhost`,
nnodes 2, no one-rank case).
"""

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pytest

from reports.analysis.scaling import scaling_points
from reports.page.build import build_report, build_report_data
from reports.page.charts import scaling
from reports.reading.cases import cases
from reports.reading.load import load_records
from reports.reading.tidy import DDP_COLUMNS, tidy
from tests.report_data import DATA, real_files

DDP = DATA / "ddp"
SWEEP, AGENTS = "cpu-2core-ddp", "2x-cpu-2core-localhost"


@pytest.fixture(scope="module")
def records():
    return load_records([*real_files(), DDP])


@pytest.fixture(scope="module")
def data(records):
    return build_report_data(records)


@pytest.fixture(scope="module")
def single_device_data():
    return build_report_data(load_records(real_files()))


def test_tidy_keeps_the_ddp_facts_in_their_own_columns(records):
    frame = tidy(records)
    ddp = frame[frame["group"] == "ddp"].set_index(["machine", "world_size"])
    assert set(DDP_COLUMNS) <= set(frame.columns)
    two = ddp.loc[(SWEEP, 2)]
    assert (two["backend"], two["scaling"], two["nnodes"]) == ("gloo", "weak", 1)
    assert len(two["rank_images_per_sec"]) == 2
    assert two["allreduce_share"] == pytest.approx(0.2615, abs=1e-4)
    assert frame.loc[frame["group"] != "ddp", "rank_images_per_sec"].map(len).eq(0).all()


def test_scaling_points_derive_efficiency_once_against_one_rank(records):
    points = {(point.machine, point.world_size): point for point in scaling_points(tidy(records))}
    one, two = points[(SWEEP, 1)], points[(SWEEP, 2)]
    assert one.scaling_efficiency == pytest.approx(1.0)
    assert two.baseline_images_per_sec == one.images_per_sec
    assert two.scaling_efficiency == pytest.approx(two.images_per_sec / (2 * one.images_per_sec))
    # Each rank over its own median round; the case over the slowest rank's rounds: close, not bounded.
    assert 0 < two.rank_efficiency_min <= two.rank_efficiency_max
    assert two.rank_efficiency_max == pytest.approx(max(two_rank_rates(records)) / one.images_per_sec)
    agents = points[(AGENTS, 2)]
    assert (agents.nnodes, agents.scaling_efficiency, agents.rank_efficiency_min) == (2, None, None)


def two_rank_rates(records) -> list[float]:
    [record] = [record for record in records if record.machine == SWEEP
                and record.benchmark["params"]["world_size"] == 2]
    return record.benchmark["extra_info"]["rank_images_per_sec"]


def test_single_device_stages_ignore_ddp_rows(records, data, single_device_data):
    frame = tidy(records)
    assert [row[:6] for row in data.answer.rows] == [row[:6] for row in single_device_data.answer.rows]
    assert len(data.verdicts.rows) == len(single_device_data.verdicts.rows)
    assert len(data.recommendations.rows) == len(single_device_data.recommendations.rows)
    typed = [case for case in cases(frame) if case.group == "ddp"]
    assert typed, "ddp cases still count for their machine's trust"
    assert {case.config.machine for case in typed} == {SWEEP, AGENTS}


def test_the_scaling_section_has_the_table_and_the_chart(data):
    table = data.scaling
    assert table is not None
    assert table.id == "scaling-table"
    headers = [column.name for column in table.columns]
    assert {"world_size", "scaling_efficiency", "rank_efficiency_range", "straggler_ratio",
            "allreduce_share"} <= set(headers)
    by_ranks = {(row[headers.index("machine")], row[headers.index("world_size")]): row for row in table.rows}
    assert by_ranks[(SWEEP, "2")][headers.index("scaling_efficiency")] == "31%"
    assert by_ranks[(AGENTS, "2")][headers.index("scaling_efficiency")] == ""
    assert any("backend gloo" in note for note in table.notes)  # the same on every row: said once
    assert any(AGENTS in note and "not known" in note for note in table.notes)
    assert data.scaling_chart.src
    assert data.scaling_chart.src.startswith("data:image/svg+xml;base64,")


def test_each_ddp_machine_says_how_it_scales_in_its_summary(data):
    summaries = {summary.name: summary for summary in data.summaries}
    [sweep] = summaries[SWEEP].advice
    assert "2 ranks train 8.5k img/s, 31% scaling efficiency against 2 x one rank's 14k img/s" in sweep
    assert "26% of a step" in sweep
    [agents] = summaries[AGENTS].advice
    assert "2 ranks on 2 nodes" in agents
    assert "scaling efficiency is not known" in agents


def test_the_allreduce_bandwidth_is_a_machine_fact_beside_the_peak(data):
    headers = [column.name for column in data.machines.columns]
    assert headers.index("busbw") == headers.index("peaks") + 1
    row = next(row for row in data.machines.rows if row[0] == SWEEP)
    assert row[headers.index("busbw")] == "gloo, 2 ranks: 0.104 at 256 KiB, 0.789 at 4 MiB"


def test_the_page_links_the_section_only_when_ddp_rows_exist(records, single_device_data):
    page = build_report(records)
    assert '<section id="scaling">' in page
    assert 'href="#scaling"' in page
    assert single_device_data.scaling is None
    assert single_device_data.scaling_chart is None
    assert all(column.name != "busbw" for column in single_device_data.machines.columns)
    assert 'id="scaling"' not in build_report(load_records(real_files()))


def test_without_a_one_rank_case_the_chart_says_why(records):
    agents_only = [point for point in scaling_points(tidy(records)) if point.machine == AGENTS]
    chart = scaling.scaling_efficiency(agents_only)
    assert chart.figure is None
    assert "one-rank case" in chart.reason
