"""reports.html: one self-contained, escaped page from the records (and the diagnosis, when present)."""

import base64
import re
import sys
import types

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pandas as pd
import pytest
from matplotlib.figure import Figure

from reports import html
from reports.load import load_records, records_from_document
from tests.test_report_data import (
    BUILT_GPU_LABEL,
    FOREIGN,
    XSS,
    gpu_records,
    read_document,
    real_files,
    xss_document,
)

ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def records():
    return [*load_records([*real_files(), FOREIGN]), *gpu_records()]


@pytest.fixture
def no_diagnosis(monkeypatch):
    """As if reports.diagnosis were not installed."""
    monkeypatch.setitem(sys.modules, "reports.diagnosis", None)


def stub_diagnosis(monkeypatch, diagnose):
    module = types.ModuleType("reports.diagnosis")
    module.diagnose = diagnose
    monkeypatch.setitem(sys.modules, "reports.diagnosis", module)


def has_cell(page: str, text: str) -> bool:
    return re.search(rf"<td[^>]*>{re.escape(text)}", page) is not None


def svgs(page: str) -> list[str]:
    return [base64.b64decode(data).decode() for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)]


def test_page_is_self_contained(records, no_diagnosis):
    page = html.build_report(records)
    assert page.startswith("<!doctype html>")
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page
    assert "url(" not in page
    for attribute, value in re.findall(r'\b(src|href)="([^"]*)"', page):
        assert value.startswith(("data:image/svg+xml;base64,", "#")), (attribute, value[:60])
    figures = svgs(page)
    assert len(figures) >= 6
    for svg in figures:
        assert "<script" not in svg
        assert "xlink:href=\"http" not in svg


def test_page_has_the_sections_with_machines_best_configurations_and_all_results(records, no_diagnosis):
    page = html.build_report(records)
    for anchor in ('id="machines"', 'id="best"', 'id="charts"', 'id="results"', 'id="other"'):
        assert anchor in page
    assert 'id="diagnosis"' not in page  # no diagnosis module: no section
    for path in real_files():
        label = read_document(path)["machine_info"]["cifarbench"]["label"]
        assert f"<td>{label}" in page
    assert "Built GPU" in page
    assert BUILT_GPU_LABEL in page
    assert "Training throughput against batch size" in page
    # One sentence under each chart.
    assert page.count("<figcaption>") == len(svgs(page))


def test_foreign_rows_are_in_their_own_generic_table(records, no_diagnosis):
    page = html.build_report(records)
    other = page[page.index('id="other"'):]
    for benchmark in read_document(FOREIGN)["benchmarks"]:
        assert f"<td>{benchmark['name']}" in other
        assert f"<td>{benchmark['name']}" not in page[:page.index('id="other"')]


def test_left_out_charts_are_listed_with_their_reason(no_diagnosis):
    page = html.build_report(load_records(real_files()))  # CPU machines only
    assert "Not drawn" in page
    assert "GPU speedup over the CPU</strong>: no GPU result" in page


def test_label_and_parameter_from_the_json_are_escaped(no_diagnosis):
    document = xss_document(read_document(real_files()[0]))
    page = html.build_report(records_from_document(document, "xss.json"))
    assert XSS not in page
    assert "<script" not in page.lower()
    assert ESCAPED_XSS in page
    for svg in svgs(page):
        assert XSS not in svg


def test_autoescape_is_on_for_the_template():
    assert html._template().environment.autoescape is True


def test_only_foreign_results_still_render(no_diagnosis):
    page = html.build_report(load_records([FOREIGN]))
    assert "No cifarbench results here" in page
    assert 'id="other"' in page
    assert 'id="charts"' not in page


def test_numbers_are_rounded_only_for_display():
    assert html.fmt_rate(12345.678) == "12,346"
    assert html.fmt_rate(45.678) == "45.7"
    assert html.fmt_seconds(31.2631) == "31.3"
    assert html.fmt_seconds(1234.4) == "1,234"
    assert html.fmt_seconds(0.000608) == "0.000608"
    assert html.fmt_seconds(0.0231) == "0.0231"
    assert html.fmt_seconds(8.2e-7) == "8.20e-07"
    assert html.fmt_seconds(float("nan")) == ""
    assert html.fmt_fraction(0.0412) == "4.1%"
    assert html.fmt_pct(87.4) == "87%"
    assert html.fmt_epoch(31.26, True) == "31.3*"
    assert html.fmt_int(128.0) == "128"
    assert html.fmt_money(2.5) == "$2.50"
    assert html.fmt_version(92600.0) == "92600"
    assert html.fmt_text(None) == ""
    assert html.fmt_flag(True) == "yes"


def test_diagnosis_is_shown_summary_first_verdicts_joined_into_the_results(records, monkeypatch):
    calls = []

    def diagnose(df, prices=None):
        calls.append((df, prices))
        epoch = df[(df["group"] == "epoch") & (df["machine"] == "cpu-2core-a")].iloc[0]
        verdicts = pd.DataFrame([{
            "machine": epoch["machine"], "device": epoch["device"], "model": epoch["model"],
            "batch_size": epoch["batch_size"], "num_workers": epoch["num_workers"], "loader": epoch["loader"],
            "verdict": "input-bound", "fraction_of_ceiling": 0.42, "evidence": f"evidence {XSS}",
        }])
        figure = Figure(figsize=(3, 2))
        figure.add_subplot().plot([1, 2], [3, 4])
        return types.SimpleNamespace(
            summary_paragraphs=[f"cpu-2core-a: the input pipeline limits it. {XSS}"],
            verdicts=verdicts,
            recommendations=pd.DataFrame([{"machine": "cpu-2core-a", "images_per_sec": 12345.6,
                                           "recommendation": "use the tensor pipeline"}]),
            costs=None,
            charts=[("Stub chart", "What the stub shows.", figure, None),
                    ("Missing chart", "Never drawn.", None, "no prices known")],
        )

    stub_diagnosis(monkeypatch, diagnose)
    page = html.build_report(records, prices={"Built GPU": 2.0})
    frame, prices = calls[0]
    assert prices == {"Built GPU": 2.0}
    assert frame["cifarbench"].all()  # our rows only
    assert page.index('id="summary"') < page.index('id="machines"')
    assert "cpu-2core-a: the input pipeline limits it." in page
    diagnosis = page[page.index('id="diagnosis"'):page.index('id="results"')]
    assert has_cell(diagnosis, "input-bound")
    assert has_cell(diagnosis, "42%")
    assert has_cell(diagnosis, "12,346")
    assert "Stub chart" in diagnosis
    assert "What the stub shows." in diagnosis
    assert "Missing chart</strong>: no prices known" in diagnosis
    epoch_table = page[page.index('id="results-epoch"'):]
    assert "<th scope=\"col\">verdict</th>" in epoch_table
    assert len(re.findall(r"<td[^>]*>input-bound", epoch_table)) == 1
    assert XSS not in page
    assert page.count(ESCAPED_XSS) == 2


def test_a_diagnosis_module_that_fails_to_import_its_own_dependency_is_not_hidden(records, monkeypatch):
    def failing_import(name, *args, **kwargs):
        if name == "reports.diagnosis":
            raise ModuleNotFoundError("No module named 'scipy'", name="scipy")
        return original(name, *args, **kwargs)

    original = html.importlib.import_module
    monkeypatch.setattr(html.importlib, "import_module", failing_import)
    with pytest.raises(ModuleNotFoundError, match="scipy"):
        html.run_diagnosis(pd.DataFrame({"cifarbench": [True]}))
