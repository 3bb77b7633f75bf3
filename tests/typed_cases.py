"""Typed cases for the analysis tests: a small builder of `Case` values, and views of one verdict
or one recommendation with its words.

The analysis takes typed input, so its tests build `Case` values directly. Numbers are made
up to put each rule on either side of its threshold.
"""

from __future__ import annotations

import statistics

from bench.contract import derive
from reports.analysis.analyse import analyse
from reports.page import words as say
from reports.reading.cases import Case, Config
from reports.reading.tidy import FULL_EPOCH_IMAGES

GPU = "gpu-box"
CPU = "cpu-box"


def loader(machine, images_per_sec, loader="pil", batch_size=4, num_workers=2, pin_memory=False,
           transform="tutorial", device="cpu", trust=None):
    return Case("loader", Config(machine, device, None, batch_size, num_workers, loader, transform), images_per_sec,
                pin_memory=pin_memory, trust=trust)


def step(machine, images_per_sec, device="cuda:0", model="tutorial", batch_size=4, amp=False,
         channels_last=False, fraction_of_peak=None, achieved_tflops=None, trust=None, interval=None):
    return Case("train_step", Config(machine, device, model, batch_size), images_per_sec, amp=amp,
                channels_last=channels_last, fraction_of_peak=fraction_of_peak, achieved_tflops=achieved_tflops,
                trust=trust, interval=interval)


def epoch(machine, images_per_sec, device="cuda:0", model="tutorial", batch_size=4, num_workers=2,
          loader="pil", transform="tutorial", gpu_util_pct=None, fraction_of_peak=None,
          achieved_tflops=None, joules_per_epoch=None, trust=None, trust_reasons=(), rounds_spread=None,
          cpu_threads=None, interval=None):
    cuda = device.startswith("cuda")
    return Case("epoch", Config(machine, device, model, batch_size, num_workers, loader, transform), images_per_sec,
                pin_memory=cuda and loader != "device", gpu_util_pct_mean=gpu_util_pct,
                full_epoch_seconds=FULL_EPOCH_IMAGES / images_per_sec, fraction_of_peak=fraction_of_peak,
                achieved_tflops=achieved_tflops, joules_per_epoch=joules_per_epoch, trust=trust,
                trust_reasons=tuple(trust_reasons), rounds_spread=rounds_spread, cpu_threads=cpu_threads,
                interval=interval)


def converge(machine, seconds_by_seed, target=0.3, device="cpu", model="tutorial", batch_size=128, num_workers=0,
             loader="tensor", transform="tutorial", lr=0.032, warmup_steps=50, lr_rule="linear", best_accuracy=None,
             images_per_sec=10_000.0, interval=None, trust=None, trust_reasons=(), data_source="synthetic-hard",
             energy_j=None):
    """A converge case: one seed per item of `seconds_by_seed`, None for a seed that missed the target
    within its budget (its best accuracy `best_accuracy`, else just under the target)."""
    reached = [seconds for seconds in seconds_by_seed if seconds is not None]
    missed_best = best_accuracy if best_accuracy is not None else target - 0.03
    answer = derive.TimeToTarget(
        seeds=len(seconds_by_seed), reached=len(reached),
        seconds=statistics.median(reached) if reached else None, seconds_low=min(reached) if reached else None,
        seconds_high=max(reached) if reached else None, eval_seconds=None,
        epochs=None, images=None, steps=None, energy_j=energy_j,
        best_accuracy=max(target + 0.01, missed_best) if reached else missed_best)
    curves = tuple(((seconds / 2, target * 0.7), (seconds, target + 0.01)) if seconds is not None
                   else ((20.0, missed_best * 0.8), (40.0, missed_best)) for seconds in seconds_by_seed)
    return Case("converge", Config(machine, device, model, batch_size, num_workers, loader, transform),
                images_per_sec, interval=interval, trust=trust, trust_reasons=tuple(trust_reasons), to_target=answer,
                target_accuracy=target, lr=lr, warmup_steps=warmup_steps, lr_rule=lr_rule, curves=curves,
                data_source=data_source)


def tutorial_converge(machine, seconds_by_seed, **settings):
    """The tutorial's own recipe trained to the target: batch 4, 2 workers, pil, lr 0.001, no warm-up."""
    return converge(machine, seconds_by_seed, batch_size=4, num_workers=2, loader="pil", lr=0.001, warmup_steps=0,
                    lr_rule="tutorial", **{"images_per_sec": 900.0, **settings})


def starved_gpu() -> list[Case]:
    """The tutorial's settings on a big GPU: the loader serves 1.5k img/s, the step could take 60k."""
    return [loader(GPU, 1_500, pin_memory=True), step(GPU, 60_000), epoch(GPU, 1_400, gpu_util_pct=7.0)]


def busy_cpu() -> list[Case]:
    """A CPU whose loader serves 20k img/s while the step manages 2k."""
    return [loader(CPU, 20_000), step(CPU, 2_000, device="cpu"), epoch(CPU, 1_900, device="cpu")]


class VerdictView:
    """A verdict with its words, for short assertions."""

    def __init__(self, found):
        self.found = found
        self.verdict = found.verdict
        self.fraction_of_ceiling = found.fraction_of_ceiling
        self.evidence = say.evidence(found)
        self.step_images_per_sec = found.step_speed
        self.loader_images_per_sec = found.loader_speed


def flat(*items) -> list[Case]:
    """Cases and lists of cases, as one list."""
    found = []
    for item in items:
        found.extend([item] if isinstance(item, Case) else flat(*item))
    return found


def only_verdict(*found) -> VerdictView:
    verdicts = analyse(flat(*found)).verdicts
    assert len(verdicts) == 1
    return VerdictView(verdicts[0])


class RecommendationView:
    def __init__(self, rec):
        self.rec = rec
        self.text = say.recommendation(rec)
        self.config = rec.config

    def __getattr__(self, name):
        return getattr(self.rec, name)


def only_recommendation(*found) -> RecommendationView:
    recommendations = analyse(flat(*found)).recommendations
    assert len(recommendations) == 1
    return RecommendationView(recommendations[0])
