"""reports.page.charts: figures from the tidy frame, or no figure and the reason; drawn with Agg, closed."""

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot: no display here, and none needed

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.figure import Figure

from reports.page import figures
from reports.page.charts import base, throughput, utilization
from reports.reading.load import records_from_document
from reports.reading.tidy import tidy
from reports.reading.timelines import select_timeline_cases, timelines
from tests.report_data import gpu_records, read_document, real_files


@pytest.fixture(scope="module")
def cpu_frame(real_records):
    return tidy(real_records)


@pytest.fixture(scope="module")
def gpu_inputs(real_records):
    records = [*real_records, *gpu_records()]
    frame = tidy(records)
    return frame, timelines(records, select_timeline_cases(frame))


@pytest.fixture(autouse=True)
def no_figures_left_open():
    yield
    assert plt.get_fignums() == []


def drawn(chart: base.Chart) -> str:
    """The chart's SVG; fails with its reason when it was left out."""
    assert chart.figure is not None, chart.reason
    assert isinstance(chart.figure, Figure)
    assert chart.title
    assert chart.sentence.endswith((".", ")"))
    svg = base.to_svg(chart.figure)
    assert svg.lstrip().startswith("<?xml")
    assert "<svg" in svg
    return svg


def test_every_chart_draws_with_gpu_shaped_and_real_data(gpu_inputs):
    frame, timeline_frame = gpu_inputs
    report = figures.report_charts(frame, timeline_frame)
    assert [chart.key for chart in report] == [
        "training_throughput", "loader_throughput", "epoch_time", "gpu_speedup",
        "utilization_heatmap_gpu_util_pct_mean", "utilization_heatmap_cpu_pct_mean", "utilization_by_machine",
        "utilization_timelines",
    ]
    for chart in report:
        drawn(chart)


def test_cpu_only_machines_leave_out_the_gpu_charts_with_a_reason(cpu_frame):
    speedup = throughput.gpu_speedup(cpu_frame)
    assert speedup.figure is None
    assert "both devices" in speedup.reason
    heatmap = utilization.utilization_heatmap(cpu_frame, "gpu_util_pct_mean")
    assert heatmap.figure is None
    assert "GPU" in heatmap.reason
    # The CPU's own charts still draw.
    drawn(utilization.utilization_heatmap(cpu_frame, "cpu_pct_mean"))
    drawn(throughput.training_throughput(cpu_frame))
    drawn(throughput.loader_throughput(cpu_frame))
    drawn(throughput.epoch_time(cpu_frame))


def test_results_without_utilization_leave_the_utilization_charts_out(cpu_frame):
    percentages = [column for column in cpu_frame.columns
                   if column.endswith(("_mean", "_p95", "_max")) and "pct" in column]
    bare = cpu_frame.assign(**{column: float("nan") for column in percentages})
    heatmap = utilization.utilization_heatmap(bare, "cpu_pct_mean")
    assert heatmap.figure is None
    assert "cpu_pct_mean" in heatmap.reason
    bars = utilization.utilization_by_machine(bare)
    assert bars.figure is None
    assert "no utilization" in bars.reason
    drawn(throughput.training_throughput(bare))


def test_timelines_too_short_to_draw_are_left_out_with_a_reason():
    one_sample = pd.DataFrame({"case": ["a"], "machine": ["m"], "name": ["n"], "t_s": [0.1],
                               "metric": ["cpu_pct"], "value": [50.0]})
    chart = utilization.utilization_timelines(one_sample)
    assert chart.figure is None
    assert "fewer than two samples" in chart.reason
    empty = utilization.utilization_timelines(pd.DataFrame())
    assert empty.figure is None
    assert "no utilization timelines" in empty.reason


def test_real_timelines_draw(real_records, cpu_frame):
    timeline_frame = timelines(real_records, select_timeline_cases(cpu_frame))
    drawn(utilization.utilization_timelines(timeline_frame))


def test_foreign_rows_alone_give_reasons_not_errors(cpu_frame):
    foreign = cpu_frame[~cpu_frame["cifarbench"]]
    for chart in figures.report_charts(foreign):
        assert chart.figure is None
        assert chart.reason


def test_an_empty_frame_gives_reasons_for_every_chart():
    frame = tidy([])
    for chart in figures.report_charts(frame, pd.DataFrame()):
        assert chart.figure is None
        assert chart.reason


def test_throughput_spanning_decades_gets_a_log_axis(gpu_inputs):
    frame, _ = gpu_inputs
    chart = throughput.training_throughput(frame)
    assert chart.figure.axes[0].get_yscale() == "log"
    assert "images/s" in chart.figure.axes[0].get_ylabel()
    base.close(chart.figure)


def test_svg_keeps_text_as_text_and_escapes_it(gpu_inputs):
    frame, _ = gpu_inputs
    frame = frame.assign(machine=frame["machine"].where(frame["machine"] != "cpu-2core-a", "<b>&lab"))
    svg = drawn(throughput.training_throughput(frame))
    assert "&lt;b&gt;&amp;lab" in svg
    assert "<b>" not in svg


def test_many_machines_are_capped_and_said_so(cpu_frame):
    ours = cpu_frame[cpu_frame["cifarbench"] & (cpu_frame["group"] == "epoch")]
    copies = [ours.assign(machine=f"m{index:02d}") for index in range(base.MAX_HEATMAPS + 3)]
    chart = utilization.utilization_heatmap(pd.concat(copies, ignore_index=True), "cpu_pct_mean")
    assert "are shown" in chart.sentence
    drawn(chart)


def labelled_frame(label: str) -> pd.DataFrame:
    document = read_document(real_files()[0])
    document["machine_info"]["cifarbench"]["label"] = label
    return tidy(records_from_document(document, "labelled.json"))


@pytest.mark.parametrize("label", ["spot $0.03/h vs on-demand $0.10/h", "team_a $HOME/run_$x^"])
def test_labels_with_dollar_signs_are_text_not_mathtext(label):
    svg = drawn(throughput.loader_throughput(labelled_frame(label)))
    escaped = label.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert escaped in svg


def test_log_axes_label_their_ticks_plainly(cpu_frame):
    """Just over a decade of epoch times: matplotlib would label minor ticks '4x10^0, 6x10^0'."""
    frame = cpu_frame.copy()
    epochs = frame["group"] == "epoch"
    frame.loc[epochs & (frame["machine"] == "cpu-2core-a"), "full_epoch_seconds"] = 4.2
    frame.loc[epochs & (frame["machine"] == "cpu-2core-b"), "full_epoch_seconds"] = 45.0
    svg = drawn(throughput.epoch_time(frame))
    assert "\N{MULTIPLICATION SIGN}" not in svg
    assert "10^" not in svg


def test_loader_chart_names_the_ceilings_in_the_legend_only(cpu_frame):
    chart = throughput.loader_throughput(cpu_frame)
    figure = chart.figure
    try:
        for ax in figure.axes:
            plotted = [text.get_text() for text in ax.texts]
            assert not any("step" in text for text in plotted), plotted
        legend = [text.get_text() for text in figure.axes[-1].get_legend().get_texts()]
        assert "tutorial step" in legend
    finally:
        base.to_svg(figure)


def test_line_charts_draw_the_fastest_machines_and_say_so():
    frames = [labelled_frame(f"machine-{number:02d}") for number in range(base.MAX_MACHINES + 2)]
    chart = throughput.training_throughput(pd.concat(frames, ignore_index=True))
    drawn(chart)
    assert f"The {base.MAX_MACHINES} fastest of {base.MAX_MACHINES + 2} machines are drawn" in chart.sentence
