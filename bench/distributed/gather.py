"""Gathering: every rank's measurements made into the case's facts and pytest-benchmark's rounds."""

from __future__ import annotations

import statistics

from bench import compat
from bench.distributed.spec import RunSpec


def summarize(ranks: list[dict], spec: RunSpec) -> dict:
    """The case's facts from every rank's measurements (see docs/ddp.md for every key and unit).

    `round_seconds` (per round, the slowest rank's) is what pytest-benchmark times; the rest goes
    into `extra_info`.
    """
    ranks = sorted(ranks, key=lambda rank: rank["rank"])
    world_size = len(ranks)
    rounds = min(len(rank["round_seconds"]) for rank in ranks)
    round_seconds = [max(rank["round_seconds"][index] for rank in ranks) for index in range(rounds)]
    images_per_round = sum(statistics.median(rank["round_images"]) for rank in ranks)
    rank_images_per_sec = [statistics.median(rank["round_images"]) / statistics.median(rank["round_seconds"])
                           for rank in ranks]
    rank_busy = [statistics.median(rank["busy_seconds"]) for rank in ranks]
    rank_allreduce_share = [max(0.0, 1.0 - rank["local_step_seconds"] / rank["synced_step_seconds"])
                            for rank in ranks]
    busbw = {}
    for size in ranks[0]["allreduce_seconds"]:
        # nccl-tests: algbw = size / time; busbw = algbw * 2(n-1)/n, the slowest rank's time.
        seconds = max(rank["allreduce_seconds"][size] for rank in ranks)
        busbw[size] = int(size) / seconds * 2 * (world_size - 1) / world_size / 1e9
    facts = {
        "world_size": world_size,
        "nnodes": ranks[0]["group_world_size"],
        "backend": ranks[0]["backend"],
        "scaling": spec.scaling,
        "rank_batch_size": ranks[0]["batch_size"],
        "global_batch_size": sum(rank["batch_size"] for rank in ranks),
        "rank_images_per_round": statistics.median(ranks[0]["round_images"]),
        "timed_rounds": rounds,
        "round_seconds_from": "slowest rank",
        "rank_images_per_sec": rank_images_per_sec,
        "rank_round_seconds": [rank["round_seconds"][:rounds] for rank in ranks],
        "rank_busy_seconds": rank_busy,
        "straggler_ratio": max(rank_busy) / statistics.median(rank_busy),
        "rank_allreduce_share": rank_allreduce_share,
        "allreduce_share": statistics.median(rank_allreduce_share),
        "allreduce_busbw_gb_per_s": busbw,
        "threads_per_rank": ranks[0]["threads"],
        "num_workers": ranks[0]["num_workers"],
        "rank_hosts": [rank["host"] for rank in ranks],
        "rank_devices": [rank["device"] for rank in ranks],
        "train_loss": statistics.mean(rank["train_loss"][-1] for rank in ranks),
        "transform": spec.transform,
    }
    facts["rank_utilization"] = [_own_metrics(rank.get("utilization") or {}) for rank in ranks]
    if ranks[0]["peak_mem_mib"] is not None:
        facts["rank_peak_mem_mib"] = [rank["peak_mem_mib"] for rank in ranks]
    if ranks[0]["no_ddp_round_seconds"]:
        facts["no_ddp_images_per_sec"] = (statistics.median(ranks[0]["no_ddp_round_images"])
                                          / statistics.median(ranks[0]["no_ddp_round_seconds"]))
    return {"round_seconds": round_seconds, "images_per_round": images_per_round, "facts": facts,
            "utilization": case_utilization([rank.get("utilization") or {} for rank in ranks])}


# A rank's own metrics: its process and workers, and its GPU. The machine-wide ones (cpu_pct,
# other_cpu_pct, ...) are every rank's alike, and other_cpu_pct there counts the other ranks.
OWN_PREFIXES = ("proc_", "workers_", "gpu")


def _own_metrics(summary: dict) -> dict:
    return {metric: stats for metric, stats in summary.items() if metric.startswith(OWN_PREFIXES)}


def case_utilization(summaries: list[dict]) -> dict:
    """The case's utilization from its ranks' (each over its own timed rounds): rank 0's machine-wide
    metrics, the ranks' own CPU added up (means), and other processes' CPU without the other ranks."""
    if not summaries or not summaries[0]:
        return {}
    case = {metric: dict(stats) for metric, stats in summaries[0].items()
            if not metric.startswith(("proc_", "workers_"))}
    for metric in ("proc_cpu_pct", "workers_cpu_pct"):
        means = [summary[metric]["mean"] for summary in summaries if metric in summary]
        if means:
            case[metric] = {"mean": sum(means), "n": len(means)}
    other = case.get("other_cpu_pct")
    if other is not None and len(summaries) > 1:
        # Rank 0 counts every other rank's process tree as another program's.
        peers = sum(summary.get(metric, {}).get("mean", 0.0) for summary in summaries[1:]
                    for metric in ("proc_cpu_pct", "workers_cpu_pct"))
        case["other_cpu_pct"] = {"mean": max(0.0, other["mean"] - peers), "n": other.get("n")}
    return case


def record_rounds(benchmark, round_seconds: list[float]) -> None:
    """Give pytest-benchmark the rounds the ranks timed (bench.compat: it has no public call for it)."""
    if benchmark.disabled:
        return
    compat.record_rounds(benchmark, round_seconds, mode="cifarbench: rounds timed by the ranks")
