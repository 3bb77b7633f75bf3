"""bench.compat: the private names of pytest and pytest-benchmark cifarbench reads, on the installed versions."""

from pytest_benchmark.fixture import BenchmarkFixture

from bench.compat import alias_private_nodeid, benchmark_session


def test_every_node_answers_the_private_nodeid_with_its_nodeid(request):
    alias_private_nodeid()  # the plugin did it at import; again is a no-op
    assert alias_private_nodeid() is False
    assert request.node._nodeid == request.node.nodeid
    assert request.node.parent._nodeid == request.node.parent.nodeid


def test_the_benchmark_session_is_where_the_adapter_reads_it(pytestconfig):
    session = benchmark_session(pytestconfig)
    assert isinstance(session.benchmarks, list)
    assert callable(session.get_machine_info)


def test_the_fixture_has_what_recording_outside_rounds_needs():
    assert callable(BenchmarkFixture._make_stats)
    assert "_mode" in BenchmarkFixture.__init__.__code__.co_names or hasattr(BenchmarkFixture, "_mode")

