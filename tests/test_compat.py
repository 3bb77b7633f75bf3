"""bench.compat: pytest-benchmark before 5.3 reads `item._nodeid`, which pytest 9.2 removed."""

from bench.compat import alias_private_nodeid


def test_every_node_answers_the_private_nodeid_with_its_nodeid(request):
    alias_private_nodeid()  # the plugin did it at import; again is a no-op
    assert alias_private_nodeid() is False
    assert request.node._nodeid == request.node.nodeid
    assert request.node.parent._nodeid == request.node.parent.nodeid
