"""The written report in a real browser: headless Chromium loads it without console errors and
lays out every figure with a non-zero size; at 1366 x 768 the answer is on the first screen and
every table of the answer's sections fits its box (no horizontal scroll), on the recorded runs
and on a report with converge cases.

Chromium is driven through Playwright (the `browser` extra), launching the system's Chromium:
Playwright's own browser downloads are never used. Skipped, saying why, where Playwright or a
Chromium binary is missing.
"""

import json
import shutil
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pytest

from reports.__main__ import main
from tests.report_data import CONVERGE_FILE, FOREIGN, converge_document, real_files

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="Playwright is not installed (the `browser` extra names it)")

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM = next((found for found in map(shutil.which, BROWSERS) if found), None)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DEADLINE_MS = 60_000  # a wedged browser fails the test instead of hanging it
RECORDED = Path(__file__).parent / "data" / "recorded"

MEASURE_FIGURES = """() => ({
  images: Array.from(document.images).map(image => {
    const box = image.getBoundingClientRect();
    return {alt: image.alt, complete: image.complete, natural: [image.naturalWidth, image.naturalHeight],
            box: [box.width, box.height]};
  }),
  svgs: Array.from(document.querySelectorAll("svg")).map(svg => {
    const box = svg.getBoundingClientRect();
    return [box.width, box.height];
  }),
  title: document.title,
  tables: document.querySelectorAll("table").length,
})"""

FIRST_SCREEN = """() => ({
  answer: (function () { const box = document.getElementById("answer").getBoundingClientRect();
                         return [box.top, box.bottom, box.width]; })(),
  trust: Array.from(document.querySelectorAll(".machine")).map(element => {
    const line = element.querySelector(".trust").getBoundingClientRect();
    return {trust: element.dataset.trust, text: element.querySelector(".trust").textContent, top: line.top,
            bottom: line.bottom};
  }),
  method: document.getElementById("method").getBoundingClientRect().top,
})"""


# Every table of the answer's sections: its scroll box's content width against the box's own width.
FIT = """() => ({
  answer: (function () { const box = document.getElementById("answer").getBoundingClientRect();
                         return [box.top, box.bottom]; })(),
  tables: Array.from(document.querySelectorAll(
      "#answer-section .scroll, #to-target-section .scroll, #throughput-section .scroll")).map(box => ({
    id: box.querySelector("table").id, scroll: box.scrollWidth, client: box.clientWidth,
    top: box.getBoundingClientRect().top})),
  noise: Array.from(document.querySelectorAll(".machine .noise")).map(line => line.textContent),
  cards: document.querySelectorAll(".machine").length,
})"""


def inspect_page(page_file: Path, expression: str = MEASURE_FIGURES,
                 size: tuple[int, int] = (1400, 1000)) -> tuple[dict, list[str]]:
    """Load `page_file` in headless Chromium: (what `expression` measured, the problems seen).

    Problems: console errors and assertions, uncaught exceptions, and requests that failed
    (a missing image, a blocked load).
    """
    problems: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=DEADLINE_MS)
        try:
            page = browser.new_page(viewport={"width": size[0], "height": size[1]})
            page.set_default_timeout(DEADLINE_MS)
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}"[:300])
                    if message.type in ("error", "assert") else None)
            page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"[:300]))
            page.on("requestfailed", lambda request: problems.append(f"failed: {request.url} {request.failure}"[:300]))
            page.goto(page_file.as_uri(), wait_until="load")
            return page.evaluate(expression), problems
        finally:
            browser.close()


needs_chromium = pytest.mark.skipif(CHROMIUM is None,
                                    reason=f"no Chromium binary found (looked for {', '.join(BROWSERS)})")


@needs_chromium
def test_report_loads_in_chromium_without_console_errors_and_figures_have_size(tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    for path in [*real_files(), FOREIGN]:
        shutil.copy(path, results / path.name)
    report = tmp_path / "report.html"
    assert main([str(results), "-o", str(report)]) == 0
    capsys.readouterr()

    page, problems = inspect_page(report)

    assert page["title"] == "cifarbench report"
    assert page["tables"] >= 5
    assert len(page["images"]) >= 5, page["images"]
    for image in page["images"]:
        assert image["complete"], image["alt"]
        assert min(image["natural"]) > 0, image
        assert min(image["box"]) > 0, image
    for width, height in page["svgs"]:
        assert width > 0
        assert height > 0
    assert problems == [], problems


@needs_chromium
def test_the_answer_and_an_invalid_runs_trust_line_are_on_the_first_screen(tmp_path, capsys):
    """At 1366 x 768, before any method note: the answer table and the trust line of an invalid run."""
    # Both recorded by the harness on this 2-core VM: quiet, and with two busy loops running.
    results = tmp_path / "results"
    results.mkdir()
    for pattern in ("cpu-2core-quiet_*.json", "cpu-2core-loaded_*.json"):
        [recorded] = sorted(RECORDED.glob(pattern))
        shutil.copy(recorded, results / recorded.name)
    report = tmp_path / "report.html"
    assert main([str(results), "-o", str(report)]) == 0
    capsys.readouterr()

    screen, problems = inspect_page(report, FIRST_SCREEN, size=(1366, 768))

    top, bottom, width = screen["answer"]
    assert 0 <= top < bottom <= 768, screen["answer"]
    assert width <= 1366
    [invalid_line] = [machine for machine in screen["trust"] if machine["trust"] == "invalid"]
    assert invalid_line["bottom"] <= 768
    assert "invalid" in invalid_line["text"]
    assert "other processes used" in invalid_line["text"].lower()
    assert "% of a core" in invalid_line["text"]
    assert screen["method"] > 768  # the method notes come after the answer
    assert problems == [], problems


def written_report(tmp_path: Path, documents: dict[str, dict | Path]) -> Path:
    """The report of `documents` (a file name: a document, or a recorded file to copy), written as a user runs it."""
    results = tmp_path / "results"
    results.mkdir()
    for name, document in documents.items():
        if isinstance(document, Path):
            shutil.copy(document, results / name)
        else:
            (results / name).write_text(json.dumps(document), encoding="utf-8")
    report = tmp_path / "report.html"
    assert main([str(results), "-o", str(report)]) == 0
    return report


def assert_fits(screen: dict, expected: set[str]) -> None:
    """The answer starts on the first screen and every table of its sections fits its box."""
    top, bottom = screen["answer"]
    assert 0 <= top < 768, screen["answer"]
    assert bottom > top
    assert expected <= {table["id"] for table in screen["tables"]}, screen["tables"]
    for table in screen["tables"]:
        assert table["scroll"] <= table["client"], table  # no horizontal scroll: the last column is not cut


@needs_chromium
def test_the_answers_tables_fit_their_box_at_1366_on_the_recorded_runs(tmp_path, capsys):
    report = written_report(tmp_path, {path.name: path for path in sorted(RECORDED.glob("*.json"))})
    capsys.readouterr()

    screen, problems = inspect_page(report, FIT, size=(1366, 768))

    assert_fits(screen, {"answer"})
    assert screen["cards"] == 3
    assert len(screen["noise"]) == 3  # every machine's card says its run-to-run noise
    assert all("run-to-run noise" in line for line in screen["noise"])
    assert problems == [], problems


@needs_chromium
def test_the_answer_by_time_to_target_fits_at_1366_beside_the_recorded_runs(tmp_path, capsys):
    # The converge file recorded on a busy VM (invalid, so not ranked) and a document derived from it with
    # several configurations (tests/report_data.py), beside a recorded CPU run without converge cases.
    derived = converge_document()
    derived["machine_info"]["cifarbench"]["label"] = "vm-2c-cpu-derived"
    [quiet] = sorted(RECORDED.glob("cpu-2core-quiet_*.json"))
    report = written_report(tmp_path, {CONVERGE_FILE.name: CONVERGE_FILE, quiet.name: quiet,
                                       "vm-2c-cpu-derived_20261130T111252Z.json": derived})
    capsys.readouterr()

    screen, problems = inspect_page(report, FIT, size=(1366, 768))

    assert_fits(screen, {"answer", "to-target", "throughput"})
    assert screen["cards"] == 3
    assert problems == [], problems


@needs_chromium
def test_the_check_sees_console_errors_and_broken_figures(tmp_path):
    """The browser check is not vacuous: a page with an error and a missing image fails it."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><title>bad</title><img alt="gone" src="missing.svg">'
                   '<script>console.error("broken on purpose")</script>', encoding="utf-8")
    page, problems = inspect_page(bad)
    assert any("broken on purpose" in problem for problem in problems)
    assert any("missing.svg" in problem for problem in problems)
    assert page["images"][0]["natural"] == [0, 0]
