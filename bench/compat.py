"""Everything cifarbench reads from pytest and pytest-benchmark that they do not publish, in one place.

GPU images cannot install anything, so cifarbench runs with whatever versions they carry. Each
private name read here is listed with the versions it was checked against
(`tests/test_compat.py` checks each one on the installed versions):

- pytest-benchmark keeps its session on `config._benchmarksession` (the list of measured
  benchmarks, the machine info); there is no public accessor. Checked: pytest-benchmark 5.2.3,
  5.3.1.
- Rounds timed elsewhere (by the ddp ranks) enter a fixture the way its own `pedantic` does:
  `_mode` marks the fixture used, `_make_stats(1)` makes its stats; no public call exists
  (ionelmc/pytest-benchmark issue 52). Checked: 5.2.3, 5.3.1.
- pytest-benchmark before 5.3 reads `item._nodeid`, which pytest 9.2 removed (`nodeid` is the
  public name): every case then errors at its fixture. Where that attribute is gone, it becomes
  a read-only alias of `nodeid`; newer pairs are left untouched. Checked: pytest 9.0, 9.1, 9.2.
"""

from __future__ import annotations

from collections.abc import Sequence

from _pytest.nodes import Node

CHECKED_PYTEST_BENCHMARK = ("5.2.3", "5.3.1")


def alias_private_nodeid() -> bool:
    """Give `Node` a read-only `_nodeid` where pytest lacks it; True if it was added."""
    if hasattr(Node, "_nodeid"):
        return False
    Node._nodeid = property(lambda node: node.nodeid, doc="pytest < 9.2's name of `nodeid`")
    return True


def benchmark_session(config):
    """pytest-benchmark's `BenchmarkSession` of this pytest run (its `benchmarks` list and machine info)."""
    return config._benchmarksession


def record_rounds(benchmark, round_seconds: Sequence[float], mode: str) -> None:
    """Give a pytest-benchmark fixture rounds timed elsewhere, as if it had timed them.

    What `pedantic` itself does: make the stats once (iterations=1), then one `update` per
    round; `stats.data` then holds `round_seconds`. `mode` says who timed them (a second use of
    the fixture raises FixtureAlreadyUsed, as for any fixture).
    """
    benchmark._mode = mode
    stats = benchmark._make_stats(1)
    for seconds in round_seconds:
        stats.update(seconds)
