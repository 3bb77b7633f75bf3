"""The auto preset: the search driving real epoch cases within a budget, and its answer as code to paste.

The scheduler itself is tested on a fake measurement function (tests/test_search.py); here the
sweep runs for real in a child process, tiny, and what it writes is checked: the search's path
and stopping reason, each case marked with its rung, the cases never tried listed with the
reason, the answer with the code. Nothing is timed or asserted about speed.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from bench.contract import Case, Machine, problems
from bench.paste import settings_code
from tests.cifar_files import small_cifar10
from tests.sweep_project import ROOT


class StandIn:
    """What the tutorial's `trainset` offers the pasted code: torchvision CIFAR10's `data` and `targets`."""

    def __init__(self, count: int = 40):
        rng = np.random.default_rng(0)
        self.data = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
        self.targets = rng.integers(0, 10, size=count).tolist()

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):  # the tutorial's ToTensor + Normalize, per image
        image = torch.from_numpy(self.data[index]).permute(2, 0, 1).float().div(255).sub(0.5).div(0.5)
        return image, self.targets[index]


@pytest.mark.parametrize("loader", ["pil", "tensor", "device"])
def test_the_pasted_code_is_python_that_builds_the_loader_with_the_settings(loader):
    settings = {"device": "cpu", "loader": loader, "batch_size": 8, "num_workers": 0, "threads": 1}
    code = settings_code(settings, lr=0.004, warmup_steps=10)
    compile(code, "<answer>", "exec")  # valid Python, as printed
    names = {"trainset": StandIn(), "net": nn.Linear(3 * 32 * 32, 10)}
    before = torch.get_num_threads()
    try:
        exec(code, names)  # the code the answer prints, run as a user would
    finally:
        torch.set_num_threads(before)
    batches = list(names["trainloader_epoch"]()) if loader == "device" else list(names["trainloader"])
    assert [len(labels) for _, labels in batches] == [8] * 5
    if loader != "device":
        assert isinstance(names["trainloader"], torch.utils.data.DataLoader)
        assert names["trainloader"].num_workers == 0
    assert names["optimizer"].param_groups[0]["lr"] == pytest.approx(0.004 / 10)  # warm-up's first step
    assert names["device"] == torch.device("cpu")


def test_the_pasted_code_keeps_the_tutorials_dataloader_arguments_for_workers():
    code = settings_code({"device": "cuda:0", "loader": "pil", "batch_size": 128, "num_workers": 4, "threads": 8})
    assert ("torch.utils.data.DataLoader(trainset, batch_size=128, shuffle=True, num_workers=4, pin_memory=True, "
            "persistent_workers=True)") in code
    assert "torch.set_num_threads(8)" in code


# Small real-format data (600 images), so that training the winners to the target takes seconds.
AUTO = ["--benchmark", "--bench-sweep", "auto", "--bench-budget", "60", "--bench-devices", "cpu",
        "--bench-loaders", "tensor", "--bench-batch-sizes", "16", "--bench-workers", "0",
        "--bench-target-accuracy", "0.15", "--bench-no-report", "--bench-no-peak", "--bench-no-preflight",
        "--bench-label", "auto-test", "-p", "no:cacheprovider"]


def test_a_tiny_auto_sweep_writes_its_search_and_answers_with_code(tmp_path):
    results = tmp_path / "results"
    env = {name: value for name, value in os.environ.items() if not name.startswith("CIFARBENCH_")}
    env.update(small_cifar10(tmp_path / "cifar", train_images=500, test_images=100))
    completed = subprocess.run([sys.executable, "-m", "pytest", *AUTO, "--bench-data-dir", str(tmp_path / "cifar"),
                                "--bench-results", str(results)], cwd=ROOT, capture_output=True, text=True,
                               timeout=600, check=False, env=env)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    out = completed.stdout
    assert "search: rung " in out
    assert "search: stopped (" in out
    assert "to the target accuracy" in out  # then the winners and the tutorial's settings trained to it
    # The answer, as code; or, on a machine too busy to measure (every figure invalid), why there is none.
    assert ("torch.utils.data.DataLoader(" in out) or ("search: no answer" in out and "trust:" in out)
    (path,) = results.glob("auto-test_*.json")
    document = json.loads(path.read_text())
    assert problems(document) == []
    search = document["machine_info"]["cifarbench"][Machine.search]
    assert search["stop"]["code"] in ("complete", "budget")
    assert search["trials"]
    assert search["reference_candidate"]["loader"] == "pil"
    groups = {bench["group"] for bench in document["benchmarks"]}
    assert "epoch" in groups
    for bench in document["benchmarks"]:
        if bench["group"] == "epoch":
            assert bench["extra_info"][Case.search]["rung"] >= 0
        else:
            assert bench["group"] == "converge"
            assert bench["extra_info"]["target_accuracy"] == 0.15
    tried = {bench["params"]["threads"] for bench in document["benchmarks"]
             if bench["group"] == "epoch" and bench["params"]["loader"] == "tensor"}
    not_tried = [case for case in document["cifarbench"]["cases"] if case["outcome"] == "not tried"]
    assert tried or not_tried  # every configuration is either measured or listed with the reason
    assert all(case["reason"].startswith("not tried by the search") for case in not_tried)


def converge_entry(loader: str, batch: int, seconds: float | None, images_per_sec: float, lr: float,
                   best: float = 0.52) -> dict:
    """A converge case as the results file holds it: one seed, reached at `seconds` (None: missed)."""
    seed = {"seed": 0, "reached": seconds is not None, "seconds_to_target": seconds, "epochs_to_target": 2
            if seconds is not None else None, "best_accuracy": best, "train_seconds": seconds or 54.0}
    return {"group": "converge", "name": f"bench_converge[{loader}-bs{batch}]",
            "params": {"model": "tutorial", "device": "cpu", "loader": loader, "transform": "tutorial",
                       "batch_size": batch, "num_workers": 2 if loader == "pil" else 0, "threads": 2},
            "extra_info": {"images_per_sec": images_per_sec, "lr": lr, "warmup_steps": 50, "target_accuracy": 0.5,
                           "cpu_threads": 2, "seeds": [seed]}}


def test_the_answer_is_the_fastest_to_the_target_never_one_that_missed_it():
    from bench.summary import target_answer

    entries = [converge_entry("tensor", 512, 10.8, 14_400, 0.128), converge_entry("device", 128, 7.9, 11_800, 0.032),
               converge_entry("device", 1024, None, 15_000, 0.256, best=0.31),
               converge_entry("pil", 4, None, 900, 0.001, best=0.44)]
    lines = target_answer(entries)
    assert lines[0] == ("answer: device pipeline, batch 128, 0 workers, 2 threads on cpu: 50% test accuracy in "
                        "7.9 s (2 epochs, lr 0.032)")
    assert lines[1].startswith("        the tutorial's settings: not reached in 54 s of training (best 44%")
    assert lines[2].startswith("        fastest per image: device pipeline, batch 1024")
    assert lines[2].endswith("target not reached")
    code = "\n".join(line.removeprefix(" " * 12) for line in lines[4:])
    compile(code, "<answer>", "exec")
    assert "lr=0.032" in code


def test_without_a_configuration_at_the_target_the_answer_says_so_and_falls_back():
    from bench.summary import target_answer

    assert target_answer([converge_entry("pil", 4, None, 900, 0.001)]) == []
