"""Stage 3b, diagnosis: the tidy DataFrame -> what limits each machine, what to run, what it costs.

Three measured ceilings meet here, per machine, device, model and batch size:

- the input pipeline: `loader` rows, the images per second a DataLoader serves on its own;
- the compute: `train_step` rows in fp32 NCHW (as the epoch runs), on a device-resident batch;
- the end-to-end `epoch`, which pays for both.

From them: a verdict per epoch configuration (`verdicts`), the best measured configuration
per machine, device and model with what it gains over the tutorial's own settings
(`recommendations`), the cost per epoch where a price is known (`costs`), and one paragraph
per machine in plain words. Nothing that was not measured is recommended or claimed; where
the sweep was too small to tell, the text says so. Numbers stay unrounded in the frames and
are rounded only in the text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from reports.prices import TABLE, prices_from_document
from reports.tidy import FULL_EPOCH_IMAGES

# The tutorial's own DataLoader and batch settings (pytorch.org's "Training a Classifier").
TUTORIAL_SETTINGS = {"batch_size": 4, "num_workers": 2, "loader": "pil"}


@dataclass(frozen=True)
class Thresholds:
    """Every threshold the diagnosis uses, with why it has its value.

    Verdict of an epoch configuration, with E the epoch's images/s, S the train-step ceiling
    (same machine, device, model and batch size, fp32 NCHW) and L the loader ceiling (same
    pipeline, transform, batch size and workers):

    - `input-bound`: L < loader_headroom x S and E < near_ceiling x S. The pipeline cannot
      serve clearly faster than the step consumes, and the epoch falls well short of what the
      device could do with free data: a faster pipeline is what would help.
    - `compute-bound`: E >= near_ceiling x S and L >= loader_headroom x S. The epoch runs
      near the step ceiling and the loader has spare capacity: only faster compute helps.
    - `balanced`: otherwise. Either both ceilings are close and the epoch reaches them
      (speeding up one alone gains little), or each ceiling alone would allow more than the
      epoch gets: their costs add up (0 workers run the pipeline inside the training process;
      on a CPU the workers share the cores with the step) or copies and per-step overheads
      eat the difference.
    - `device` pipeline: the data set already lives on the device, so there is no separate
      loader ceiling; its input work (indexing, batched transforms) runs on the same device
      inside the epoch. `compute-bound` when E >= near_ceiling x S, else `balanced`.
    - `unknown`: a ceiling (or the epoch's speed) was not measured, the epoch outran a ceiling
      by more than ceiling_unreliable (so that ceiling is wrong), or the ceilings explain less
      than explained_share of the epoch's time; the evidence says which.

    Checked in this order: not measured, outran, unexplained, then the rules above.
    """

    # 10% headroom: loader and step rounds each vary by a few percent, so a loader within
    # 10% of the step ceiling cannot be told apart from one that just keeps up.
    loader_headroom: float = 1.1
    # 80%: an epoch also copies batches, computes the loss for logging and starts each step
    # from Python; reaching 80% of the bare step's rate leaves little for the input side.
    near_ceiling: float = 0.8
    # An epoch does the step's work plus its input, so it cannot beat its ceilings. More than
    # 5% above one: the measurements disagree (noise, thermal state) and the text says the
    # ceiling is approximate; more than 25% above: the ceiling was mismeasured -> `unknown`.
    ceiling_disagreement: float = 1.05
    ceiling_unreliable: float = 1.25
    # If serving and stepping, even run one after the other (their times added), account for
    # less than half the epoch's time, the ceilings do not describe the epoch -> `unknown`.
    explained_share: float = 0.5
    # Workers "stop helping" at the smallest count serving within 10% of the best count:
    # beyond it, each worker costs a process and memory for at most 10% more images/s.
    worker_plateau: float = 0.9
    # A train-step variant (bf16 autocast, channels_last) is mentioned when at least 5%
    # faster than fp32 NCHW: below that it is within the rounds' spread.
    variant_gain: float = 1.05
    # GPU busy below 50% of the epoch's samples: the GPU waits on the host for half the time.
    gpu_waiting_pct: float = 50.0


THRESHOLDS = Thresholds()

VERDICT_COLUMNS = ["machine", "device", "model", "batch_size", "num_workers", "loader", "verdict",
                   "fraction_of_ceiling", "evidence", "transform", "epoch_images_per_sec",
                   "step_images_per_sec", "loader_images_per_sec", "gpu_util_pct_mean", "fraction_of_peak"]
RECOMMENDATION_COLUMNS = ["machine", "device", "model", "batch_size", "num_workers", "loader", "transform",
                          "images_per_sec", "full_epoch_seconds", "full_epoch_projected", "verdict",
                          "fraction_of_peak", "step_fraction_of_peak", "tutorial_images_per_sec", "speedup_vs_tutorial",
                          "worker_plateau", "step_variant", "step_variant_speedup", "text"]
COST_COLUMNS = ["model", "machine", "device", "batch_size", "num_workers", "loader", "full_epoch_seconds",
                "full_epoch_projected", "price_per_hour", "price_source", "cost_per_epoch",
                "images_per_cost_unit", "joules_per_epoch", "time_rank", "cost_rank"]

COST_CHART_TITLE = "Cost against time per epoch"
COST_CHART_CAPTION = ("Each point is a machine's fastest measured epoch configuration for a model and device; "
                      "lower left is faster and cheaper.")
FIGURE_SIZE_IN = (9.0, 5.5)


@dataclass
class Diagnosis:
    """What limits each machine, what to run on it, and what an epoch costs.

    `charts` holds (title, one-sentence caption, figure or None, reason when None; "" else).
    `reason` says why everything is empty (no cifarbench epoch rows), else None.
    """

    summary_paragraphs: list[str]
    verdicts: pd.DataFrame
    recommendations: pd.DataFrame
    costs: pd.DataFrame | None
    charts: list[tuple[str, str, Figure | None, str]]
    reason: str | None = None


def diagnose(df: pd.DataFrame, prices: dict[str, float] | None = None,
             thresholds: Thresholds = THRESHOLDS) -> Diagnosis:
    """The diagnosis of a tidy frame; `prices` (label -> per hour) override the runs' prices."""
    rows = _our_rows(df)
    epochs = [row for row in rows if row["group"] == "epoch"]
    if not epochs:
        reason = ("no cifarbench epoch case in the results: the verdicts, recommendations and costs "
                  "need end-to-end epoch measurements")
        return Diagnosis(
            summary_paragraphs=[], verdicts=pd.DataFrame(columns=VERDICT_COLUMNS),
            recommendations=pd.DataFrame(columns=RECOMMENDATION_COLUMNS), costs=None,
            charts=[(COST_CHART_TITLE, COST_CHART_CAPTION, None, reason)], reason=reason,
        )
    ceilings = _Ceilings(rows)
    verdict_rows = [_verdict(row, ceilings, thresholds) for row in epochs]
    verdict_frame = pd.DataFrame(verdict_rows, columns=VERDICT_COLUMNS)
    recommendation_rows = _recommendations(rows, ceilings, verdict_rows, thresholds)
    recommendation_frame = pd.DataFrame(recommendation_rows, columns=RECOMMENDATION_COLUMNS)
    cost_frame = costs(pd.DataFrame(epochs), machine_prices(df, prices))
    return Diagnosis(
        summary_paragraphs=_paragraphs(rows, recommendation_rows, cost_frame, thresholds),
        verdicts=verdict_frame,
        recommendations=recommendation_frame,
        costs=cost_frame,
        charts=[cost_chart(cost_frame)],
    )


# --- the input: our rows as plain dicts --------------------------------------------------------


def _our_rows(df: pd.DataFrame) -> list[dict]:
    """cifarbench's rows with a speed, as dicts (frames are small: hundreds of rows)."""
    if df is None or df.empty or "group" not in df.columns:
        return []
    records = df.to_dict("records")
    rows = []
    for record in records:
        if "cifarbench" in record and not _true(record["cifarbench"]):
            continue
        if _number(record.get("images_per_sec")) is None:
            continue
        rows.append(record)
    return rows


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _number(value: object) -> float | None:
    """A finite float, or None for NaN/None/non-numbers."""
    if _missing(value) or isinstance(value, bool | str):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _nan_if_none(number: float | None) -> float:
    return math.nan if number is None else number


def _int(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _text(value: object) -> str | None:
    return None if _missing(value) else str(value)


def _true(value: object) -> bool:
    """True for True (numpy's too); False for False, None and NaN."""
    return not _missing(value) and bool(value)


def _is_cuda(row: dict) -> bool:
    kind = _text(row.get("device_kind"))
    device = _text(row.get("device")) or ""
    return kind == "cuda" if kind else device.startswith("cuda")


# --- the ceilings --------------------------------------------------------------------------------


class _Ceilings:
    """Look-ups of the train-step and loader rows an epoch configuration is compared with."""

    def __init__(self, rows: list[dict]):
        self.steps: dict[tuple, list[dict]] = {}
        self.loaders: dict[tuple, list[dict]] = {}
        for row in rows:
            if row["group"] == "train_step":
                key = (row["machine"], _text(row.get("device")), _text(row.get("model")),
                       _int(row.get("batch_size")))
                self.steps.setdefault(key, []).append(row)
            elif row["group"] == "loader":
                key = (row["machine"], _text(row.get("loader")), _text(row.get("transform")),
                       _int(row.get("batch_size")))
                self.loaders.setdefault(key, []).append(row)

    def step(self, machine, device, model, batch_size) -> dict | None:
        """The fp32 NCHW train step (what the epoch runs), or None when not measured."""
        for row in self.steps.get((machine, device, model, batch_size), []):
            if not _true(row.get("amp")) and not _true(row.get("channels_last")):
                return row
        return None

    def step_variants(self, machine, device, model, batch_size) -> list[dict]:
        """The train steps with bf16 autocast and/or channels_last."""
        return [row for row in self.steps.get((machine, device, model, batch_size), [])
                if _true(row.get("amp")) or _true(row.get("channels_last"))]

    def loader_rows(self, machine, loader, transform, batch_size, cuda: bool) -> tuple[list[dict], str | None]:
        """Loader rows per worker count, pinned memory as the epoch uses it where measured.

        Returns (rows, note): the note says when only the other kind of memory was measured.
        """
        rows = self.loaders.get((machine, loader, transform, batch_size), [])
        wanted = cuda and loader != "device"  # the epoch pins host memory for a GPU
        matching = [row for row in rows if _true(row.get("pin_memory")) == wanted]
        if matching or not rows:
            return matching, None
        kind = "pageable" if wanted else "pinned"
        return rows, f"loader measured with {kind} memory only"

    def loader(self, machine, loader, transform, batch_size, workers, cuda: bool) -> tuple[dict | None, str | None]:
        rows, note = self.loader_rows(machine, loader, transform, batch_size, cuda)
        for row in rows:
            if _int(row.get("num_workers")) == workers:
                return row, note
        return None, None


# --- verdicts ------------------------------------------------------------------------------------


def _verdict(epoch: dict, ceilings: _Ceilings, thresholds: Thresholds) -> dict:
    machine, device, model = epoch["machine"], _text(epoch.get("device")), _text(epoch.get("model"))
    batch_size, workers = _int(epoch.get("batch_size")), _int(epoch.get("num_workers"))
    loader, transform = _text(epoch.get("loader")), _text(epoch.get("transform"))
    cuda = _is_cuda(epoch)
    epoch_speed = _number(epoch.get("images_per_sec"))
    step = ceilings.step(machine, device, model, batch_size)
    step_speed = _number(step.get("images_per_sec")) if step else None
    loader_row, loader_note = (None, None)
    if loader != "device":
        loader_row, loader_note = ceilings.loader(machine, loader, transform, batch_size, workers, cuda)
    loader_speed = _number(loader_row.get("images_per_sec")) if loader_row else None
    device_input_speed = None
    if loader == "device":
        # Not a ceiling (its work shares the device with the step), but its cost is worth showing.
        alone = [row for row in ceilings.loaders.get((machine, loader, transform, batch_size), [])
                 if _text(row.get("device")) == device]
        if alone:
            device_input_speed = _number(alone[0]["images_per_sec"])
            loader_note = f"the device pipeline alone serves {_rate(device_input_speed)} on {device}"
    gpu_busy_pct = _number(epoch.get("gpu_util_pct_mean")) if cuda else None

    fraction = epoch_speed / step_speed if step_speed else None
    verdict, reasons = _classify(loader, epoch_speed, step_speed, loader_speed, device_input_speed, workers, cuda,
                                 thresholds)
    evidence = _evidence(reasons, epoch, fraction, step_speed, loader_speed, loader_note,
                         gpu_busy_pct, thresholds)
    return {
        "machine": machine, "device": device, "model": model, "batch_size": batch_size,
        "num_workers": workers, "loader": loader, "verdict": verdict,
        "fraction_of_ceiling": math.nan if fraction is None else fraction, "evidence": evidence,
        "transform": transform, "epoch_images_per_sec": epoch_speed,
        "step_images_per_sec": math.nan if step_speed is None else step_speed,
        "loader_images_per_sec": math.nan if loader_speed is None else loader_speed,
        "gpu_util_pct_mean": math.nan if gpu_busy_pct is None else gpu_busy_pct,
        "fraction_of_peak": _nan_if_none(_number(epoch.get("fraction_of_peak"))),
        "reasons": reasons,  # for the summary paragraph; not a column of the verdicts table
    }


def _classify(loader, epoch_speed, step_speed, loader_speed, device_input_speed, workers, cuda,
              thresholds: Thresholds) -> tuple[str, list[str]]:
    """(verdict, reasons): the rules of `Thresholds`, in words for the evidence."""
    missing = []
    if epoch_speed is None:
        missing.append("the epoch's speed")
    if step_speed is None:
        missing.append("the train-step ceiling (fp32, this batch size)")
    if loader != "device" and loader_speed is None:
        missing.append("the loader ceiling (this pipeline, batch size and worker count)")
    if missing:
        return "unknown", [f"not measured: {' and '.join(missing)}"]
    for name, speed in (("train-step", step_speed), ("loader", loader_speed)):
        if speed is not None and epoch_speed > thresholds.ceiling_unreliable * speed:
            return "unknown", [f"the epoch ran {_times(epoch_speed / speed)} faster than its {name} ceiling, "
                               "which it cannot do: that ceiling was mismeasured (another busy process, "
                               "throttling?); measure again"]
    input_speed = device_input_speed if loader == "device" else loader_speed
    if input_speed is not None:
        explained = epoch_speed / step_speed + epoch_speed / input_speed
        if explained < thresholds.explained_share:
            return "unknown", [f"even one after the other, serving and stepping explain only {_pct(explained)} of "
                               "the epoch's time: something not measured here dominates (other processes, "
                               "host-device copies, per-step overheads)"]
    near = epoch_speed >= thresholds.near_ceiling * step_speed
    if loader == "device":
        reason = ("no separate loader ceiling: the data set lives on the device and its input work "
                  "runs there, inside the epoch")
        if near:
            return "compute-bound", [reason]
        return "balanced", [reason + "; that input work and per-step overheads take the rest of the time"]
    headroom = loader_speed >= thresholds.loader_headroom * step_speed
    if not headroom and not near:
        return "input-bound", []
    if headroom and near:
        return "compute-bound", []
    if not headroom:
        return "balanced", ["loader and step ceilings are within "
                            f"{_pct(thresholds.loader_headroom - 1)} of each other and the epoch reaches them"]
    if workers == 0:
        why = "with 0 workers the pipeline runs inside the training process, so its time adds to the step's"
    elif not cuda:
        why = "on the CPU the loader's workers share the cores with the step"
    else:
        why = "host-to-device copies and per-step overheads take the difference"
    input_share = epoch_speed / loader_speed  # the epoch's time the loader alone would take
    return "balanced", [f"each ceiling alone would allow more: serving alone would take {_pct(input_share)} "
                        f"of the epoch's time and the step {_pct(epoch_speed / step_speed)}; {why}"]


def _evidence(reasons, epoch, fraction, step_speed, loader_speed, loader_note, gpu_busy_pct,
              thresholds: Thresholds) -> str:
    batch_size = _int(epoch.get("batch_size"))
    parts = []
    if gpu_busy_pct is not None:
        waiting = " (waiting on the host)" if gpu_busy_pct < thresholds.gpu_waiting_pct else ""
        parts.append(f"GPU busy {gpu_busy_pct:.0f}%{waiting}")
    if loader_speed is not None and step_speed is not None:
        parts.append(f"loader {_rate(loader_speed)} against a {_rate(step_speed)} step ceiling "
                     f"at batch {batch_size}")
    elif step_speed is not None:
        parts.append(f"step ceiling {_rate(step_speed)} at batch {batch_size}")
    elif loader_speed is not None:
        parts.append(f"loader {_rate(loader_speed)} at batch {batch_size}")
    epoch_speed = _number(epoch.get("images_per_sec"))
    if epoch_speed is not None:
        reached = f", {_pct(fraction)} of the step ceiling" if fraction is not None else ""
        parts.append(f"epoch {_rate(epoch_speed)}{reached}")
    if fraction is not None and thresholds.ceiling_disagreement < fraction <= thresholds.ceiling_unreliable:
        parts.append("the epoch outran its step ceiling, so the ceiling is approximate")
    if loader_note:
        parts.append(loader_note)
    parts.extend(reasons)
    return "; ".join(parts)


# --- recommendations -------------------------------------------------------------------------------


def _recommendations(rows, ceilings: _Ceilings, verdicts: list[dict], thresholds: Thresholds) -> list[dict]:
    """One row per machine, device and model with an epoch or a train step measured."""
    epochs: dict[tuple, list[dict]] = {}
    steps_only: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["machine"], _text(row.get("device")), _text(row.get("model")))
        if row["group"] == "epoch":
            epochs.setdefault(key, []).append(row)
        elif row["group"] == "train_step":
            steps_only.setdefault(key, []).append(row)
    verdict_of = {(v["machine"], v["device"], v["model"], v["batch_size"], v["num_workers"], v["loader"],
                   v["transform"]): v for v in verdicts}
    out = [_recommend(key, candidates, ceilings, verdict_of, thresholds) for key, candidates in epochs.items()]
    for key, steps in steps_only.items():
        if key in epochs:
            continue
        best = max(steps, key=lambda row: row["images_per_sec"])
        out.append(_empty_recommendation(*key, text=(
            f"No epoch was measured for {key[2]} on {key[0]} {key[1]}: nothing to recommend. "
            f"Its train step peaks at {_rate(best['images_per_sec'])} (batch {_int(best.get('batch_size'))}, "
            "no input pipeline).")))
    return sorted(out, key=lambda row: (row["machine"], str(row["device"]), str(row["model"])))


def _empty_recommendation(machine, device, model, text) -> dict:
    row = dict.fromkeys(RECOMMENDATION_COLUMNS, math.nan)
    row.update(machine=machine, device=device, model=model, text=text, loader=None, transform=None,
               verdict=None, step_variant=None)
    return row


def _recommend(key, candidates, ceilings: _Ceilings, verdict_of, thresholds: Thresholds) -> dict:
    machine, device, model = key
    best = max(candidates, key=lambda row: row["images_per_sec"])
    batch_size, workers = _int(best.get("batch_size")), _int(best.get("num_workers"))
    loader, transform = _text(best.get("loader")), _text(best.get("transform"))
    speed = best["images_per_sec"]
    verdict = verdict_of.get((machine, device, model, batch_size, workers, loader, transform), {})
    cuda = _is_cuda(best)
    seconds = _number(best.get("full_epoch_seconds"))
    projected = _true(best.get("full_epoch_projected"))

    sentences = [f"Fastest measured epoch: {_config(batch_size, workers, loader)}, {_rate(speed)}"
                 + (f" ({_seconds(seconds)} per {FULL_EPOCH_IMAGES:,}-image epoch"
                    f"{', projected' if projected else ''})" if seconds is not None else "") + "."]

    tutorial = _tutorial_row(candidates, transform)
    tutorial_speed = tutorial["images_per_sec"] if tutorial else None
    speedup = speed / tutorial_speed if tutorial_speed else None
    if tutorial is None:
        sentences.append("The tutorial's own settings (batch 4, 2 workers, pil) were not measured here, "
                         "so no speed-up over them is claimed.")
    elif tutorial is best:
        sentences.append("That is the tutorial's own setting (batch 4, 2 workers, pil).")
    else:
        sentences.append(f"{_times(speedup)} the tutorial's own settings (batch 4, 2 workers, pil: "
                         f"{_rate(tutorial_speed)}).")

    if verdict:
        sentences.append(f"It is {verdict['verdict']}: {verdict['evidence']}.")

    plateau, plateau_text = _worker_plateau(ceilings, machine, loader, transform, batch_size, cuda, thresholds)
    sentences.append(plateau_text)

    variant, variant_speedup, variant_text = _step_variant(ceilings, machine, device, model, batch_size,
                                                           verdict.get("verdict"), thresholds)
    if variant_text:
        sentences.append(variant_text)

    fraction_of_peak = _number(best.get("fraction_of_peak"))
    achieved_tflops = _number(best.get("achieved_tflops"))
    step = ceilings.step(machine, device, model, batch_size)
    step_fraction_of_peak = _number(step.get("fraction_of_peak")) if step else None
    step_tflops = _number(step.get("achieved_tflops")) if step else None
    if fraction_of_peak is not None and achieved_tflops is not None:
        sentence = (f"The epoch achieves {_tflops(achieved_tflops)}, {_pct(fraction_of_peak)} of the "
                    "machine's measured fp32 matmul peak")
        if step_fraction_of_peak is not None and step_tflops is not None:
            sentence += f"; the bare train step {_tflops(step_tflops)}, {_pct(step_fraction_of_peak)}"
        sentences.append(sentence + ".")
    if batch_size is not None and batch_size != TUTORIAL_SETTINGS["batch_size"]:
        sentences.append(f"Batch size changes the optimisation, not only the speed: at the same learning rate "
                         f"batch {batch_size} takes {math.ceil(FULL_EPOCH_IMAGES / batch_size):,} steps per "
                         f"epoch instead of {FULL_EPOCH_IMAGES // TUTORIAL_SETTINGS['batch_size']:,}.")
    return {
        "machine": machine, "device": device, "model": model, "batch_size": batch_size,
        "num_workers": workers, "loader": loader, "transform": transform, "images_per_sec": speed,
        "full_epoch_seconds": math.nan if seconds is None else seconds, "full_epoch_projected": projected,
        "verdict": verdict.get("verdict"), "fraction_of_peak": _nan_if_none(fraction_of_peak),
        "step_fraction_of_peak": _nan_if_none(step_fraction_of_peak),
        "tutorial_images_per_sec": math.nan if tutorial_speed is None else tutorial_speed,
        "speedup_vs_tutorial": math.nan if speedup is None else speedup,
        "worker_plateau": math.nan if plateau is None else plateau,
        "step_variant": variant, "step_variant_speedup": math.nan if variant_speedup is None else variant_speedup,
        "text": " ".join(sentences),
        # For the summary paragraph; not columns of the recommendations table.
        "verdict_row": verdict, "is_tutorial": tutorial is best,
    }


def _tutorial_row(candidates: list[dict], transform: str | None) -> dict | None:
    """The epoch at the tutorial's settings (same transform as compared with), if measured."""
    for row in candidates:
        if (_int(row.get("batch_size")) == TUTORIAL_SETTINGS["batch_size"]
                and _int(row.get("num_workers")) == TUTORIAL_SETTINGS["num_workers"]
                and _text(row.get("loader")) == TUTORIAL_SETTINGS["loader"]
                and _text(row.get("transform")) == transform):
            return row
    return None


def _worker_plateau(ceilings: _Ceilings, machine, loader, transform, batch_size, cuda,
                    thresholds: Thresholds) -> tuple[int | None, str]:
    """(worker count beyond which the loader stops helping, or None; the sentence saying so)."""
    if loader == "device":
        return None, "The device pipeline uses no DataLoader workers."
    rows, note = ceilings.loader_rows(machine, loader, transform, batch_size, cuda)
    speeds: dict[int, float] = {}
    for row in rows:
        workers = _int(row.get("num_workers"))
        if workers is not None:
            speeds[workers] = max(speeds.get(workers, 0.0), row["images_per_sec"])
    where = f"the {loader} loader at batch {batch_size}"
    if len(speeds) < 2:
        measured = f"only {next(iter(speeds))} workers measured" if speeds else "no loader case measured"
        return None, f"The sweep was too small to tell where more workers stop helping {where} ({measured})."
    best_workers = max(speeds, key=speeds.get)
    plateau = min(workers for workers, speed in speeds.items()
                  if speed >= thresholds.worker_plateau * speeds[best_workers])
    caveat = f" ({note})" if note else ""
    others = ", ".join(f"{workers}: {_rate(speed)}" for workers, speed in sorted(speeds.items()))
    if plateau == max(speeds):
        return plateau, (f"{where.capitalize()} still gains up to the largest worker count measured, {plateau} "
                         f"({others}){caveat}: the sweep was too small to tell where more workers stop helping.")
    within = _pct(1 - thresholds.worker_plateau)
    if plateau == min(speeds):
        return plateau, (f"More workers do not help {where}: {plateau} already serve within {within} of the best "
                         f"measured ({others}){caveat}.")
    return plateau, (f"More workers stop helping {where} beyond {plateau}: it serves within {within} of the best "
                     f"measured ({others}){caveat}.")


def _step_variant(ceilings: _Ceilings, machine, device, model, batch_size, verdict,
                  thresholds: Thresholds) -> tuple[str | None, float | None, str | None]:
    """The fastest train-step variant (bf16 autocast / channels_last) clearly above fp32 NCHW."""
    base = ceilings.step(machine, device, model, batch_size)
    if base is None:
        return None, None, None
    faster = [row for row in ceilings.step_variants(machine, device, model, batch_size)
              if row["images_per_sec"] >= thresholds.variant_gain * base["images_per_sec"]]
    if not faster:
        return None, None, None
    top = max(faster, key=lambda row: row["images_per_sec"])
    parts = [name for flag, name in (("amp", "bf16 autocast"), ("channels_last", "channels_last"))
             if _true(top.get(flag))]
    variant = " and ".join(parts)
    speedup = top["images_per_sec"] / base["images_per_sec"]
    text = (f"train_step measured {_times(speedup)} faster with {variant} at batch {batch_size} "
            f"({_rate(top['images_per_sec'])} against {_rate(base['images_per_sec'])} in fp32); the epoch "
            "was measured in fp32 only, so its gain is not known")
    if verdict == "input-bound":
        text += ", and while input-bound it would gain little"
    return variant, speedup, text + "."  # "train_step" is a group name: it keeps its lower case


# --- prices and costs ------------------------------------------------------------------------------


def machine_prices(df: pd.DataFrame, prices: dict[str, float] | None = None) -> dict[str, tuple[float, str]]:
    """machine -> (price per hour, where it came from): the prices file overrides the run's."""
    found: dict[str, tuple[float, str]] = {}
    if df is not None and not df.empty and {"machine", "price_per_hour"} <= set(df.columns):
        for machine, price in zip(df["machine"], df["price_per_hour"], strict=True):
            price = _number(price)
            if price is not None and machine not in found:
                found[machine] = (price, "run")
    for machine, price in _checked_prices(prices).items():
        found[machine] = (price, "prices file")
    return found


def _checked_prices(prices: dict | None) -> dict[str, float]:
    """`prices` checked as `load_prices` checks a file; a parsed file's whole document works too."""
    if not prices:
        return {}
    if isinstance(prices.get(TABLE), dict):  # the TOML document itself, [prices] table inside
        return prices_from_document(prices, "prices")
    return prices_from_document({TABLE: prices}, "prices")


def costs(epochs: pd.DataFrame, prices: dict[str, tuple[float, str]]) -> pd.DataFrame | None:
    """Per machine, device and model, the fastest measured epoch's time and cost, ranked.

    None when no machine of `epochs` has a price. `time_rank` and `cost_rank` (1 = best) rank
    the machine-device pairs within each model; machines without a price have no cost rank.
    """
    if epochs.empty or not any(machine in prices for machine in epochs["machine"].unique()):
        return None
    rows = []
    for (machine, device, model), group in epochs.groupby(["machine", "device", "model"], sort=True):
        best = group.loc[group["images_per_sec"].idxmax()].to_dict()
        seconds = _number(best.get("full_epoch_seconds"))
        if seconds is None:
            seconds = FULL_EPOCH_IMAGES / best["images_per_sec"]
        price, source = prices.get(machine, (math.nan, None))
        cost = price / 3600 * seconds if not math.isnan(price) else math.nan
        rows.append({
            "model": model, "machine": machine, "device": device,
            "batch_size": _int(best.get("batch_size")), "num_workers": _int(best.get("num_workers")),
            "loader": _text(best.get("loader")), "full_epoch_seconds": seconds,
            "full_epoch_projected": _true(best.get("full_epoch_projected")),
            "price_per_hour": price, "price_source": source, "cost_per_epoch": cost,
            "images_per_cost_unit": FULL_EPOCH_IMAGES / cost if cost and not math.isnan(cost) else math.nan,
            "joules_per_epoch": _nan_if_none(_number(best.get("joules_per_epoch"))),
        })
    frame = pd.DataFrame(rows, columns=[column for column in COST_COLUMNS if column not in ("time_rank",
                                                                                            "cost_rank")])
    by_model = frame.groupby("model", sort=False)
    frame["time_rank"] = by_model["full_epoch_seconds"].rank(method="min")
    frame["cost_rank"] = by_model["cost_per_epoch"].rank(method="min")
    return frame.sort_values(["model", "time_rank", "machine", "device"], kind="stable").reset_index(drop=True)


def cost_chart(cost_frame: pd.DataFrame | None) -> tuple[str, str, Figure | None, str]:
    """Cost per epoch against time per epoch, one point per machine, device and model.

    (title, caption, figure, "") or (title, caption, None, reason). Nothing is saved.
    """
    if cost_frame is None:
        return (COST_CHART_TITLE, COST_CHART_CAPTION, None,
                "no price known: give --bench-price-per-hour to the sweep or a prices file to the report")
    priced = cost_frame[cost_frame["cost_per_epoch"].notna()]
    if priced.empty:
        return COST_CHART_TITLE, COST_CHART_CAPTION, None, "no machine with a price has an epoch measured"
    figure = Figure(figsize=FIGURE_SIZE_IN, layout="constrained")
    axes = figure.add_subplot()
    markers = {model: "osD^v<>p*h"[index % 10] for index, model in enumerate(sorted(priced["model"].unique()))}
    colors = {machine: f"C{index % 10}" for index, machine in enumerate(sorted(priced["machine"].unique()))}
    for (machine, model), group in priced.groupby(["machine", "model"], sort=True):
        axes.scatter(group["full_epoch_seconds"], group["cost_per_epoch"], s=60, color=colors[machine],
                     marker=markers[model], label=f"{machine} · {model}")
        for _, row in group.iterrows():
            axes.annotate(str(row["device"]), (row["full_epoch_seconds"], row["cost_per_epoch"]),
                          textcoords="offset points", xytext=(6, 4), fontsize=8)
    for column, set_scale in (("full_epoch_seconds", axes.set_xscale), ("cost_per_epoch", axes.set_yscale)):
        values = priced[column][priced[column] > 0]
        if len(values) > 1 and values.max() / values.min() > 10:  # a wide range reads better on log axes
            set_scale("log")
    axes.set_xlabel("time per 50,000-image epoch (s)")
    axes.set_ylabel("cost per epoch (price's currency)")
    axes.legend(title="machine · model", loc="best")
    return COST_CHART_TITLE, COST_CHART_CAPTION, figure, ""


# --- the summary paragraphs ------------------------------------------------------------------------


def _paragraphs(rows, recommendations: list[dict], cost_frame: pd.DataFrame | None,
                thresholds: Thresholds) -> list[str]:
    """One paragraph per machine: what limits it, the best config, gains, peak, cost."""
    paragraphs = []
    for machine in dict.fromkeys(row["machine"] for row in rows):
        first = next(row for row in rows if row["machine"] == machine)
        parts = [_machine_header(machine, first)]
        parts += [_paragraph_part(rec, cost_frame, thresholds) for rec in recommendations
                  if rec["machine"] == machine]
        if len(parts) == 1:
            parts.append("No epoch or train step was measured here, only the input pipeline.")
        paragraphs.append(" ".join(parts))
    return paragraphs


def _machine_header(machine: str, row: dict) -> str:
    facts = []
    brand = _text(row.get("cpu_brand"))
    threads = _int(row.get("cpu_threads"))
    if brand:
        facts.append(brand + (f", {threads} CPU thread{'s' if threads != 1 else ''}" if threads else ""))
    gpu = _text(row.get("gpu_name"))
    facts.append(gpu if gpu else "no GPU")
    return f"{machine} ({'; '.join(facts)}):"


def _paragraph_part(rec: dict, cost_frame: pd.DataFrame | None, thresholds: Thresholds) -> str:
    where = f"the {rec['model']} model on {rec['device']}"
    if _missing(rec.get("batch_size")):
        return f"For {where}, no epoch was measured, so there is nothing to recommend."
    speed = rec["images_per_sec"]
    seconds = _number(rec.get("full_epoch_seconds"))
    config = _config(_int(rec["batch_size"]), _int(rec["num_workers"]), rec["loader"])
    text = f"For {where}, the fastest measured epoch is {config} at {_rate(speed)}"
    if seconds is not None:
        text += f" ({_seconds(seconds)} per epoch{', projected' if rec['full_epoch_projected'] else ''})"
    speedup = _number(rec.get("speedup_vs_tutorial"))
    if speedup is None:
        text += "; the tutorial's own settings were not measured"
    elif rec.get("is_tutorial"):
        text += ", which is the tutorial's own setting"
    else:
        text += f", {_times(speedup)} the tutorial's own settings"
    text += ". " + _limit_sentence(rec.get("verdict_row") or {}, thresholds)
    peak = _number(rec.get("fraction_of_peak"))
    if peak is not None:
        step_peak = _number(rec.get("step_fraction_of_peak"))
        bare = f" (the bare train step {_pct(step_peak)})" if step_peak is not None else ""
        text += f" It uses {_pct(peak)} of the machine's measured fp32 matmul peak{bare}."
    if rec.get("step_variant"):
        text += (f" train_step measured {_times(rec['step_variant_speedup'])} faster with "
                 f"{rec['step_variant']} (the epoch was not measured that way).")
    if cost_frame is not None:
        text += _cost_sentence(rec, cost_frame)
    return text


def _limit_sentence(verdict: dict, thresholds: Thresholds) -> str:
    """What limits the configuration, in one sentence with its numbers."""
    name = verdict.get("verdict")
    epoch_speed, fraction = verdict.get("epoch_images_per_sec"), _number(verdict.get("fraction_of_ceiling"))
    step_speed = _number(verdict.get("step_images_per_sec"))
    loader_speed = _number(verdict.get("loader_images_per_sec"))
    busy = _number(verdict.get("gpu_util_pct_mean"))
    gpu = f"; the GPU is busy {busy:.0f}% of the time" if busy is not None else ""
    if name is None:
        return ""
    if name == "unknown":
        return f"What limits it is unknown: {'; '.join(verdict.get('reasons') or [])}."
    reached = f"reaching {_pct(fraction)} of the {_rate(step_speed)} train-step ceiling"
    if fraction is not None and thresholds.ceiling_disagreement < fraction <= thresholds.ceiling_unreliable:
        reached += " (above it: the two measurements disagree, so the ceiling is approximate)"
    if name == "input-bound":
        return (f"It is input-bound: the input pipeline serves {_rate(loader_speed)} where the step could take "
                f"{_rate(step_speed)}, so the epoch runs at {_rate(epoch_speed)}{gpu}.")
    if name == "compute-bound":
        return f"It is compute-bound, {reached}{gpu}."
    loader = f" with the loader at {_rate(loader_speed)}" if loader_speed is not None else ""
    return f"It is balanced between input and compute, {reached}{loader}{gpu}."


def _cost_sentence(rec: dict, cost_frame: pd.DataFrame) -> str:
    match = cost_frame[(cost_frame["machine"] == rec["machine"]) & (cost_frame["device"] == rec["device"])
                       & (cost_frame["model"] == rec["model"])]
    if match.empty or math.isnan(match.iloc[0]["cost_per_epoch"]):
        return ""
    cost = match.iloc[0]
    same_model = cost_frame[cost_frame["model"] == rec["model"]]
    priced = int(same_model["cost_per_epoch"].notna().sum())
    text = f" An epoch costs {_money(cost['cost_per_epoch'])} at {cost['price_per_hour']:g} per hour"
    ranks = []
    if priced > 1:
        ranks.append(f"{_ordinal(int(cost['cost_rank']))} cheapest of {priced} priced")
    if len(same_model) > 1:
        ranks.append(f"{_ordinal(int(cost['time_rank']))} fastest of {len(same_model)}")
    if ranks:
        text += f" ({' and '.join(ranks)} for {rec['model']})"
    return text + "."


# --- display (rounding happens only here) --------------------------------------------------------


def _config(batch_size, workers, loader) -> str:
    return f"batch {batch_size}, {workers} worker{'s' if workers != 1 else ''}, {loader} pipeline"


def _rate(images_per_sec: float) -> str:
    if images_per_sec >= 1e6:
        return f"{images_per_sec / 1e6:.1f}M img/s"
    if images_per_sec >= 1e4:
        return f"{images_per_sec / 1e3:.0f}k img/s"
    if images_per_sec >= 1e3:
        return f"{images_per_sec / 1e3:.1f}k img/s"
    return f"{images_per_sec:.0f} img/s"


def _pct(fraction: float) -> str:
    percent = fraction * 100
    return f"{percent:.1f}%" if 0 < abs(percent) < 9.95 else f"{percent:.0f}%"


def _times(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def _seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _tflops(tflops: float) -> str:
    return f"{tflops:.3g} TFLOP/s"


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def _money(amount: float) -> str:
    """Three significant digits, never in e-notation (an epoch can cost 0.0000524)."""
    if amount <= 0 or amount >= 100:
        return f"{amount:,.0f}" if amount >= 100 else "0"
    decimals = max(0, 2 - math.floor(math.log10(amount)))
    return f"{amount:.{decimals}f}"
