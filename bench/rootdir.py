"""Folder-valued options written with a space: `--bench-results /x` when /x exists.

pytest decides its rootdir and config file before any plugin's options are known, from the
command line's free arguments; an existing folder after an option it does not know yet is
taken for a test path. The run is then rooted at that folder: the repository's
pyproject.toml (test paths, `bench_*` collection, warnings as errors) and its root conftest
are never read, and pytest answers "unrecognized arguments: --benchmark".

The plugin is therefore also registered as a `pytest11` entry point (pyproject.toml, for
installs such as tox's; `cifarbench_checkout.dist-info/` at the repository root, found on
`sys.path` by `python3 -m pytest` in a plain checkout), so it is loaded before the initial
conftests. When it finds the run rooted outside the repository it was started in, it
starts pytest again, in the same process (exec), with the repository's root and config
named: the same arguments, now read as the user meant them. Where that is not possible
(pytest run in-process, or a second time), the error names the `--opt=DIR` form.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"
RESTARTED_ENV = "CIFARBENCH_ROOTDIR_RESTARTED"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def misrooted(rootpath: Path, inipath: Path | None, invocation_dir: Path) -> bool:
    """Whether pytest rooted a run started in this repository somewhere else."""
    if inipath is not None or not CONFIG.is_file():
        return False
    return _inside(Path(invocation_dir).resolve(), ROOT) and not _inside(Path(rootpath).resolve(), ROOT)


def equals_form(args: list[str]) -> str:
    """The arguments with every `--opt VALUE` whose value is an existing folder joined as `--opt=VALUE`."""
    joined = []
    index = 0
    while index < len(args):
        arg = args[index]
        following = args[index + 1] if index + 1 < len(args) else None
        if (arg.startswith("--") and "=" not in arg and following is not None
                and not following.startswith("-") and os.path.isdir(following)):
            joined.append(f"{arg}={following}")
            index += 2
            continue
        joined.append(arg)
        index += 1
    return " ".join(joined)


def restart_rooted(early_config, args: list[str]) -> None:
    """Exec `python -m pytest --rootdir ROOT -c pyproject.toml ARGS` when the run is misrooted."""
    if not misrooted(early_config.rootpath, early_config.inipath, early_config.invocation_params.dir):
        return
    invoked = list(early_config.invocation_params.args)
    if os.environ.get(RESTARTED_ENV) or invoked != sys.argv[1:]:
        raise pytest.UsageError(
            f"pytest took a folder given as an option value for a test path and rooted the run at "
            f"{early_config.rootpath}, outside this repository ({ROOT}). Write folder options with '=': "
            f"python3 -m pytest {equals_form(invoked)}"
        )
    os.environ[RESTARTED_ENV] = "1"
    # pytest already captures file descriptors 1 and 2 into temporary files at this point:
    # give the real terminal back, or the new process would write into them.
    capture = early_config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        capture.stop_global_capturing()
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pytest", "--rootdir", str(ROOT), "-c", str(CONFIG), *invoked])
