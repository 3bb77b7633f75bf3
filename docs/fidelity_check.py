"""How close the harness's timed epoch is to a plain training loop over the same work.

A plain loop, written apart from the harness as the tutorial writes it (torchvision's CIFAR10
path: uint8 array -> PIL image -> ToTensor + Normalize; a DataLoader; zero_grad, forward, loss,
backward, step; `loss.item()` summed), is timed against the harness's own epoch
(`bench.workload.train_epoch`) with each of its extras switched on in turn: the phase clock
(bench/phases.py) and the utilization sampler (bench/sampling). The variants alternate
(A B C D A B C D ...) so that the machine's drift spreads over all of them; each round trains
the same number of images from a fresh iterator, as the harness's fixed-work epochs do.

Run on a quiet machine, nothing else running:

    python docs/fidelity_check.py --loader pil --batch-size 128 --workers 0 --images 4096 --alternations 5

It prints each variant's median images/s over all its rounds and its ratio to the plain loop.
Figures and what they showed: docs/fidelity.md.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from bench.data import load_cifar10, make_loader
from bench.phases import HostPhaseClock
from bench.sampling import Sampler
from bench.workload import make_optimizer, prepare_model, train_epoch
from models import get_model


def plain_round(net, optimizer, loader, images: int) -> int:
    """The tutorial's loop, written apart from the harness: `images` images from a fresh iterator."""
    criterion = nn.CrossEntropyLoss()
    running_loss, done = 0.0, 0
    for inputs, labels in loader:
        optimizer.zero_grad()
        loss = criterion(net(inputs), labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        done += len(labels)
        if done >= images:
            break
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loader", default="pil")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--alternations", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each variant per alternation")
    args = parser.parse_args()
    torch.set_num_threads(len(__import__("os").sched_getaffinity(0)))
    data = load_cifar10(None)
    device = torch.device("cpu")

    def setup():
        torch.manual_seed(0)
        net = prepare_model(get_model("tutorial"), device)
        loader = make_loader(data.train, args.loader, "tutorial", args.batch_size, num_workers=args.workers,
                             persistent_workers=True)
        return net, make_optimizer(net), loader

    variants = {
        "plain loop": lambda net, opt, loader: plain_round(net, opt, loader, args.images),
        "harness epoch": lambda net, opt, loader: train_epoch(net, opt, loader, device, max_images=args.images).images,
        "+ phase clock": lambda net, opt, loader: train_epoch(net, opt, loader, device, max_images=args.images,
                                                              clock=HostPhaseClock()).images,
        "+ phase clock + sampler": "sampled",
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    prepared = {name: setup() for name in variants}
    for net, opt, loader in prepared.values():  # warm: workers started, allocator and caches
        plain_round(net, opt, loader, args.images)
    for _ in range(args.alternations):
        for name, work in variants.items():
            net, opt, loader = prepared[name]
            sampler = Sampler(interval_s=0.1) if work == "sampled" else None
            if sampler is not None:
                sampler.start()
            for _ in range(args.rounds):
                started = time.perf_counter()
                if work == "sampled":
                    done = train_epoch(net, opt, loader, device, max_images=args.images, clock=HostPhaseClock()).images
                else:
                    done = work(net, opt, loader)
                rates[name].append(done / (time.perf_counter() - started))
            if sampler is not None:
                sampler.stop()
    plain = statistics.median(rates["plain loop"])
    print(f"{args.loader} batch {args.batch_size}, {args.workers} workers, {args.images} images a round, "
          f"{args.alternations} alternations x {args.rounds} rounds each")
    for name, values in rates.items():
        middle = statistics.median(values)
        print(f"  {name:26s} {middle:9,.0f} images/s (rounds {min(values):,.0f}-{max(values):,.0f}) "
              f"{middle / plain:6.3f} x plain")


if __name__ == "__main__":
    main()
