"""Stage 3a, verdicts: what limits each epoch configuration, from three measured ceilings.

Per machine, device, model and batch size the sweep measures:

- the input pipeline: `loader` cases, the images per second a DataLoader serves on its own;
- the compute: `train_step` cases in fp32 NCHW (as the epoch runs), on a device-resident batch;
- the end-to-end `epoch`, which pays for both.

`verdict` compares an epoch with its two ceilings by the rules of `VerdictThresholds` and returns a
`Verdict`: the numbers and why, as codes; `reports.page.words` puts them into sentences. No verdict
is given from an invalid measurement: an invalid epoch is not judged, an invalid ceiling is
not used (the verdict says which).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from reports.reading.cases import Case, Config


@dataclass(frozen=True)
class VerdictThresholds:
    """Every threshold of the analysis, with why it has its value.

    Verdict of an epoch configuration, with E the epoch's images/s, S the train-step ceiling
    (same machine, device, model and batch size, fp32 NCHW) and L the loader ceiling (same
    pipeline, transform, batch size and workers):

    - `input-bound`: L < loader_headroom x S and E < near_ceiling x S. The pipeline cannot
      serve clearly faster than the step consumes, and the epoch falls well short of what the
      device could do with free data: a faster pipeline is what would help.
    - `compute-bound`: E >= near_ceiling x S and L >= loader_headroom x S. The epoch runs
      near the step ceiling and the loader has spare capacity: only faster compute helps.
    - `balanced`: otherwise. Either both ceilings are close and the epoch reaches them, or
      each ceiling alone would allow more than the epoch gets: their costs add up (0 workers
      run the pipeline inside the training process; on a CPU the workers share the cores with
      the step) or copies and per-step overheads eat the difference.
    - `device` pipeline: the data set already lives on the device; its input work runs on the
      same device inside the epoch. `compute-bound` when E >= near_ceiling x S, else `balanced`.
    - `unknown`: a ceiling (or the epoch's speed) was not measured or is invalid, the epoch
      outran a ceiling by more than ceiling_unreliable, or the ceilings explain less than
      explained_share of the epoch's time.
    """

    # 10% headroom: loader and step rounds each vary by a few percent, so a loader within
    # 10% of the step ceiling cannot be told apart from one that just keeps up.
    loader_headroom: float = 1.1
    # 80%: an epoch also copies batches, computes the loss for logging and starts each step
    # from Python; reaching 80% of the bare step's rate leaves little for the input side.
    near_ceiling: float = 0.8
    # An epoch cannot beat its ceilings. More than 5% above one: the measurements disagree
    # (noise, thermal state), the ceiling is approximate; more than 25%: it was mismeasured.
    ceiling_disagreement: float = 1.05
    ceiling_unreliable: float = 1.25
    # Serving and stepping, even one after the other, explain less than half the epoch's
    # time: the ceilings do not describe the epoch.
    explained_share: float = 0.5
    # Workers "stop helping" at the smallest count serving within 10% of the best count.
    worker_plateau: float = 0.9
    # A train-step variant (bf16 autocast, channels_last) is mentioned when at least 5%
    # faster than fp32 NCHW: below that it is within the rounds' spread.
    variant_gain: float = 1.05
    # GPU busy below 50% of the epoch's samples: the GPU waits on the host for half the time.
    gpu_waiting_pct: float = 50.0
    # Two speeds whose ratio is within this much of 1 are not called different when the
    # rounds' spread is unknown (the rounds of a quiet run vary by a few percent).
    same_speed: float = 0.03
    # The in-epoch split (bench/phases.py), the primary evidence where it was recorded. W is
    # the share of the epoch spent waiting for input (the device idle between steps on CUDA),
    # C the share in forward, backward and the optimizer:
    # - input-bound when W >= phase_input_bound: a quarter of every step waiting means an
    #   input pipeline that kept up would make the epoch at least 1.33x faster;
    # - compute-bound when W < phase_compute_wait and C >= phase_compute: the device is fed
    #   and busy with the model nearly all the time (a pipeline that never made the step wait
    #   would gain at most 1.11x);
    # - balanced otherwise (some waiting, or copies and per-step overhead take a real share).
    # - launch-bound, on a GPU, instead of compute-bound or balanced, when the GPU ran kernels
    #   less than gpu_waiting_pct of the epoch (NVML): the phases are CUDA-event spans, which
    #   hold the gaps while the host issues the next kernels, so "computing" then means the
    #   host's per-step Python and kernel launches, not the GPU's arithmetic. Seen on the H200
    #   lease: the tutorial's settings (batch 4) computed 86% of each step with the GPU running
    #   kernels 9.5% of the time.
    phase_input_bound: float = 0.25
    phase_compute_wait: float = 0.10
    phase_compute: float = 0.80
    # On a CPU with DataLoader workers, an epoch that barely waits for input yet reaches less
    # than half its step ceiling runs its steps slower than they run alone: the workers and
    # torch's threads compete for the cores (the H200 host's 16 threads beside 2 workers at
    # batch 4: 8.1% of the ceiling, 4.8% input wait). Said as `slowed_step`.
    slowed_step: float = 0.5


THRESHOLDS = VerdictThresholds()


@dataclass(frozen=True)
class Verdict:
    """What limits one epoch configuration, with its evidence as numbers and reason codes.

    `verdict` is None when the epoch itself is invalid (not judged). `reasons` are codes that
    `reports.page.words` explains: not_measured, invalid_ceiling, outran, unexplained,
    device_pipeline, close_ceilings, zero_workers, shared_cores, copies, phases,
    ceilings_disagree, slowed_step. `source` says where the verdict came from: "phases" (the in-epoch split,
    with the ceilings as the cross-check in `ceiling_verdict`) or "ceilings" (older files).
    """

    config: Config
    verdict: str | None  # input-bound, launch-bound, compute-bound, balanced or unknown
    epoch: Case
    step: Case | None = None
    loader: Case | None = None
    device_input: Case | None = None  # the device pipeline alone (not a ceiling)
    loader_memory_note: str | None = None  # "pageable"/"pinned": only the other memory kind was measured
    reasons: tuple[str, ...] = field(default_factory=tuple)
    missing: tuple[str, ...] = field(default_factory=tuple)  # ceilings not measured (or invalid)
    outran: tuple[str, float] | None = None  # (ceiling name, epoch / ceiling)
    explained: float | None = None
    source: str = "ceilings"
    ceiling_verdict: str | None = None  # what the separately timed ceilings say, beside a phases verdict

    @property
    def fraction_of_ceiling(self) -> float | None:
        return self.epoch.images_per_sec / self.step.images_per_sec if self.step else None

    @property
    def loader_speed(self) -> float | None:
        return self.loader.images_per_sec if self.loader else None

    @property
    def step_speed(self) -> float | None:
        return self.step.images_per_sec if self.step else None


class Ceilings:
    """Look-ups of the train-step and loader cases an epoch configuration is compared with."""

    def __init__(self, cases: Sequence[Case]):
        self.steps: dict[tuple, list[Case]] = {}
        self.loaders: dict[tuple, list[Case]] = {}
        for case in cases:
            c = case.config
            if case.group == "train_step":
                self.steps.setdefault((c.machine, c.device, c.model, c.batch_size), []).append(case)
            elif case.group == "loader":
                self.loaders.setdefault((c.machine, c.loader, c.transform, c.batch_size), []).append(case)

    def step(self, config: Config) -> Case | None:
        """The fp32 NCHW train step (what the epoch runs), or None when not measured."""
        for case in self.steps.get((config.machine, config.device, config.model, config.batch_size), []):
            if case.fp32_nchw:
                return case
        return None

    def step_variants(self, config: Config) -> list[Case]:
        """The train steps with bf16 autocast and/or channels_last."""
        return [case for case in self.steps.get((config.machine, config.device, config.model, config.batch_size), [])
                if not case.fp32_nchw]

    def loader_cases(self, config: Config) -> tuple[list[Case], str | None]:
        """Loader cases of the epoch's pipeline per worker count, memory pinned as the epoch pins it.

        (cases, note): the note names the other memory kind when only that one was measured.
        """
        found = self.loaders.get((config.machine, config.loader, config.transform, config.batch_size), [])
        if config.loader == "device":
            return [], None
        wanted = config.cuda  # the epoch pins host memory for a GPU
        matching = [case for case in found if bool(case.pin_memory) == wanted]
        if matching or not found:
            return matching, None
        return found, "pageable" if wanted else "pinned"

    def loader(self, config: Config) -> tuple[Case | None, str | None]:
        cases, note = self.loader_cases(config)
        for case in cases:
            if case.config.num_workers == config.num_workers:
                return case, note
        return None, None

    def device_input(self, config: Config) -> Case | None:
        for case in self.loaders.get((config.machine, config.loader, config.transform, config.batch_size), []):
            if case.config.device == config.device:
                return case
        return None


def verdict(epoch: Case, ceilings: Ceilings, thresholds: VerdictThresholds = THRESHOLDS) -> Verdict:
    """The verdict of one epoch case: from its in-epoch split where recorded, the ceilings cross-checking."""
    from_ceilings = ceiling_verdict(epoch, ceilings, thresholds)
    wait, compute = epoch.wait_share, epoch.compute_share
    if from_ceilings.verdict is None or wait is None or compute is None:
        return from_ceilings
    if wait >= thresholds.phase_input_bound:
        found = "input-bound"
    elif (epoch.config.cuda and epoch.gpu_util_pct_mean is not None
          and epoch.gpu_util_pct_mean < thresholds.gpu_waiting_pct):
        found = "launch-bound"
    elif wait < thresholds.phase_compute_wait and compute >= thresholds.phase_compute:
        found = "compute-bound"
    else:
        found = "balanced"
    reasons = ["phases"]
    if from_ceilings.verdict not in (found, "unknown") and found != "launch-bound":  # no ceiling tells it
        reasons.append("ceilings_disagree")
    fraction = from_ceilings.fraction_of_ceiling
    if (found != "input-bound" and not epoch.config.cuda and (epoch.config.num_workers or 0) > 0
            and fraction is not None and fraction < thresholds.slowed_step):
        reasons.append("slowed_step")
    return replace(from_ceilings, verdict=found, reasons=tuple(reasons), source="phases",
                   ceiling_verdict=from_ceilings.verdict)


def ceiling_verdict(epoch: Case, ceilings: Ceilings, thresholds: VerdictThresholds = THRESHOLDS) -> Verdict:
    """The verdict from the separately timed ceilings alone (see `VerdictThresholds`)."""
    config = epoch.config
    if epoch.invalid:
        return Verdict(config, None, epoch, reasons=("invalid_epoch",))
    step = ceilings.step(config)
    loader, note = (None, None) if config.loader == "device" else ceilings.loader(config)
    device_input = ceilings.device_input(config) if config.loader == "device" else None
    base = dict(config=config, epoch=epoch, step=step, loader=loader, device_input=device_input,
                loader_memory_note=note)
    missing = []
    if step is None or step.invalid:
        missing.append("step_invalid" if step is not None else "step")
    if config.loader != "device" and (loader is None or loader.invalid):
        missing.append("loader_invalid" if loader is not None else "loader")
    if missing:
        return Verdict(**base, verdict="unknown", reasons=("not_measured",), missing=tuple(missing))
    speed = epoch.images_per_sec
    for name, ceiling in (("train-step", step), ("loader", loader)):
        if ceiling is not None and speed > thresholds.ceiling_unreliable * ceiling.images_per_sec:
            return Verdict(**base, verdict="unknown", reasons=("outran",),
                           outran=(name, speed / ceiling.images_per_sec))
    input_case = device_input if config.loader == "device" else loader
    explained = None
    if input_case is not None:
        explained = speed / step.images_per_sec + speed / input_case.images_per_sec
        if explained < thresholds.explained_share:
            return Verdict(**base, verdict="unknown", reasons=("unexplained",), explained=explained)
    near = speed >= thresholds.near_ceiling * step.images_per_sec
    if config.loader == "device":
        return Verdict(**base, verdict="compute-bound" if near else "balanced", reasons=("device_pipeline",),
                       explained=explained)
    headroom = loader.images_per_sec >= thresholds.loader_headroom * step.images_per_sec
    if not headroom and not near:
        return Verdict(**base, verdict="input-bound", explained=explained)
    if headroom and near:
        return Verdict(**base, verdict="compute-bound", explained=explained)
    if not headroom:
        return Verdict(**base, verdict="balanced", reasons=("close_ceilings",), explained=explained)
    why = "zero_workers" if config.num_workers == 0 else "shared_cores" if not config.cuda else "copies"
    return Verdict(**base, verdict="balanced", reasons=(why,), explained=explained)


def verdicts(cases: Sequence[Case], thresholds: VerdictThresholds = THRESHOLDS) -> list[Verdict]:
    """The verdict of every epoch case, in the order given."""
    ceilings = Ceilings(cases)
    return [verdict(case, ceilings, thresholds) for case in cases if case.group == "epoch"]
