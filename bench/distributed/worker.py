"""Several nodes: torchrun runs `worker` on every rank, and rank 0 writes one pytest-benchmark results file."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from bench.distributed.gather import summarize
from bench.distributed.rank import run_rank
from bench.distributed.spec import RunSpec


def results_document(ranks: list[dict], spec: RunSpec, label: str | None, started: datetime,
                     measure_peak: bool = True) -> dict:
    """A pytest-benchmark results document holding one ddp case, as `pytest --benchmark` writes them."""
    import cpuinfo
    from pytest_benchmark import __version__ as pytest_benchmark_version
    from pytest_benchmark.plugin import pytest_benchmark_generate_machine_info
    from pytest_benchmark.stats import Stats

    from bench import machine
    from bench.grid import case_id
    from models import flops_per_image

    summary = summarize(ranks, spec)
    facts = summary["facts"]
    stats = Stats()
    for seconds in summary["round_seconds"]:
        stats.update(seconds)
    params = {"model": spec.model, "device": spec.device, "loader": spec.loader,
              "batch_size": spec.batch_size, "scaling": spec.scaling, "world_size": facts["world_size"]}
    name_id = case_id(params)
    images_per_sec = summary["images_per_round"] / stats.median
    extra_info = {
        "images_per_round": summary["images_per_round"], "median_round_seconds": stats.median,
        "images_per_sec": images_per_sec, "cpu_threads": facts["threads_per_rank"],
        "warmup_rounds": spec.warmup_rounds, "flops_per_image": flops_per_image(spec.model)["train"],
        "scaling_efficiency": None, "data_source": "synthetic" if spec.data_dir is None else spec.data_dir,
        **facts,
    }
    extra_info["achieved_tflops"] = extra_info["flops_per_image"] * images_per_sec / 1e12
    machine_info = pytest_benchmark_generate_machine_info()
    cpu = cpuinfo.get_cpu_info()
    machine_info["cpu"] = cpu
    nodes = facts["nnodes"]
    facts_machine = machine.collect(cpu, devices=[ranks[0]["device"]], label=label,
                                    threads=facts["threads_per_rank"], measure_peak=measure_peak)
    if label is None:
        facts_machine["label"] = f"{nodes}x{facts_machine['label']}"
    facts_machine["nnodes"] = nodes
    machine_info["cifarbench"] = facts_machine
    nodeid = f"bench/bench_ddp.py::bench_ddp[{name_id}]"
    benchmark = {
        "group": "ddp", "name": f"bench_ddp[{name_id}]", "fullname": nodeid, "params": params,
        "param": name_id, "extra_info": extra_info,
        "options": {"timer": "perf_counter in the ranks (slowest rank per round)", "rounds": spec.rounds},
        "stats": {**stats.as_dict(), "data": stats.data, "iterations": 1},
    }
    return {
        "machine_info": machine_info, "commit_info": {}, "benchmarks": [benchmark],
        "datetime": started.isoformat(), "version": pytest_benchmark_version,
        "cifarbench": {
            "preset": "ddp-multinode", "complete": True, "interrupted": False, "started": started.isoformat(),
            "data": extra_info["data_source"],
            "cases": [{"nodeid": nodeid, "group": "ddp", "params": params, "when": "call",
                       "outcome": "passed", "reason": None, "duration_s": None}],
        },
    }


def worker_main(args) -> int:
    """Under torchrun: this rank's part; rank 0 writes the results file."""
    from bench.results import claim_results_path, write_atomically

    started = datetime.now(timezone.utc)
    spec = RunSpec(model=args.model, device=args.device, loader=args.loader, batch_size=args.batch_size,
                   images=args.images, scaling=args.scaling, rounds=args.rounds, warmup_rounds=args.warmup_rounds,
                   data_dir=args.data_dir, pg_timeout_s=args.pg_timeout, threads_per_rank=args.threads_per_rank)
    ranks = run_rank(spec)
    if ranks is not None:  # rank 0
        document = results_document(ranks, spec, args.label, started, measure_peak=not args.no_peak)
        path = claim_results_path(Path(args.results), document["machine_info"]["cifarbench"]["label"], started)
        write_atomically(path, document)
        print(f"results: {path}", flush=True)
    return 0
