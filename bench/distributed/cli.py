"""The command line, `python -m bench.distributed launch|worker ...`: arguments to a launch or a worker."""

from __future__ import annotations

import argparse
import os
from dataclasses import fields
from pathlib import Path

from bench.distributed.one_node import launch_main
from bench.distributed.spec import DEFAULT_PG_TIMEOUT_S, RunSpec
from bench.distributed.worker import worker_main


def main(argv: list[str] | None = None) -> int:
    from bench import distributed  # the package docstring's first line heads --help

    description = distributed.__doc__.splitlines()[0]
    parser = argparse.ArgumentParser(prog="python -m bench.distributed", description=description)
    commands = parser.add_subparsers(dest="command", required=True)
    launch_parser = commands.add_parser("launch", help="one node: elastic_launch (used by bench_ddp.py)")
    launch_parser.add_argument("--nproc", type=int, required=True)
    launch_parser.add_argument("--spec", required=True, help="a RunSpec as JSON")
    launch_parser.add_argument("--out", required=True)
    worker = commands.add_parser("worker", help="one rank, under torchrun; rank 0 writes the results file")
    defaults = {field.name: field.default for field in fields(RunSpec)}
    worker.add_argument("--model", default="tutorial")
    worker.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    worker.add_argument("--loader", default="tensor", choices=("pil", "tensor", "device"))
    worker.add_argument("--batch-size", type=int, default=128)
    worker.add_argument("--images", type=int, default=2048, help="images per rank and round (weak scaling)")
    worker.add_argument("--scaling", default="weak", choices=("weak", "strong"))
    worker.add_argument("--rounds", type=int, default=defaults["rounds"])
    worker.add_argument("--warmup-rounds", type=int, default=defaults["warmup_rounds"])
    worker.add_argument("--data-dir", default=os.environ.get("CIFAR10_ROOT"))
    worker.add_argument("--threads-per-rank", type=int,
                        help="torch threads per rank (default: the usable cores // ranks on this node)")
    worker.add_argument("--pg-timeout", type=float, default=DEFAULT_PG_TIMEOUT_S,
                        help="seconds a collective may wait for a peer")
    worker.add_argument("--label", help="the cluster's name in the results (default: <nodes>x<host label>)")
    worker.add_argument("--results", default="results", help="folder for the results file (rank 0)")
    worker.add_argument("--no-peak", action="store_true", help="skip the peak-matmul measurement")
    args = parser.parse_args(argv)
    if args.command == "launch":
        return launch_main(RunSpec.from_json(args.spec), args.nproc, Path(args.out))
    return worker_main(args)
