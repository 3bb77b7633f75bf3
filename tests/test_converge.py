"""Training to a target accuracy (bench/converge.py) on small files in CIFAR-10's own format, and
what the sweep records and the report ranks of it. Nothing here asserts a speed."""

import json

import pytest
import torch
from torchvision.datasets import CIFAR10

from bench.contract import derive
from bench.converge import MAX_EPOCHS, REACHED, choose, train_to_target
from bench.data import load_cifar10, make_loader
from bench.recipe import lr_plan, lr_scheduler
from bench.workload import make_optimizer, prepare_model
from models import get_model
from reports.analysis.to_target import ToTarget, rank
from tests.cifar_files import small_cifar10
from tests.typed_cases import CPU, epoch


@pytest.fixture(autouse=True)
def _threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def small(tmp_path, monkeypatch):
    """1,000 training and 200 test images in CIFAR-10's file format, read through torchvision."""
    env = small_cifar10(tmp_path, train_images=1_000, test_images=200)
    md5s = json.loads(env["CIFARBENCH_TEST_MD5S"])
    monkeypatch.setattr(CIFAR10, "train_list", [[f"data_batch_{n}", md5s[f"data_batch_{n}"]] for n in range(1, 6)])
    monkeypatch.setattr(CIFAR10, "test_list", [["test_batch", md5s["test_batch"]]])
    monkeypatch.setattr(CIFAR10, "meta", dict(CIFAR10.meta, md5=md5s["batches.meta"]))
    return load_cifar10(tmp_path)


def train(data, target: float, max_epochs: int, batch_size: int = 32, seed: int = 0):
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # small work: one thread, and no wait on a descheduled one
    device = torch.device("cpu")
    net = prepare_model(get_model("tutorial"), device)
    optimizer = make_optimizer(net)
    scheduler = lr_scheduler(optimizer, lr_plan(batch_size))
    batches = make_loader(data.train, "tensor", "tutorial", batch_size, seed=seed)
    tests = make_loader(data.test, "tensor", "tutorial", 100, shuffle=False)
    return train_to_target(net, optimizer, batches, tests, device, target, max_epochs, on_step=scheduler.step)


def test_a_tiny_configuration_trained_to_a_low_target_has_consistent_seconds_epochs_and_curve(small):
    assert small.source != "synthetic-hard"  # read from the real-format files
    result = train(small, target=0.15, max_epochs=8, batch_size=4)  # the tutorial's batch: no warm-up
    facts = result.facts()
    assert result.reached
    assert result.stop == REACHED
    epochs = facts["epochs_to_target"]
    assert facts["curve"][epochs - 1]["accuracy"] >= 0.15  # the curve reaches the target at the recorded epoch
    assert all(point["accuracy"] < 0.15 for point in facts["curve"][:epochs - 1])
    assert facts["seconds_to_target"] <= sum(result.epoch_seconds) + 1e-9  # at most the epochs' training time
    assert facts["seconds_to_target"] == pytest.approx(sum(result.epoch_seconds[:epochs]))
    assert facts["images_to_target"] == epochs * 1_000
    assert facts["steps_to_target"] == epochs * 250  # 1,000 / 4 steps an epoch
    assert facts["eval_seconds_to_target"] > 0  # evaluations timed apart, not in the training seconds
    assert facts["energy_j_to_target"] is None  # no GPU counter on a CPU


def test_a_configuration_that_cannot_reach_the_target_in_its_budget_is_not_reached(small):
    result = train(small, target=0.99, max_epochs=2)
    facts = result.facts()
    assert not result.reached
    assert result.stop == MAX_EPOCHS
    assert facts["seconds_to_target"] is None
    assert len(facts["curve"]) == 2
    assert facts["best_accuracy"] == max(point["accuracy"] for point in facts["curve"])


def converge(seconds: float | None, best: float, batch: int) -> ToTarget:
    case = epoch(CPU, 1_000.0, batch_size=batch, loader="tensor", num_workers=0)
    run = {"reached": seconds is not None, "seconds_to_target": seconds, "best_accuracy": best}
    answer = derive.time_to_target([run])
    return ToTarget(case, answer, (seconds, seconds) if seconds is not None else None)


def test_a_missed_target_is_never_ranked_ahead_of_a_reached_one_and_overlaps_are_ties():
    fast_miss = converge(None, 0.45, 4096)  # fastest per image, never reached 50%
    slow = converge(300.0, 0.55, 4)
    quick = converge(60.0, 0.52, 128)
    close = ToTarget(quick.case, quick.answer, (55.0, 70.0))
    ranked = rank([fast_miss, slow, quick])
    assert [row.case.config.batch_size for row in ranked] == [128, 4, 4096]
    assert [row.rank for row in ranked] == [1, 2, None]
    tied = rank([ToTarget(slow.case, slow.answer, (50.0, 66.0)), close])
    assert [row.rank for row in tied] == [1, 1]  # the intervals overlap: no measurable difference


def test_the_sweep_trains_the_tutorials_settings_and_the_fastest_per_image():
    configs = [{"model": "tutorial", "device": "cpu", "loader": loader, "transform": "tutorial", "batch_size": batch,
                "num_workers": workers, "threads": 2} for loader, batch, workers in
               (("pil", 4, 2), ("pil", 4, 0), ("tensor", 128, 0), ("tensor", 4, 0))]

    def measured(config, images_per_sec, level="ok"):
        return {"params": {**config, "compile": "eager"},
                "extra_info": {"images_per_sec": images_per_sec, "trust": {"level": level}}}

    epochs = [measured(configs[0], 1_600), measured(configs[1], 1_900), measured(configs[2], 15_000),
              measured(configs[3], 90_000, level="invalid")]  # an invalid figure never picks
    tutorial = {"batch_size": 4, "num_workers": 2, "loader": "pil", "threads": 2, "transform": "tutorial"}
    chosen = choose(epochs, configs, "fastest", tutorial, ("tutorial",))
    assert chosen == [configs[0], configs[2]]
    per_batch = choose(epochs, configs, "per_batch", tutorial, ("tutorial",))
    assert configs[1] in per_batch  # the fastest at batch 4 as well
    assert choose([], configs, "fastest", tutorial, ("tutorial",)) == configs  # no epoch measured: all selected
