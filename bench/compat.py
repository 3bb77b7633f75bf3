"""What cifarbench needs from the pytest and pytest-benchmark it runs with, where they differ.

GPU images cannot install anything, so cifarbench runs with whatever versions they carry
(e.g. pytest-benchmark 5.2.3). pytest-benchmark before 5.3 reads `item._nodeid`, which pytest
9.2 removed (`nodeid` is the public name): every case then errors at its fixture. Where that
attribute is gone, it becomes a read-only alias of `nodeid`; newer pairs are left untouched.
"""

from __future__ import annotations

from _pytest.nodes import Node


def alias_private_nodeid() -> bool:
    """Give `Node` a read-only `_nodeid` where pytest lacks it; True if it was added."""
    if hasattr(Node, "_nodeid"):
        return False
    Node._nodeid = property(lambda node: node.nodeid, doc="pytest < 9.2's name of `nodeid`")
    return True
