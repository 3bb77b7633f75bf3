"""The report tests' inputs: real result files in tests/data, and documents built from them.

tests/data holds small real files only:
- `cpu-2core-*.json`: cifarbench sweeps run on a 2-core CPU machine (quick profile, cut down
  with --bench-* options), two labels so the report has two machines;
- `foreign_pytest_benchmark.json`: a plain pytest-benchmark run of an unrelated suite;
- `broken_truncated.json`: the first part of a real result file, as a crash mid-write leaves it.

- `converge/vm-2c-cpu_*.json`: one converge case (batch 128, 0 workers, tensor, lr 0.032 linear, one
  seed that reached 30% on the hard synthetic set in one epoch), recorded on a busy 2-core VM, so
  `invalid`. Until a recorded run that trains several configurations replaces it,
  `converge_document` derives one from it (trust made ok, the tutorial's recipe and two more
  configurations added with their seeds); the report tests say which they use.
- `recorded/h200-lease_*.json`: the `smoke` preset recorded by the harness on a lent NVIDIA
  H200 (16 cores, torch 2.11, pytest-benchmark 5.2.3): the GPU machine of the report tests,
  with its CPU cases beside its cuda:0 ones, real NVML, GPM and energy readings.

The report tests import these helpers; tests/test_report_data.py checks the files themselves.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from reports.reading.load import Record, records_from_document

DATA = Path(__file__).parent / "data"
FOREIGN = DATA / "foreign_pytest_benchmark.json"
BROKEN = DATA / "broken_truncated.json"
XSS = "<script>alert(1)</script>"
GPU_FILE = DATA / "recorded" / "h200-lease_20261126T003056Z.json"
GPU_LABEL = "h200-lease"
CONVERGE_FILE = DATA / "converge" / "vm-2c-cpu_20261130T111252Z.json"
CONVERGE_LABEL = "vm-2c-cpu"
# The quick preset on the same VM, quiet (2026-11-30): both converge cases reached the target.
QUICK_CONVERGE_FILE = DATA / "converge" / "vm-2c-cpu_20261130T133823Z.json"


def real_files() -> list[Path]:
    """cifarbench's real result files in tests/data, in name order."""
    files = sorted(DATA.glob("cpu-2core-*.json"))
    assert len(files) >= 2, "tests/data should hold two real cifarbench result files"
    return files


def read_document(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def gpu_document() -> dict:
    """The H200's recorded smoke sweep (GPU_FILE), parsed afresh (callers may change it)."""
    return read_document(GPU_FILE)


def gpu_records() -> list[Record]:
    """Records of the H200's recorded smoke sweep."""
    return records_from_document(gpu_document(), GPU_FILE.name)


def xss_document(real: dict) -> dict:
    """A copy of a real document whose label and one parameter are a script tag."""
    document = copy.deepcopy(real)
    document["machine_info"]["cifarbench"]["label"] = XSS
    for benchmark in document["benchmarks"]:
        if benchmark.get("group") == "epoch":
            benchmark["params"]["model"] = XSS
            break
    return document




def converge_configuration(real: dict, *, batch_size: int, num_workers: int, loader: str, lr: float,
                           warmup_steps: int, lr_rule: str, seconds_by_seed: list[float | None],
                           images_per_sec: float, target: float = 0.3) -> dict:
    """A converge case made from the real one (`real`, a benchmark entry): other settings, and one seed
    per item of `seconds_by_seed` (None: the seed missed the target within the budget)."""
    bench = copy.deepcopy(real)
    name = f"tutorial-cpu-{loader}-tutorial-bs{batch_size}-w{num_workers}"
    bench["name"], bench["param"] = f"bench_converge[{name}]", name
    bench["fullname"] = f"bench/bench_converge.py::bench_converge[{name}]"
    bench["params"].update(batch_size=batch_size, num_workers=num_workers, loader=loader)
    info = bench["extra_info"]
    epoch_seconds = 50_000 / images_per_sec
    info.update(lr=lr, warmup_steps=warmup_steps, lr_rule=lr_rule, target_accuracy=target, max_seconds=300.0,
                images_per_sec=images_per_sec, median_round_seconds=epoch_seconds,
                images_per_sec_interval=[images_per_sec * 0.95, images_per_sec * 1.05],
                trust={**info["trust"], "level": "ok", "reasons": []})
    info["repeats"] = [{**repeat, "trust_level": "ok", "reasons": []} for repeat in info["repeats"]]
    seeds = []
    for seed, seconds in enumerate(seconds_by_seed):
        epochs = max(1, round(seconds / epoch_seconds) if seconds is not None
                     else int(info["max_seconds"] // epoch_seconds))
        reached_accuracy = target + 0.02 - 0.005 * seed if seconds is not None else target - 0.03 - 0.01 * seed
        curve = [{"epoch": epoch, "train_seconds": (seconds or epochs * epoch_seconds) * epoch / epochs,
                  "images": 50_000 * epoch, "steps": -(-50_000 // batch_size) * epoch, "energy_j": None,
                  "accuracy": reached_accuracy * (0.5 + 0.5 * epoch / epochs), "eval_seconds": 0.3 * epoch,
                  "train_loss": 2.3 - 0.1 * epoch} for epoch in range(1, epochs + 1)]
        seeds.append({"seed": seed, "reached": seconds is not None,
                      "stop": "reached" if seconds is not None else "max_seconds",
                      "seconds_to_target": seconds, "eval_seconds_to_target": 0.3 * epochs if seconds else None,
                      "epochs_to_target": epochs if seconds else None,
                      "images_to_target": 50_000 * epochs if seconds else None,
                      "steps_to_target": -(-50_000 // batch_size) * epochs if seconds else None,
                      "energy_j_to_target": None, "best_accuracy": reached_accuracy,
                      "train_seconds": curve[-1]["train_seconds"], "eval_seconds": 0.3 * epochs, "curve": curve})
    info["seeds"] = seeds
    bench["stats"]["data"] = [epoch_seconds] * len(bench["stats"]["data"])
    return bench


def converge_document() -> dict:
    """Several configurations trained to 30% on the hard synthetic set, derived from CONVERGE_FILE's
    one real case (see the module docstring): batch 128 (3 seeds), batch 512 at a capped linear lr
    whose seeds' range overlaps batch 128's (a tie), and the tutorial's recipe, which misses the
    target within the budget."""
    document = read_document(CONVERGE_FILE)
    [real] = document["benchmarks"]
    document["benchmarks"] = [
        converge_configuration(real, batch_size=128, num_workers=0, loader="tensor", lr=0.032, warmup_steps=50,
                               lr_rule="linear", seconds_by_seed=[48.0, 50.0, 71.0], images_per_sec=2_100.0),
        converge_configuration(real, batch_size=512, num_workers=0, loader="tensor", lr=0.1, warmup_steps=200,
                               lr_rule="linear-capped", seconds_by_seed=[58.0, 58.0, 77.0], images_per_sec=2_600.0),
        converge_configuration(real, batch_size=4, num_workers=2, loader="pil", lr=0.001, warmup_steps=0,
                               lr_rule="tutorial", seconds_by_seed=[None, None, None], images_per_sec=600.0),
    ]
    document["cifarbench"]["trust"] = {"level": "ok", "cases": {"ok": 3}}
    return document
