"""The README's commands, as a user types them, in child processes from the repository root.

Sweeps that take minutes to hours are run with `--co -q` appended: pytest then parses every
option, applies the preset and collects the cases (a usage error exits 4), which is where a
command line goes wrong; the sweeps themselves are exercised by tests/test_commands.py and
tests/test_plugin.py on small grids. The report commands run for real on recorded files.
Commands that install packages (`pip install tox`, `tox`) are what CI itself runs.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DATA = Path(__file__).parent / "data"
RECORDED = DATA / "recorded"


def block_lines(prefix: str) -> list[str]:
    """Whole lines of the README's bash blocks starting with `prefix`, comments left out."""
    return [" ".join(line.split("#")[0].split()) for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S)
            for line in block.replace("\\\n", " ").splitlines() if line.startswith(prefix)]


def readme_commands(prefix: str) -> list[str]:
    """Every command in the README (code blocks and inline code) starting with `prefix`."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", README, flags=re.S):
        joined = block.replace("\\\n", " ")
        for line in joined.splitlines():
            for part in line.split("#")[0].split("&&"):
                if part.strip().startswith(prefix):
                    found.append(" ".join(part.split()))
    for inline in re.findall(r"`([^`\n]+)`", README):
        if inline.startswith(prefix) and "<" not in inline:
            found.append(inline)
    return sorted(set(found))


def run(command: list[str], cwd: Path = ROOT, timeout: int = 300) -> subprocess.CompletedProcess:
    """`command` in a child process; `reports` importable as from the repository root or an install."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("CIFARBENCH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env)


SWEEPS = [command for command in readme_commands("python3 -m pytest") + readme_commands("pytest --benchmark")
          if "<" not in command]


def test_the_readme_shows_sweep_commands():
    assert len(SWEEPS) >= 3, SWEEPS


@pytest.mark.parametrize("command", SWEEPS)
def test_every_sweep_command_parses_and_collects(command):
    args = shlex.split(command)
    args = args[3:] if args[:3] == ["python3", "-m", "pytest"] else args[1:]
    completed = run([sys.executable, "-m", "pytest", *args, "--co", "-q", "-p", "no:cacheprovider",
                     "--bench-no-preflight"] if "--benchmark" in args else
                    [sys.executable, "-m", "pytest", *args, "--co", "-q", "-p", "no:cacheprovider"])
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    assert "unrecognized arguments" not in completed.stderr


def test_the_regression_gate_command_works_as_written(tmp_path):
    [command] = block_lines("python -m reports compare")
    for folder in ("old-results", "results"):
        (tmp_path / folder).mkdir()
        shutil.copy(RECORDED / "cpu-2core-quiet_20261125T221429Z.json", tmp_path / folder)
    completed = run(["bash", "-c", command.replace("python -m", f"{sys.executable} -m")], cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    assert "no measurable change" in completed.stdout
    assert "slower" not in completed.stdout.split("| verdict")[1]


def test_gathering_and_reporting_work_as_written(tmp_path):
    (tmp_path / "results").mkdir()
    for path in DATA.glob("cpu-2core-*.json"):
        shutil.copy(path, tmp_path / "results")
    gather = block_lines("mkdir -p all-results")
    report = [line for line in readme_commands("python -m reports") if line.startswith("python -m reports all-results")]
    assert gather
    assert report
    for line in [*gather, *report]:
        script = line.replace("python -m", f"{sys.executable} -m")
        completed = run(["bash", "-c", script], cwd=tmp_path)
        assert completed.returncode == 0, (line, completed.stderr)
    assert len(list((tmp_path / "all-results").glob("*.json"))) >= 2
    assert (tmp_path / "report.html").stat().st_size > 10_000


def test_the_trace_command_writes_a_trace_that_loads_as_json(tmp_path):
    import gzip
    import json

    [command] = [c for c in SWEEPS if "--bench-trace" in c]
    args = shlex.split(command)[3:]
    completed = run([sys.executable, "-m", "pytest", *args, f"--bench-results={tmp_path}", "--bench-no-report",
                     "-p", "no:cacheprovider"], timeout=600)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
    traces = sorted(tmp_path.glob("traces/*/*.pt.trace.json.gz"))
    assert traces
    with gzip.open(traces[0], "rt", encoding="utf-8") as handle:
        trace = json.load(handle)
    assert trace["traceEvents"]
    assert trace["distributedInfo"]["rank"] == 0


def tox_command(env: str) -> str:
    """The `commands` of tox.ini's [testenv:ENV], as tox runs them."""
    import configparser

    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini", encoding="utf-8")
    return config[f"testenv:{env}"]["commands"].strip()


TOX_LINES = [line for line in readme_commands("tox -e ") if " -- " in line and "..." not in line]


def test_the_readme_shows_tox_commands_with_arguments():
    assert {line.split()[2] for line in TOX_LINES} == {"bench", "report"}, TOX_LINES


@pytest.mark.parametrize("line", TOX_LINES)
def test_every_tox_command_with_arguments_works_as_tox_runs_it(line, tmp_path):
    """`tox -e ENV -- ARGS`: the environment's command with ARGS in {posargs}, in a child process
    (installing the environment is what CI's own `tox` does); sweeps collected, reports built."""
    env, posargs = line.split()[2], line.split(" -- ", 1)[1]
    args = shlex.split(tox_command(env).replace("{posargs}", posargs))
    if env == "bench":
        assert args[:2] == ["pytest", "--benchmark"]
        completed = run([sys.executable, "-m", *args, "--co", "-q", "-p", "no:cacheprovider", "--bench-no-preflight",
                         f"--bench-results={tmp_path / 'results'}"])
    else:
        assert args[:3] == ["python", "-m", "reports"]
        (tmp_path / "all-results").mkdir()
        shutil.copy(RECORDED / "cpu-2core-quiet_20261125T221429Z.json", tmp_path / "all-results")
        completed = run([sys.executable, *args[1:]], cwd=tmp_path)
        assert (tmp_path / "all-results" / "report.html").stat().st_size > 10_000
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr
