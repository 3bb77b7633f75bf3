"""The in-epoch phases in the report: verdicts from them first, the ceilings as the cross-check,
the stacked bars and the familiar sentence, and links to profiler traces.

Verdict rules are unit-tested on typed `Case` values (the analysis takes typed input); the
pipeline is run on a result file recorded by the harness with phases and a trace.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import matplotlib as mpl
import pytest

from reports.analysis.analyse import analyse
from reports.page import words as say
from reports.page.build import build_report_data
from reports.page.charts.findings import phases_chart
from reports.reading.load import load_records
from tests.recorded import RECORDED, recorded_documents
from tests.typed_cases import CPU, GPU, busy_cpu, epoch, loader, starved_gpu, step

mpl.use("Agg")


def with_phases(case, input_wait, forward, backward, optimizer, copy=0.0, device_idle=None):
    other = 1.0 - (input_wait + copy + forward + backward + optimizer)
    shares = (("input_wait", input_wait), ("copy", copy), ("forward", forward), ("backward", backward),
              ("optimizer", optimizer), ("other", other))
    return dataclasses.replace(case, phase_shares=shares, device_idle_share=device_idle)


def only(found):
    [verdict] = analyse(found).verdicts
    return verdict


def test_a_gpu_idle_between_steps_is_input_bound_and_said_the_familiar_way():
    cases = starved_gpu()
    cases[-1] = with_phases(cases[-1], input_wait=0.05, forward=0.02, backward=0.02, optimizer=0.01, copy=0.01,
                            device_idle=0.93)
    found = only(cases)
    assert found.verdict == "input-bound"
    assert found.source == "phases"
    assert say.limit(found) == "input: the GPU idles 93% of each step, waiting for input"
    assert "verdict from the in-epoch split" in say.evidence(found)


def test_a_step_that_computes_all_the_time_is_compute_bound():
    cases = busy_cpu()
    cases[-1] = with_phases(cases[-1], input_wait=0.02, forward=0.3, backward=0.5, optimizer=0.1)
    found = only(cases)
    assert found.verdict == "compute-bound"
    assert "ceilings_disagree" not in found.reasons


def test_a_disagreement_with_the_ceilings_is_said_and_the_split_wins():
    # The ceilings call this CPU epoch compute-bound; inside the epoch 40% of each step waited.
    cases = busy_cpu()
    cases[-1] = with_phases(cases[-1], input_wait=0.4, forward=0.2, backward=0.3, optimizer=0.05)
    found = only(cases)
    assert found.verdict == "input-bound"
    assert found.ceiling_verdict == "compute-bound"
    assert "the separately timed ceilings alone would say compute-bound" in say.evidence(found)
    assert say.limit(found) == "input: 40% of each step waits for input"


def test_an_invalid_epoch_gets_no_verdict_even_with_phases():
    case = with_phases(epoch(CPU, 1_900, device="cpu", trust="invalid"), 0.5, 0.2, 0.2, 0.05)
    found = only([loader(CPU, 20_000), step(CPU, 2_000, device="cpu"), case])
    assert found.verdict is None


def test_older_results_without_phases_keep_the_ceiling_verdict():
    found = only(starved_gpu())
    assert found.source == "ceilings"
    assert found.verdict == "input-bound"


def test_the_stacked_bars_put_the_tutorials_settings_beside_the_best():
    tutorial = with_phases(epoch(GPU, 1_400), input_wait=0.6, forward=0.1, backward=0.2, optimizer=0.05,
                           device_idle=0.6)
    best = with_phases(epoch(GPU, 50_000, batch_size=512, num_workers=0, loader="device"),
                       input_wait=0.01, forward=0.3, backward=0.5, optimizer=0.1, device_idle=0.01)
    chart = phases_chart(analyse([loader(GPU, 1_500, pin_memory=True), step(GPU, 60_000), tutorial, best,
                                  step(GPU, 60_000, batch_size=512)]))
    assert chart.figure is not None
    labels = [tick.get_text() for tick in chart.figure.axes[0].get_yticklabels()]
    assert [label.split("\n")[1].split(":")[0] for label in labels] == ["tutorial's settings", "best"]


def recorded_with_phases() -> list[Path]:
    return [path for path, document in recorded_documents()
            if any("phases" in bench.get("extra_info", {}) for bench in document.get("benchmarks", []))]


def test_a_recorded_run_shows_where_the_time_goes_and_links_its_traces(tmp_path):
    paths = [path for path in recorded_with_phases()
             if any("trace" in bench["extra_info"] for bench in json.loads(path.read_text())["benchmarks"])]
    assert paths, "a results file recorded with --bench-trace belongs in tests/data/recorded"
    results = tmp_path / "results"
    results.mkdir()
    copied = results / paths[0].name
    shutil.copy(paths[0], copied)
    shutil.copytree(RECORDED / "traces", results / "traces")
    data = build_report_data(load_records([copied]), trace_base=tmp_path)
    assert data.phases_chart is not None
    assert any("of each step waits for input" in sentence for sentence in data.phase_sentences)
    assert data.traces
    for trace in data.traces:
        assert trace.href.startswith("results/traces/")
        assert (tmp_path / trace.href).is_file()
        assert "ProfilerStep" not in trace.top_operators


@pytest.mark.parametrize("path", recorded_with_phases(), ids=lambda path: path.name)
def test_every_recorded_epoch_split_adds_up(path):
    for bench in json.loads(path.read_text())["benchmarks"]:
        phases = bench["extra_info"].get("phases")
        if phases is None:
            continue
        assert sum(phases["seconds"].values()) == pytest.approx(sum(bench["stats"]["data"]), rel=0.01)
        assert sum(phases["share"].values()) == pytest.approx(1.0, rel=0.01)
