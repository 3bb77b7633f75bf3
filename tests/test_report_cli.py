"""python -m reports: paths in, one report out; broken files named on stderr; no results, no report."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot

import pytest

from reports.__main__ import main
from tests.report_data import BROKEN, FOREIGN, real_files

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def results(tmp_path):
    """A results folder: the real files, a foreign one and a broken one."""
    folder = tmp_path / "results"
    folder.mkdir()
    for path in [*real_files(), FOREIGN, BROKEN]:
        shutil.copy(path, folder / path.name)
    return folder


def test_no_results_exits_non_zero_and_writes_nothing(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    output = tmp_path / "report.html"
    assert main([str(empty), "-o", str(output)]) == 1
    assert "no pytest-benchmark results" in capsys.readouterr().err
    assert not output.exists()


def test_only_broken_files_is_no_results(tmp_path, capsys):
    shutil.copy(BROKEN, tmp_path / BROKEN.name)
    output = tmp_path / "report.html"
    assert main([str(tmp_path), "-o", str(output)]) == 1
    err = capsys.readouterr().err
    assert BROKEN.name in err
    assert "no report written" in err
    assert not output.exists()


def test_broken_file_is_named_on_stderr_and_the_rest_renders(results, tmp_path, capsys):
    output = tmp_path / "out" / "report.html"
    assert main([str(results), "-o", str(output)]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("warning:") == 1
    assert BROKEN.name in captured.err
    assert captured.out.strip() == str(output)
    page = output.read_text(encoding="utf-8")
    assert "cpu-2core-a" in page
    assert "test_fib_10" in page


def test_report_goes_into_the_first_folder_by_default(results, capsys):
    assert main([str(results)]) == 0
    assert (results / "report.html").exists()
    assert capsys.readouterr().out.strip() == str(results / "report.html")


def test_prices_toml_with_its_currency_reaches_the_cost_table(results, tmp_path):
    prices = tmp_path / "prices.toml"
    prices.write_text('currency = "EUR"\n[prices]\n"cpu-2core-a" = 0.1\n"cpu-2core-b" = 0.05\n', encoding="utf-8")
    output = tmp_path / "r.html"
    assert main([str(results), "-o", str(output), "--prices", str(prices)]) == 0
    page = output.read_text(encoding="utf-8")
    costs = page[page.index('id="costs"'):page.index("</table>", page.index('id="costs"'))]
    assert "EUR" in costs


def test_unreadable_prices_file_is_a_clear_error(results, tmp_path, capsys):
    prices = tmp_path / "prices.toml"
    prices.write_text("this is = = not toml", encoding="utf-8")
    output = tmp_path / "r.html"
    assert main([str(results), "-o", str(output), "--prices", str(prices)]) == 2
    assert "not valid TOML" in capsys.readouterr().err
    assert not output.exists()


def test_python_dash_m_reports_runs(results, tmp_path):
    output = tmp_path / "report.html"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               MPLBACKEND="Agg")
    completed = subprocess.run([sys.executable, "-m", "reports", str(results), "-o", str(output)],
                               capture_output=True, text=True, check=False, cwd=tmp_path, env=env)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(output)
    assert f"warning: {results / BROKEN.name}" in completed.stderr
    assert output.stat().st_size > 10_000


def run_reports(*arguments: str, cwd: Path) -> subprocess.CompletedProcess:
    """`python -m reports ARGUMENTS` in a child process, as a user types it."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-m", "reports", *arguments], capture_output=True, text=True,
                          check=False, cwd=cwd, env=env)


def test_output_naming_a_folder_is_a_clear_error(results, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    completed = run_reports(str(results), "-o", str(folder), cwd=tmp_path)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert f"error: -o {folder} is a folder; name a file, e.g. -o {folder / 'report.html'}" in completed.stderr


def test_output_under_a_file_is_a_clear_error(results, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    completed = run_reports(str(results), "-o", str(blocker / "report.html"), cwd=tmp_path)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "is a file, not a folder; choose another path with -o" in completed.stderr


def test_a_file_arguments_report_goes_beside_the_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    source = data / real_files()[0].name
    shutil.copy(real_files()[0], source)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    completed = run_reports(str(source), cwd=elsewhere)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == str(data / "report.html")
    assert (data / "report.html").exists()
    assert not (elsewhere / "results").exists()


def test_a_full_disk_leaves_the_old_report_whole_and_no_partial_file(tmp_path, monkeypatch):
    """The report is written whole or not at all: a temporary file beside it, then a rename."""
    import errno

    from reports import __main__ as cli

    output = tmp_path / "report.html"
    output.write_text("<html>the old report</html>", encoding="utf-8")

    def full_disk(descriptor):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cli.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        cli.write_whole(output, "<html>" + "x" * 100_000 + "</html>")
    assert output.read_text(encoding="utf-8") == "<html>the old report</html>"
    assert [path.name for path in tmp_path.iterdir()] == ["report.html"]
    monkeypatch.undo()
    cli.write_whole(output, "<html>new</html>")  # and without the fault, it is replaced
    assert output.read_text(encoding="utf-8") == "<html>new</html>"
