"""reports.page.build and reports.page.html: one self-contained, escaped page that answers first."""

import base64
import copy
import re

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pytest

from reports.page import display, html
from reports.page.build import build_report
from reports.reading.load import load_records, records_from_document
from reports.reading.prices import Prices
from tests.report_data import (
    FOREIGN,
    GPU_LABEL,
    XSS,
    gpu_document,
    gpu_records,
    read_document,
    real_files,
    xss_document,
)

ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture(scope="module")
def records():
    return [*load_records([*real_files(), FOREIGN]), *gpu_records()]


@pytest.fixture(scope="module")
def page(records):
    return build_report(records, made_by="cifarbench 9.9 (commit abc1234)")


def has_cell(page: str, text: str) -> bool:
    return re.search(rf"<td[^>]*>{re.escape(text)}", page) is not None


def svgs(page: str) -> list[str]:
    return [base64.b64decode(data).decode() for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)]


def with_trust(document: dict, level: str, reasons: list[dict], groups=("epoch",)) -> dict:
    """A copy of a real document with the harness's trust fields set, to test the trust logic."""
    document = copy.deepcopy(document)
    for benchmark in document["benchmarks"]:
        if benchmark["group"] in groups:
            benchmark["extra_info"]["trust"] = {"level": level, "reasons": reasons, "other_cpu_pct": 180.0,
                                                "rounds_spread": 0.4, "rounds": 2, "images_timed": 1024.0}
    document["machine_info"]["cifarbench"]["preflight"] = {
        "other_cpu_pct": 150.0, "seconds": 2.0, "usable_cores": 2, "quiet": False,
        "message": "Other processes used 150% of a core before the sweep."}
    return document


def test_page_is_self_contained(page):
    assert page.startswith("<!doctype html>")
    scripts = re.findall(r"<script[^>]*>", page.lower())
    assert scripts == ["<script>"]  # the one inline sorting script, no src
    assert "<link" not in page.lower()
    assert "@import" not in page
    assert "url(" not in page
    assert "fetch(" not in page
    assert "XMLHttpRequest" not in page
    for attribute, value in re.findall(r'\b(src|href)="([^"]*)"', page):
        assert value.startswith(("data:image/svg+xml;base64,", "#")), (attribute, value[:60])
    figures = svgs(page)
    assert len(figures) >= 6
    for svg in figures:
        assert "<script" not in svg
        assert "xlink:href=\"http" not in svg


def test_the_answer_comes_first_then_the_evidence_then_the_method(page):
    # The answer, then each machine's card (its trust and noise), then the evidence.
    order = [page.index(anchor) for anchor in ('id="answer"', 'id="summary"', 'id="diagnosis"', 'id="machines"',
                                               'id="charts"', 'id="results"', 'id="other"', 'id="method"')]
    assert order == sorted(order)
    assert page.count('class="machine" data-trust=') == 3
    answer = page[page.index('id="answer"'):page.index("</table>", page.index('id="answer"'))]
    assert answer.count("<tr data-trust=") == 4  # 3 machines; the H200 has a CPU and a GPU row
    assert "Use batch 128, 0 workers, tensor pipeline." in page
    assert "compute, 82% of ceiling" in answer
    assert "from 512 images" in answer
    assert "<details>\n<summary>How to read this report" in page  # the method notes, collapsed


def test_headers_carry_units_not_code_names(page):
    answer = page[page.index('id="answer"'):page.index("</thead>", page.index('id="answer"'))]
    assert 'images/s<span class="unit">median [interval]</span>' in answer
    assert 'epoch<span class="unit">s per 50,000 images</span>' in answer
    assert "images_per_sec" not in answer
    assert "full_epoch_seconds" not in answer


def test_recommendations_lead_with_the_advice(page):
    table = page[page.index('id="recommendations"'):page.index("</table>", page.index('id="recommendations"'))]
    headers = re.findall(r'<th scope="col"[^>]*>([^<]+)', table)
    assert headers.index("advice") == 3
    assert len(headers) <= 8


def test_like_for_like_says_the_shared_settings_and_the_threads(page):
    section = page[page.index('id="like-for-like"'):page.index('id="diagnosis"')]
    assert "different torch thread counts (16 against 1)" in section  # the H200 against cpu-2core-b
    assert "settings both measured" in section


def test_cpu_only_machines_show_no_cuda_or_cudnn(page):
    machines = page[page.index('id="machines"'):page.index("</table>", page.index('id="machines"'))]
    rows = {re.search(r'<td class="t">([^<]+)', row).group(1): row for row in machines.split("<tr>")[2:]}
    for label in ("cpu-2core-a", "cpu-2core-b"):
        assert "13.2" not in rows[label]  # the torch build's CUDA, meaningless without a GPU
        assert "9.26.0" not in rows[label]
    versions = gpu_document()["machine_info"]["cifarbench"]["versions"]
    assert (versions["cuda"], versions["cudnn"]) == ("13.0", 91900)
    assert "13.0" in rows[GPU_LABEL]
    assert "9.19.0" in rows[GPU_LABEL]  # cuDNN as a version, not the raw 91900
    assert "91900" not in page
    assert "92600" not in page


def test_the_footer_names_the_tool_version_and_the_sweeps_commit(page):
    footer = page[page.index("<footer>"):]
    assert "cifarbench 9.9 (commit abc1234)" in footer
    assert "6fd2738 with uncommitted changes" in footer


def test_foreign_rows_are_in_their_own_generic_table(page):
    other = page[page.index('id="other"'):]
    for benchmark in read_document(FOREIGN)["benchmarks"]:
        assert has_cell(other, benchmark["name"])
        assert not has_cell(page[:page.index('id="other"')], benchmark["name"])


def test_left_out_charts_are_listed_with_their_reason():
    page = build_report(load_records(real_files()))  # CPU machines only
    assert "Not drawn" in page
    assert "GPU speedup over the CPU</strong>: no GPU result" in page


def test_label_and_parameter_from_the_json_are_escaped():
    document = xss_document(read_document(real_files()[0]))
    page = build_report(records_from_document(document, "xss.json"))
    assert XSS not in page
    assert ESCAPED_XSS in page
    for svg in svgs(page):
        assert XSS not in svg


def test_autoescape_is_on_for_the_template():
    assert html._template().environment.autoescape is True


def test_only_foreign_results_still_render():
    page = build_report(load_records([FOREIGN]))
    assert "No cifarbench results here" in page
    assert 'id="other"' in page
    assert 'id="charts"' not in page


def test_an_invalid_run_shows_its_trust_line_and_is_not_ranked():
    reason = {"code": "other_cpu", "level": "invalid", "figure": 180.0, "threshold": 50.0,
              "detail": {"resolution_pct": None, "steal_pct": None}}
    document = with_trust(read_document(real_files()[0]), "invalid", [reason])
    page = build_report(records_from_document(document, "invalid.json"))
    summary = page[page.index('id="summary"'):page.index("</section>", page.index('id="summary"'))]
    assert 'data-trust="invalid"' in summary
    assert "invalid: 10 invalid of 24 cases; every epoch is invalid, so this machine is not ranked" in summary
    assert "Other processes used 180% of a core while the rounds ran (at most 10% is quiet)" in summary
    assert "measure again on a quiet machine (the worst of 10 cases)." in summary
    assert "Other processes used 150% of a core before the sweep." in summary
    assert "No advice for tutorial on cpu" in summary
    answer = page[page.index('id="answer"'):page.index("</table>", page.index('id="answer"'))]
    assert "not ranked" in answer


def test_a_noisy_run_is_used_with_its_spread():
    spread = {"code": "rounds_spread", "level": "noisy", "figure": 0.4, "threshold": 0.1, "detail": {}}
    document = with_trust(read_document(real_files()[0]), "noisy", [spread])
    page = build_report(records_from_document(document, "noisy.json"))
    assert 'class="machine" data-trust="noisy"' in page
    assert "Use batch 128, 0 workers, tensor pipeline." in page
    assert "noisy: the rounds spread 40% around their median (more than 10%)" in page  # the case's own reason


def test_money_gets_the_prices_currency_and_ranks_stay_integers(records):
    prices = Prices({"cpu-2core-a": 0.10, "cpu-2core-b": 0.05, GPU_LABEL: 2.0}, "USD")
    page = build_report(records, prices=prices)
    costs = page[page.index('id="costs"'):page.index("</table>", page.index('id="costs"'))]
    assert "$" not in costs
    assert "USD" in costs
    ranks = re.findall(r'<td class="n" data-sort="([0-9.]+)">(\d+)</td></tr>', costs)
    assert ranks
    assert all(float(key) == int(cell) for key, cell in ranks)
    unnamed = build_report(records, prices=Prices(prices.per_hour))
    costs = unnamed[unnamed.index('id="costs"'):unnamed.index("</table>", unnamed.index('id="costs"'))]
    assert "$" not in costs
    assert "USD" not in costs


def test_the_same_label_from_two_machines_is_kept_apart_and_said():
    first = read_document(real_files()[0])
    second = copy.deepcopy(first)
    second["machine_info"]["cifarbench"]["hostname"] = "other-host"
    page = build_report([*records_from_document(first, "one.json"), *records_from_document(second, "two.json")])
    assert "The label &#39;cpu-2core-a&#39; was used on 2 different machines" in page
    assert "cpu-2core-a (vm)" in page
    assert "cpu-2core-a (other-host)" in page
    assert page.count('class="machine" data-trust=') == 2


def test_older_runs_of_a_label_are_listed():
    newer = read_document(real_files()[0])
    older = copy.deepcopy(newer)
    older["cifarbench"]["started"] = "2026-11-20T10:00:00+00:00"
    page = build_report([*records_from_document(older, "older.json"), *records_from_document(newer, "newer.json")])
    runs = page[page.index('id="runs"'):]
    assert has_cell(runs, "older.json")
    assert has_cell(runs, "newer.json")
    assert "cpu-2core-a has 2 runs" in page


def test_numbers_are_rounded_only_for_display():
    assert display.rate(12345.678) == "12k"
    assert display.rate(2345.6) == "2.3k"
    assert display.seconds(31.2631) == "31.3"
    assert display.seconds(1234.4) == "1,234"
    assert display.seconds(0.000608) == "0.000608"
    assert display.seconds(8.2e-7) == "0.000000820"
    assert display.seconds(float("nan")) == ""
    assert display.fraction(0.0412) == "4.1%"
    assert display.percent(87.4) == "87%"
    assert display.integer(128.0) == "128"
    assert display.money(2.5) == "2.50"
    assert display.money(0.0000524, "EUR") == "0.0000524 EUR"
    assert display.version(92600) == "9.26.0"
    assert display.text(None) == ""
    assert display.flag(True) == "yes"
    assert display.times(1.034) == "1.03x"
    assert display.times(1.7) == "1.7x"


def test_a_column_the_same_on_every_row_is_said_once_in_words(records):
    from reports.page.build import build_report_data

    data = build_report_data(load_records(real_files()))
    epochs = next(found.table for found in data.groups if found.group == "epoch")
    [note] = [note for note in epochs.notes if note.startswith("Every row:")]
    assert "trust not assessed" in note  # files older than the trust check: not 'n/a'
    assert "epoch timed from 512 images" in note
    assert "epoch_note" not in [column.name for column in epochs.columns]
