"""All results: one table per benchmark group, as measured, then other benchmarks and cases not measured."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bench.contract import vocab
from reports.analysis.analyse import Analysis
from reports.page import display as show
from reports.page import words
from reports.page.columns import Table, fold, table
from reports.reading import tidy as tidy_stage

GROUP_TITLES = {
    "loader": "DataLoader alone",
    "forward": "Forward pass",
    "train_step": "Train step",
    "epoch": "Training epoch",
    tidy_stage.DDP_GROUP: "Data-parallel epoch",
    vocab.CONVERGE: "Time to target",
}
GROUP_SENTENCES = {
    "loader": "images per second an input pipeline serves on its own, without training",
    "forward": "a forward pass of the model on data already on the device",
    "train_step": "forward, backward and optimizer step on data already on the device: the compute ceiling",
    "epoch": "whole training epochs through the input pipeline, as the tutorial's loop runs them",
    tidy_stage.DDP_GROUP: ("a training epoch on every rank under DistributedDataParallel, all ranks together; "
                           "images/s counts every rank's images"),
    vocab.CONVERGE: ("training from a seed until the test accuracy reaches the target or the budget runs out, one run "
                 "per seed; each epoch is a round, evaluations excluded"),
}
GPM_COLUMNS = ["sm_active_pct", "sm_occupancy_pct", "tensor_active_pct", "dram_bw_util_pct"]
GROUP_COLUMNS = {
    "loader": ["machine", "loader", "transform", "batch_size", "num_workers", "pin_memory", "device", "trust",
               "images_per_sec", "images_per_sec_range", "first_batch_seconds", "cpu_pct_mean",
               "cpu_core_pct_max_mean", "workers_cpu_pct_mean"],
    "forward": ["machine", "device", "model", "batch_size", "trust", "images_per_sec", "images_per_sec_range",
                "achieved_tflops", "fraction_of_peak", "peak_mem_mib", "gpu_util_pct_mean", *GPM_COLUMNS,
                "cpu_pct_mean", "speedup_vs_cpu"],
    "train_step": ["machine", "device", "model", "batch_size", "amp", "channels_last", "compile", "trust",
                   "images_per_sec", "images_per_sec_range", "achieved_tflops", "fraction_of_peak", "train_loss",
                   "peak_mem_mib", "gpu_util_pct_mean", *GPM_COLUMNS, "cpu_pct_mean", "speedup_vs_cpu",
                   "images_per_joule"],
    "epoch": ["machine", "device", "model", "loader", "transform", "batch_size", "num_workers", "compile", "trust",
              "verdict",
              "images_per_sec", "images_per_sec_range", "full_epoch_seconds", "epoch_note", "eval_accuracy",
              "fraction_of_peak", "gpu_util_pct_mean", *GPM_COLUMNS, "cpu_pct_mean", "workers_cpu_pct_mean",
              "other_cpu_pct", "speedup_vs_cpu", "joules_per_epoch"],
    # Efficiency and the ranks' spread are in the scaling section, derived there once.
    tidy_stage.DDP_GROUP: ["machine", "device", "model", "loader", "batch_size", "scaling", "backend", "world_size",
                           "nnodes", "trust", "images_per_sec", "images_per_sec_range", "train_loss",
                           "straggler_ratio", "allreduce_share"],
}
# Said once, under the table, when every row agrees.
FOLDABLE = ("transform", "pin_memory", "amp", "channels_last", "compile", "trust", "epoch_note", "backend", "scaling")


@dataclass
class GroupTable:
    group: str
    title: str
    sentence: str
    table: Table


def group_tables(ours: pd.DataFrame, analysis: Analysis) -> list[GroupTable]:
    """A table per group (loader, forward, train step, epoch, ddp), columns agreeing on every row folded."""
    verdict_of = {v.config: v.verdict or "not judged" for v in analysis.verdicts}
    tables = []
    for group in (*tidy_stage.GROUPS, tidy_stage.DDP_GROUP):
        rows = ours[ours["group"] == group]
        if rows.empty:
            continue
        names = GROUP_COLUMNS[group]
        present = [name for name in names if name in rows.columns]
        wanted = [*present, "full_epoch_projected", "epoch_images", "images_per_sec_min", "images_per_sec_max",
                  "trust_level", "batch_size", "num_workers", "model", "loader", "transform", "device",
                  "gpm_reason", "compile"]
        records = rows[[name for name in dict.fromkeys(wanted) if name in rows.columns]].to_dict("records")
        for record in records:
            record["trust"] = record["trust_level"] if show.known(record.get("trust_level")) else "not assessed"
            record["images_per_sec_range"] = show.spread_range(record.get("images_per_sec_min"),
                                                               record.get("images_per_sec_max"))
            if group == "epoch":
                record["epoch_note"] = (f"from {show.integer(record['epoch_images'])} images"
                                        if record.get("full_epoch_projected") is True and
                                        show.known(record.get("epoch_images")) else "full epoch")
                record["verdict"] = verdict_of.get(_config_of(record))
        shown, notes = fold(records, names, FOLDABLE)
        found = table(records, shown, id=f"results-{group}-table", notes=notes + _gpm_notes(records))
        tables.append(GroupTable(group, GROUP_TITLES[group], GROUP_SENTENCES[group], found))
    for group in dict.fromkeys(ours["group"].dropna()):  # groups the report does not know: as recorded
        if group not in (*tidy_stage.GROUPS, tidy_stage.DDP_GROUP):
            rows = ours[ours["group"] == group]
            found = table(rows.to_dict("records"), ["machine", "name", "params", "median_s", "mean_s", "stddev_s",
                                                    "rounds"])
            tables.append(GroupTable(str(group), GROUP_TITLES.get(group, str(group)), "timings as recorded", found))
    return tables


def _gpm_notes(records: list[dict]) -> list[str]:
    """Why GPM's columns are empty, once per machine, device and reason."""
    missing = dict.fromkeys((record["machine"], record["device"], record["gpm_reason"]) for record in records
                            if show.known(record.get("gpm_reason")))
    return [f"SM activity, occupancy, tensor pipes and DRAM bandwidth (GPM) not recorded on {machine} {device}: "
            f"{words.strip_prefix(reason, 'GPM not recorded: ')}." for machine, device, reason in missing]


def _config_of(record: dict):
    from reports.reading.cases import Config

    def whole(value):
        return int(value) if show.known(value) else None

    def word(value):
        return str(value) if show.known(value) else None

    return Config(record["machine"], record["device"], word(record.get("model")), whole(record.get("batch_size")),
                  whole(record.get("num_workers")), word(record.get("loader")), word(record.get("transform")),
                  word(record.get("compile")) or "eager")


def foreign_table(foreign: pd.DataFrame) -> Table | None:
    """Other pytest-benchmark results found beside ours, as recorded."""
    if foreign.empty:
        return None
    rows = [{**record, "file": Path(str(record["file"])).name} for record in foreign.to_dict("records")]
    return table(rows, ["machine", "file", "group", "name", "params", "median_s", "mean_s", "stddev_s", "min_s",
                        "rounds"], id="other-table")


def not_measured_table(cases: pd.DataFrame) -> Table | None:
    """Cases that were collected but not measured (skipped, failed), with the reason."""
    if cases.empty:
        return None
    rows = [{**record, "name": show.text(record["nodeid"]).rpartition("::")[2]} for record in cases.to_dict("records")]
    return table(rows, ["machine", "group", "name", "outcome", "reason"], id="not-measured-table")

