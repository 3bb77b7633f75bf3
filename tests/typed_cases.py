"""Typed cases for the analysis tests: a small builder of `Case` values, and views of one verdict
or one recommendation with its words.

The analysis takes typed input, so its tests build `Case` values directly. Numbers are made
up to put each rule on either side of its threshold.
"""

from __future__ import annotations

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
         channels_last=False, fraction_of_peak=None, achieved_tflops=None, trust=None):
    return Case("train_step", Config(machine, device, model, batch_size), images_per_sec, amp=amp,
                channels_last=channels_last, fraction_of_peak=fraction_of_peak, achieved_tflops=achieved_tflops,
                trust=trust)


def epoch(machine, images_per_sec, device="cuda:0", model="tutorial", batch_size=4, num_workers=2,
          loader="pil", transform="tutorial", gpu_util_pct=None, fraction_of_peak=None,
          achieved_tflops=None, joules_per_epoch=None, trust=None, trust_reasons=(), rounds_spread=None,
          cpu_threads=None):
    cuda = device.startswith("cuda")
    return Case("epoch", Config(machine, device, model, batch_size, num_workers, loader, transform), images_per_sec,
                pin_memory=cuda and loader != "device", gpu_util_pct_mean=gpu_util_pct,
                full_epoch_seconds=FULL_EPOCH_IMAGES / images_per_sec, fraction_of_peak=fraction_of_peak,
                achieved_tflops=achieved_tflops, joules_per_epoch=joules_per_epoch, trust=trust,
                trust_reasons=tuple(trust_reasons), rounds_spread=rounds_spread, cpu_threads=cpu_threads)


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
