"""How a timed epoch is sized from the calibration pass (bench/bench_epoch.py::sized_epoch),
and how many rounds are timed.

The rate itself is measured and varies, so these tests pin the sizing rule at its two ends
instead: no time wanted gives the floor of whole batches, unlimited time gives the cap.
"""

import pytest
import torch

from bench.bench_epoch import (
    MAX_ROUND_SECONDS,
    MIN_BATCHES_PER_ROUND,
    MIN_SLOW_BATCHES,
    batches_for,
    rounds_for,
    sized_epoch,
)
from bench.data import Split, make_loader, synthetic_cifar10
from bench.timing import MAX_TIMED_ROUNDS
from bench.workload import make_optimizer, prepare_model
from models import get_model

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def train_split():
    cifar = synthetic_cifar10(0)
    return Split(cifar.train.images[:2_048], cifar.train.labels[:2_048])


def size(train_split, batch_size, round_seconds, max_images, rounds=2):
    """Images per round (the rounds are pinned by `test_whole_epochs_shorter_than_the_round...`)."""
    net = prepare_model(get_model("tutorial"), CPU)
    batches = make_loader(train_split, "device", "tutorial", batch_size, device=CPU)
    images, timed_rounds = sized_epoch(net, make_optimizer(net), batches, CPU, batch_size, round_seconds, max_images,
                                       rounds)
    assert rounds <= timed_rounds <= MAX_TIMED_ROUNDS
    return images


@pytest.mark.parametrize("batch_size", [4, 32])
def test_a_round_is_at_least_twenty_whole_batches(train_split, batch_size):
    images = size(train_split, batch_size, round_seconds=0.0, max_images=2_048)
    assert images == MIN_BATCHES_PER_ROUND * batch_size


def test_the_sizing_rule_at_its_ends():
    # fast batches: at least 20, and at least the round's seconds
    assert batches_for(images_per_sec=1_000, batch_size=10, round_seconds=0.0) == MIN_BATCHES_PER_ROUND
    assert batches_for(images_per_sec=1_000, batch_size=10, round_seconds=1.0) == 100
    # slow batches (20 would take over MAX_ROUND_SECONDS): whole batches for about that long
    assert batches_for(images_per_sec=10, batch_size=100, round_seconds=1.0) == MAX_ROUND_SECONDS // 10
    assert batches_for(images_per_sec=1, batch_size=100, round_seconds=1.0) == MIN_SLOW_BATCHES


@pytest.mark.parametrize("batch_size", [4, 512])
def test_a_round_never_exceeds_the_profiles_epoch(train_split, batch_size):
    assert size(train_split, batch_size, round_seconds=1e9, max_images=1_024) == 1_024


def test_the_cap_wins_over_the_floor(train_split):
    # Fewer images allowed than the floor of batches (the preset's epoch, or the data set's size):
    # the cap wins; the epoch then stops at the batch that reaches it and records what it ran.
    assert size(train_split, 512, round_seconds=0.0, max_images=600) == 600


def test_whole_epochs_shorter_than_the_round_run_more_rounds():
    # The H200 lease: 50,000 images at 1.15 M images/s is a 43 ms round against a preset's 1 s.
    assert rounds_for(images_per_sec=1_150_000, images=50_000, round_seconds=1.0, rounds=2) == 46
    assert rounds_for(images_per_sec=50_000, images=50_000, round_seconds=1.0, rounds=2) == 2  # a round is 1 s
    assert rounds_for(images_per_sec=1e9, images=50_000, round_seconds=1.0, rounds=2) == MAX_TIMED_ROUNDS
    assert rounds_for(images_per_sec=1_000, images=50_000, round_seconds=1.0, rounds=3) == 3


def test_a_capped_fast_epoch_times_more_rounds(train_split):
    net = prepare_model(get_model("tutorial"), CPU)
    batches = make_loader(train_split, "device", "tutorial", 32, device=CPU)
    images, rounds = sized_epoch(net, make_optimizer(net), batches, CPU, 32, round_seconds=1e9, max_images=64,
                                 rounds=2)
    assert (images, rounds) == (64, MAX_TIMED_ROUNDS)
