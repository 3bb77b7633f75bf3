"""Ctrl-C before the first case: one line and exit status 2, not a traceback from deep inside torch.

Starting a sweep takes seconds (importing torch, building the data set, the preflight, the
machine's facts and its peak matmul). A Ctrl-C in that time used to print torch's traceback and
exit 3. `before_first_case` wraps each of those steps: it says what was interrupted, removes a
results file claimed but never written to, and exits 2, as an interrupted sweep does.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator

INTERRUPTED_EXIT_STATUS = 2  # pytest's ExitCode.INTERRUPTED


@contextlib.contextmanager
def before_first_case(doing: str, cleanup: Callable[[], None] | None = None,
                      in_session: bool = True) -> Iterator[None]:
    """Turn a KeyboardInterrupt inside the block into one line and exit status 2.

    `in_session`: inside pytest's session (its hooks), where `pytest.exit` ends the run cleanly
    with that line; outside it (the plugin's own import, before pytest has a session), the line
    goes to stderr and the process exits.
    """
    try:
        yield
    except KeyboardInterrupt:
        if cleanup is not None:
            with contextlib.suppress(Exception):
                cleanup()
        message = f"cifarbench: interrupted before the first case (while {doing}); nothing was measured"
        if in_session:
            import pytest

            pytest.exit(message, returncode=INTERRUPTED_EXIT_STATUS)
        # Before pytest has a session nothing is left to finish: exit at once, a second Ctrl-C
        # ignored, so that no half-imported library's shutdown turns the exit into a signal's
        # (seen once in CI: the line printed, then the process died of SIGINT, status -2).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"\n{message}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(INTERRUPTED_EXIT_STATUS)
