"""The written report in a real browser: headless Chromium loads it without console errors and
lays out every figure with a non-zero size.

Chromium is driven through the DevTools protocol over `--remote-debugging-pipe` (JSON
messages separated by NUL bytes on file descriptors 3 and 4): no websocket, no port, and
nothing is injected into the report. Skipped only when no Chromium binary is found.
"""

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pytest

from reports.__main__ import main
from tests.report_data import FOREIGN, real_files

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
CHROMIUM = next((found for found in map(shutil.which, BROWSERS) if found), None)
TRAMPOLINE = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
              "os.execv(sys.argv[3], sys.argv[3:])")
REPLY_DEADLINE_S = 60  # a wedged browser fails the test instead of hanging it


class DevTools:
    """A minimal DevTools-protocol client over Chromium's debugging pipe."""

    def __init__(self, binary: str, profile: Path, log: Path):
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--remote-debugging-pipe", "about:blank",
        ]
        # Chromium reads commands on fd 3 and writes replies on fd 4. A tiny Python trampoline
        # moves the pipes there and execs the browser (a POSIX shell's `3<&N` takes one digit only).
        with open(log, "wb") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-c", TRAMPOLINE, str(commands_read), str(replies_write), binary, *arguments],
                pass_fds=(commands_read, replies_write), stdin=subprocess.DEVNULL, stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        os.close(commands_read)
        os.close(replies_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send a command and return its result; events that arrive meanwhile are kept."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method: str) -> dict:
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        while True:
            event = self._receive()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _receive(self) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._replies], [], [], REPLY_DEADLINE_S)
            if not ready:
                raise TimeoutError("Chromium sent nothing back")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise ConnectionError("Chromium closed the debugging pipe")
            self._buffer += chunk
        message, _, self._buffer = self._buffer.partition(b"\0")
        return json.loads(message)

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, TimeoutError, ConnectionError):
            self.send("Browser.close")  # a browser that is already gone needs no closing
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._commands)
        os.close(self._replies)


def console_problems(events: list[dict]) -> list[str]:
    """Console errors, uncaught exceptions and browser-logged errors (failed loads, CSP, ...)."""
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            problems.append(json.dumps(params.get("args"))[:300])
        elif method == "Runtime.exceptionThrown":
            problems.append(json.dumps(params.get("exceptionDetails"))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            problems.append(json.dumps(params["entry"])[:300])
    return problems


MEASURE_FIGURES = """JSON.stringify({
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


FIRST_SCREEN = """JSON.stringify({
  answer: (function () { const box = document.getElementById("answer").getBoundingClientRect();
                         return [box.top, box.bottom, box.width]; })(),
  trust: Array.from(document.querySelectorAll(".machine")).map(element => {
    const line = element.querySelector(".trust").getBoundingClientRect();
    return {trust: element.dataset.trust, text: element.querySelector(".trust").textContent, top: line.top,
            bottom: line.bottom};
  }),
  method: document.getElementById("method").getBoundingClientRect().top,
})"""


def inspect_page(page_file: Path, workdir: Path, expression: str = MEASURE_FIGURES,
                 size: tuple[int, int] = (1400, 1000)) -> tuple[dict, list[str]]:
    """Load `page_file` in headless Chromium: (what `expression` measured, console problems)."""
    browser = DevTools(CHROMIUM, workdir / "profile", workdir / "chromium.log")
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Emulation.setDeviceMetricsOverride",
                     {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
                     session=session)
        navigation = browser.send("Page.navigate", {"url": page_file.as_uri()}, session=session)
        assert "errorText" not in navigation, navigation
        browser.wait_for("Page.loadEventFired")
        measured = browser.send("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                session=session)
        return json.loads(measured["result"]["value"]), console_problems(browser.events)
    finally:
        browser.close()


RECORDED = Path(__file__).parent / "data" / "recorded"
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

    page, problems = inspect_page(report, tmp_path)

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

    screen, problems = inspect_page(report, tmp_path, FIRST_SCREEN, size=(1366, 768))

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


@needs_chromium
def test_the_check_sees_console_errors_and_broken_figures(tmp_path):
    """The browser check is not vacuous: a page with an error and a missing image fails it."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!doctype html><title>bad</title><img alt="gone" src="missing.svg">'
                   '<script>console.error("broken on purpose")</script>', encoding="utf-8")
    page, problems = inspect_page(bad, tmp_path)
    assert any("broken on purpose" in problem for problem in problems)
    assert page["images"][0]["natural"] == [0, 0]


def test_the_pipe_client_reports_a_browser_that_is_gone(tmp_path):
    """The client fails with an error instead of waiting forever when the other end closes."""
    browser = DevTools(shutil.which("true") or "/bin/true", tmp_path / "profile", tmp_path / "log")  # exits at once
    browser.process.wait()
    with pytest.raises((ConnectionError, BrokenPipeError)):
        browser.send("Browser.getVersion")
    browser.close()
