"""Stage 4, words: the analysis in plain sentences, written in one place.

Every sentence of the report that carries a number is made here (the first screen's time to
a trained classifier and the search's line in `reports.page.target_words`), with
`reports.page.display` doing the numbers. Nothing here computes a finding: the stages before it did.
"""

from __future__ import annotations

from bench.contract import Reason, derive
from reports.analysis.advice import TUTORIAL_SETTINGS, Recommendation, WorkerPlateau
from reports.analysis.compile_payoff import CompilePayoff
from reports.analysis.like_for_like import Comparison
from reports.analysis.machine_trust import MachineTrust
from reports.analysis.scaling import ScalingPoint
from reports.analysis.verdicts import THRESHOLDS, Verdict, VerdictThresholds
from reports.page import display as show
from reports.reading.cases import Case
from reports.reading.tidy import FULL_EPOCH_IMAGES

# The tutorial's settings as the sentences name them ("batch 4, 2 workers, pil"), from the advice's own.
TUTORIAL = (f"batch {TUTORIAL_SETTINGS['batch_size']}, {TUTORIAL_SETTINGS['num_workers']} workers, "
            f"{TUTORIAL_SETTINGS['loader']}")
CHANCE_ACCURACY = 0.1  # ten classes
LEARNED_ACCURACY = 0.2  # below it an epoch's accuracy says nothing about learning yet


def trust_line(trust: MachineTrust) -> str:
    """'noisy: 3 of 26 cases. Other processes used 85% of a core during the rounds.'"""
    line = trust_headline(trust)
    reasons = trust_reasons(trust) if trust.level is not None else []
    return f"{line}. {' '.join(reasons)}" if reasons else line


def _cased(text: str) -> str:
    return text[:1].upper() + text[1:]


def noise_line(trust: MachineTrust) -> str:
    """'run-to-run noise ±9%: one standard deviation of a case's repeats, pooled over the run'."""
    if trust.repeat_noise is None:
        return ("run-to-run noise not measured: each case ran once (--bench-repeats 2 measures it); intervals "
                "cover one run's rounds only")
    return (f"run-to-run noise \u00b1{show.fraction(trust.repeat_noise)}: one standard deviation of a case's "
            "repeats, pooled over the run")


def trust_headline(trust: MachineTrust) -> str:
    """The first words of a machine's trust: 'noisy: 7 noisy of 29 cases'."""
    total = trust.cases or sum(trust.counts.values())
    if trust.level is None:
        return "not assessed: these results predate the harness's trust check"
    if trust.level == "ok":
        return f"ok: all {total} cases measured on a quiet machine with steady rounds"
    counted = [f"{trust.counts[level]} {level}" for level in ("invalid", "noisy") if trust.counts.get(level)]
    line = f"{trust.level}: {show.joined(counted)} of {show.plural(total, 'case')}"
    if trust.epochs_all_invalid:
        line += "; every epoch is invalid, so this machine is not ranked"
    return line


def preflight(trust: MachineTrust) -> str:
    """The preflight's message as a sentence, where the machine was not quiet before the sweep."""
    return _sentence(_cased(trust.preflight)) if trust.preflight else ""


def trust_reasons(trust: MachineTrust, preflight: bool = True) -> list[str]:
    """Each kind of reason once, as a sentence, the most frequent first; the preflight's message last
    (unless `preflight` is False)."""
    found = [_sentence(_cased(reason_clause(group.worst)
                              + (f" (the worst of {group.cases} cases)" if group.cases > 1 else "")))
             for group in trust.reasons]
    if trust.preflight and preflight:
        found.append(_sentence(_cased(trust.preflight)))
    return found


def reason_clause(reason: Reason) -> str:
    """A trust reason (a record: bench.contract.Reason) as a clause: the one place its words are made."""
    code, figure, threshold, detail = reason.code, reason.figure, reason.threshold, reason.detail
    where = f" (repeat {detail['repeat']})" if detail.get("repeat") else ""
    if code == "other_cpu":
        margin = detail.get("resolution_pct")
        # A margin that rounds to nothing is not worth its words ("92% \u00b1 0.0%").
        told = (f"{show.percent(figure)} \u00b1 {show.percent(margin)} of a core" if margin and margin >= 0.05
                else f"{show.percent(figure)} of a core")
        steal = detail.get("steal_pct")
        if steal is not None and figure and steal >= figure / 2:
            told += f" ({show.percent(steal)} of a core was steal: the hypervisor gave these cores to other guests)"
        if reason.level == "invalid":
            return (f"other processes used {told} while the rounds ran (at most {show.percent(10.0)} is quiet): "
                    f"the timing is not this machine's; measure again on a quiet machine{where}")
        return f"other processes used {told} while the rounds ran{where}"
    if code == "throttled":
        limit = detail.get("limit_cores")
        fix = f"--bench-threads {max(1, int(limit))}" if limit else "--bench-threads N"
        return (f"the CPU limit ({show.number(limit)} cores, cgroup {detail.get('cgroup')}) throttled the sweep in "
                f"{show.fraction(figure)} of the periods of its rounds ({detail.get('throttled_periods')} of "
                f"{detail.get('periods')}): run with {fix} or raise the limit{where}")
    if code == "starved":
        return (f"its {detail.get('threads')} threads got {show.fraction(figure)} of their time (under "
                f"{show.fraction(threshold)}) with no throttling counter to read: a CPU limit or another guest "
                f"starved it{where}")
    if code == "few_rounds":
        return f"{show.plural(int(figure), 'timed round')}: no spread to judge it by{where}"
    if code == "rounds_spread":
        return (f"the rounds spread {show.fraction(figure)} around their median (more than "
                f"{show.fraction(threshold)}){where}")
    if code == "projected":
        return (f"projected to a full epoch from {show.plural(int(figure), 'batch', 'batches')} a round "
                f"(fewer than {int(threshold)}){where}")
    if code == "gpu_slowdown":
        return f"the GPU slowed its clocks: {', '.join(detail.get('events') or [])}{where}"
    if code == "recompiles":
        return (f"torch.compile recompiled {show.plural(int(figure), 'time')} inside the timed rounds: compile time "
                f"is in the rounds{where}")
    if code == "machine_drift":
        return (f"the machine's own speed (the canary) moved {show.signed_fraction(figure)} between its readings "
                f"around the case (more than \u00b1{show.fraction(threshold)}){where}")
    if code == "invalid_repeats":
        repeats = detail.get("repeats") or []
        return (f"{show.plural(len(repeats), 'repeat')} ({', '.join(map(str, repeats))}) measured while the machine "
                "was busy or throttled, left out of the figure")
    if code == "repeats_disagree":
        return f"its repeats spread {show.fraction(figure)} around their median{where}"
    return str(detail.get("text") or code)


def reason_short(reason: Reason) -> str:
    """A trust reason in a few words, for a table cell: 'other processes used 92% of a core'."""
    if reason.code == "other_cpu":
        return f"other processes used {show.percent(reason.figure)} of a core"
    if reason.code == "throttled":
        return f"the CPU limit throttled {show.fraction(reason.figure)} of the periods"
    if reason.code == "starved":
        return f"its threads got {show.fraction(reason.figure)} of their time"
    if reason.code == "invalid_repeats":
        return "repeats measured while the machine was busy"
    return reason_clause(reason)


def strip_prefix(text: str, prefix: str) -> str:
    """`text` without `prefix` (a harness message's lead-in the report already says), ending unpunctuated."""
    return text.removeprefix(prefix).rstrip(".")


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


MEASUREMENT_PROBLEM = ("measurement problem: the epoch read faster than its train-step ceiling, which it cannot "
                       "be (the ceiling and the epoch were measured at different machine speeds); measure again")


def above_ceiling(verdict: Verdict, thresholds: VerdictThresholds = THRESHOLDS) -> str | None:
    """Where the epoch read above its step ceiling: 'at' (inside the intervals: no measurable
    difference) or 'problem' (beyond them: a measurement problem, never a result); None below it."""
    fraction = verdict.fraction_of_ceiling
    if fraction is None or fraction <= 1:
        return None
    epoch, step = verdict.epoch.interval, verdict.step.interval if verdict.step else None
    if epoch is not None and step is not None:
        return "at" if derive.overlap(epoch, step) else "problem"
    return "at" if fraction <= thresholds.ceiling_disagreement else "problem"


def of_ceiling(verdict: Verdict, thresholds: VerdictThresholds = THRESHOLDS) -> str:
    """'82% of ceiling', 'at its ceiling' or the measurement problem: never a share above 100%."""
    above = above_ceiling(verdict, thresholds)
    if above == "problem":
        return MEASUREMENT_PROBLEM
    if above == "at":
        return "at its ceiling (no measurable difference)"
    fraction = verdict.fraction_of_ceiling
    return f"{show.fraction(fraction)} of ceiling" if fraction is not None else ""


def limit(verdict: Verdict | None, thresholds: VerdictThresholds = THRESHOLDS) -> str:
    """What limits a configuration and how close: 'compute, 82% of ceiling'."""
    if verdict is None:
        return "not judged"
    if verdict.verdict is None:
        return "not judged: invalid measurement"
    if verdict.verdict == "unknown":
        return "unknown: " + unknown_reason(verdict)
    reached = of_ceiling(verdict, thresholds)
    joiner = "; " if above_ceiling(verdict, thresholds) == "problem" else ", "
    reached = f"{joiner}{reached}" if reached else ""
    if verdict.source == "phases":
        wait = waiting(verdict.epoch)
        if verdict.verdict == "input-bound":
            return f"input: {wait}"
        if verdict.verdict == "launch-bound":
            return f"kernel launches: {launching(verdict.epoch)}"
        if verdict.verdict == "compute-bound":
            return f"compute{reached}"
        return f"input and compute together{reached}; {wait}"
    if verdict.verdict == "input-bound":
        return f"input: the loader serves {show.rate_unit(verdict.loader_speed)}{reached}"
    if verdict.verdict == "compute-bound":
        return f"compute{reached}"
    return f"input and compute together{reached}"


def launching(epoch: Case) -> str:
    """'the GPU runs kernels 9.5% of the time, waiting on the host to issue them'."""
    return (f"the GPU runs kernels {show.percent(epoch.gpu_util_pct_mean)} of the time, waiting on the host "
            "to issue them (per-step Python and kernel launches); a larger batch gives each launch more work")


def waiting(epoch: Case) -> str:
    """The familiar sentence: 'N% of each step waits for input' (the GPU's idle share on CUDA)."""
    if epoch.device_idle_share is not None:
        return f"the GPU idles {show.fraction(epoch.device_idle_share)} of each step, waiting for input"
    return f"{show.fraction(epoch.wait_share)} of each step waits for input"


def split(epoch: Case) -> str:
    """Where an epoch's time goes, in words: 'input 62%, copy 1%, forward 12%, ...'."""
    names = {"input_wait": "input wait", "copy": "copy", "forward": "forward", "backward": "backward",
             "optimizer": "optimizer", "other": "other"}
    return ", ".join(f"{names[name]} {show.fraction(share)}" for name, share in epoch.phase_shares)


def unknown_reason(verdict: Verdict) -> str:
    names = {"step": "the train-step ceiling (fp32, this batch size) was not measured",
             "step_invalid": "the train-step ceiling's measurement is invalid",
             "loader": "the loader ceiling (this pipeline, batch size and workers) was not measured",
             "loader_invalid": "the loader ceiling's measurement is invalid"}
    if "not_measured" in verdict.reasons:
        return show.joined([names[name] for name in verdict.missing])
    if "outran" in verdict.reasons and verdict.outran:
        name, ratio = verdict.outran
        return (f"a measurement problem: the epoch ran {show.times(ratio)} faster than its {name} ceiling, which it "
                "cannot: the two were measured at different machine speeds (another busy process, throttling); "
                "measure again")
    if "unexplained" in verdict.reasons:
        return (f"even one after the other, serving and stepping explain only {show.fraction(verdict.explained)} "
                "of the epoch's time: something not measured dominates (other processes, copies, per-step "
                "overheads)")
    return "the ceilings do not describe the epoch"


def evidence(verdict: Verdict, thresholds: VerdictThresholds = THRESHOLDS) -> str:
    """The numbers behind a verdict, in one text."""
    if verdict.verdict is None:
        return " ".join(evidence_facts(verdict, thresholds))
    return "; ".join(evidence_facts(verdict, thresholds))


def evidence_facts(verdict: Verdict, thresholds: VerdictThresholds = THRESHOLDS, numbers: bool = True) -> list[str]:
    """The evidence behind a verdict as short facts; `numbers=False` leaves out those a table shows in
    its own columns (the in-epoch split, the ceilings' and the epoch's images/s)."""
    epoch = verdict.epoch
    if verdict.verdict is None:
        return ["Not judged: the epoch's measurement is invalid.",
                *(_sentence(_cased(reason_clause(reason))) for reason in epoch.trust_reasons)]
    batch = verdict.config.batch_size
    parts = []
    if verdict.source == "phases" and numbers:
        parts.append(f"in the epoch: {split(epoch)}")
    if epoch.gpu_util_pct_mean is not None and verdict.config.cuda:
        parts.append(gpu_activity(epoch, thresholds))
    if numbers and verdict.loader and verdict.step:
        parts.append(f"loader {show.rate_unit(verdict.loader_speed)} against a {show.rate_unit(verdict.step_speed)} "
                     f"step ceiling at batch {batch}")
    elif numbers and verdict.step:
        parts.append(f"step ceiling {show.rate_unit(verdict.step_speed)} at batch {batch}")
    above = above_ceiling(verdict, thresholds)
    if numbers:
        reached = (f", {show.fraction(verdict.fraction_of_ceiling)} of the step ceiling"
                   if verdict.fraction_of_ceiling is not None and above is None else "")
        parts.append(f"epoch {show.rate_unit(epoch.images_per_sec)}{reached}")
    if above == "at":
        parts.append("the epoch reads at its step ceiling, inside their intervals: no measurable difference")
    elif above == "problem" and verdict.verdict != "unknown":
        parts.append(MEASUREMENT_PROBLEM)
    if epoch.trust == "noisy":
        parts.append("noisy: " + (show.joined([reason_clause(reason) for reason in epoch.trust_reasons])
                                  if epoch.trust_reasons else
                                  f"its rounds spread over {show.fraction(epoch.rounds_spread)}"))
    if verdict.loader_memory_note:
        parts.append(f"loader measured with {verdict.loader_memory_note} memory only")
    if verdict.device_input is not None:
        parts.append(f"the device pipeline alone serves {show.rate_unit(verdict.device_input.images_per_sec)}")
    parts += [_reason(code, verdict, thresholds) for code in verdict.reasons]
    return [part for part in parts if part]


def gpu_activity(case: Case, thresholds: VerdictThresholds = THRESHOLDS) -> str:
    """'GPU busy 98% by NVML's count of time a kernel was active; SM active 41%, tensor pipes 12%'.

    NVML's utilization.gpu counts the time in which any kernel ran: a low share means the GPU
    waits on the host, a high one says nothing of how many SMs worked; GPM's figures do.
    """
    waiting = " (waiting on the host)" if case.gpu_util_pct_mean < thresholds.gpu_waiting_pct else ""
    text = f"GPU busy {show.percent(case.gpu_util_pct_mean)}{waiting} by NVML's count of time a kernel was active"
    gpm = [f"{name} {show.percent(value)}" for name, value in (("SM active", case.sm_active_pct),
                                                               ("tensor pipes active", case.tensor_active_pct))
           if value is not None]
    return text + (f"; {show.joined(gpm)}" if gpm else "")


def scaling(point: ScalingPoint) -> str:
    """'2 ranks (gloo, cpu) train 8.5k img/s, 31% of 2 x one rank's 13.7k; the exposed all-reduce ...'."""
    batch = f", batch {point.batch_size} per rank" if point.batch_size is not None else ""
    where = f"{point.model} on {point.device}{batch}, {point.loader} pipeline"
    ranks = show.plural(point.world_size, "rank")
    if point.nnodes > 1:
        ranks += f" on {show.plural(point.nnodes, 'node')}"
    text = (f"Data parallel ({where}, {point.scaling or 'weak'} scaling, {point.backend or 'unknown backend'}): "
            f"{ranks} train {show.rate_unit(point.images_per_sec)}")
    if point.baseline_images_per_sec is not None:
        text += (f", {show.fraction(point.scaling_efficiency)} scaling efficiency against "
                 f"{point.world_size} x one rank's {show.rate_unit(point.baseline_images_per_sec)}")
    elif point.scaling_efficiency is not None:
        text += f", {show.fraction(point.scaling_efficiency)} scaling efficiency as the sweep recorded it"
    else:
        text += "; no one-rank case of this configuration on this machine, so the scaling efficiency is not known"
    if point.allreduce_share is not None and point.world_size > 1:
        text += f"; the all-reduce backward does not hide takes {show.fraction(point.allreduce_share)} of a step"
    return text + "."


def _reason(code: str, verdict: Verdict, thresholds: VerdictThresholds) -> str:
    if code in ("not_measured", "outran", "unexplained"):
        return unknown_reason(verdict)
    if code == "phases":
        if verdict.verdict == "launch-bound":
            return (f"verdict from the in-epoch split and NVML: {waiting(verdict.epoch)}, "
                    f"{show.fraction(verdict.epoch.compute_share)} is the steps' own work, and the GPU runs "
                    f"kernels only {show.percent(verdict.epoch.gpu_util_pct_mean)} of the epoch's time")
        return (f"verdict from the in-epoch split: {waiting(verdict.epoch)}, "
                f"{show.fraction(verdict.epoch.compute_share)} computes")
    if code == "slowed_step":
        workers = verdict.config.num_workers
        return (f"inside the epoch the steps run at {show.fraction(verdict.fraction_of_ceiling)} of their speed "
                f"alone while barely waiting for input: the {show.plural(workers, 'worker')} and torch's threads "
                "compete for the cores; fewer torch threads (torch.set_num_threads: the cores less the workers) "
                "or fewer workers should help")
    if code == "ceilings_disagree":
        return (f"the separately timed ceilings alone would say {verdict.ceiling_verdict}: they were timed apart "
                "from the epoch (workers competing with the step for cores, or a noisy machine, change them), "
                "so the in-epoch split is taken")
    if code == "device_pipeline":
        return ("no separate loader ceiling: the data set lives on the device and its input work runs there, "
                "inside the epoch")
    if code == "close_ceilings":
        return (f"loader and step ceilings are within {show.fraction(thresholds.loader_headroom - 1)} of each "
                "other and the epoch reaches them")
    epoch_speed = verdict.epoch.images_per_sec
    shares = ""
    if verdict.loader and verdict.step:
        shares = (f"serving alone would take {show.fraction(epoch_speed / verdict.loader_speed)} of the epoch's "
                  f"time and the step {show.fraction(epoch_speed / verdict.step_speed)}; ")
    why = {"zero_workers": "with 0 workers the pipeline runs inside the training process, so its time adds to "
                           "the step's",
           "shared_cores": "on the CPU the loader's workers share the cores with the step",
           "copies": "host-to-device copies and per-step overheads take the difference"}[code]
    return f"each ceiling alone would allow more: {shares}{why}"


def configuration(case: Case) -> str:
    c = case.config
    return show.config(c.batch_size, c.num_workers, c.loader)


def epoch_note(case: Case) -> str:
    """'projected from 512 images' or 'full epoch timed'."""
    if case.full_epoch_projected:
        images = f"{show.integer(case.epoch_images)} images" if case.epoch_images else "fewer images"
        return f"from {images}"
    return "full epoch"


def advice(rec: Recommendation, cores: int | None, thresholds: VerdictThresholds = THRESHOLDS) -> str:
    """One sentence or two of advice: 'Use batch 128, 0 workers, tensor pipeline. Workers slow this ...'."""
    lead, rest = advice_parts(rec, cores, thresholds)
    return f"{lead} {rest}" if rest else lead


def advice_parts(rec: Recommendation, cores: int | None,
                 thresholds: VerdictThresholds = THRESHOLDS) -> tuple[str, str]:
    """The advice as (what to use, why): ('Use batch 128, 0 workers, tensor pipeline.', 'Workers slow ...')."""
    _machine, device, model = rec.where
    if rec.best is None:
        if rec.epochs:
            return (f"No advice for {model} on {device}: all {rec.epochs} epochs measured here are invalid;",
                    "measure again on a quiet machine.")
        return f"No epoch of {model} was measured on {device}, so there is nothing to advise.", ""
    lead = f"Use {configuration(rec.best)}"
    if rec.best.config.transform and rec.other_transforms:
        lead += f" ({rec.best.config.transform} transform)"
    lead += "."
    text = ""
    effect = rec.worker_effect
    box = (f"this {cores}-core box" if cores else "this machine") if not rec.best.config.cuda else "this machine"
    if effect is not None and effect.slowdown > 1 + max(effect.spread, thresholds.same_speed):
        ours = rec.best.config.num_workers
        if effect.workers > ours:
            verb = "slows" if effect.workers == 1 else "slow"
            text += (f" {show.plural(effect.workers, 'worker').capitalize()} {verb} {box} down "
                     f"{show.times(effect.slowdown)}" + (": they compete with training for its cores."
                                                       if not rec.best.config.cuda else "."))
        else:
            text += f" {ours} workers make it {show.times(effect.slowdown)} faster than {effect.workers}."
    if rec.speedup_vs_tutorial is not None and not rec.is_tutorial and tutorial_overlaps(rec):
        text += (f" That is no measurable difference from the tutorial's own settings ({TUTORIAL}): "
                 f"{show.times(rec.speedup_vs_tutorial)}, inside their intervals.")
    elif rec.speedup_vs_tutorial is not None and not rec.is_tutorial:
        text += f" That is {show.times(rec.speedup_vs_tutorial)} the tutorial's own settings ({TUTORIAL})."
        idle = rec.tutorial.gpu_util_pct_mean
        if rec.best.config.cuda and idle is not None:  # why the GPU sits idle at the tutorial's settings
            here = rec.best.gpu_util_pct_mean
            text += (f" At those the GPU runs kernels {show.percent(idle)} of the time"
                     + (f", here {show.percent(here)}." if here is not None else "."))
    elif rec.is_tutorial:
        text += " That is the tutorial's own setting."
    return lead, text.strip()


def tutorial_overlaps(rec: Recommendation) -> bool:
    """Whether the best epoch and the tutorial's settings read inside each other's intervals (both known)."""
    best, tutorial = rec.best, rec.tutorial
    if best is None or tutorial is None or best.interval is None or tutorial.interval is None:
        return False
    return derive.overlap(best.interval, tutorial.interval)


def advice_line(rec: Recommendation) -> str:
    """The advice's first words: 'Use batch 128, 0 workers, tensor pipeline.' (or why there is none)."""
    return f"Use {configuration(rec.best)}." if rec.best is not None else ""


def recommendation(rec: Recommendation, thresholds: VerdictThresholds = THRESHOLDS) -> str:
    """The evidence behind the advice, in one text."""
    return " ".join(recommendation_facts(rec, thresholds))


def recommendation_facts(rec: Recommendation, thresholds: VerdictThresholds = THRESHOLDS,
                         numbers: bool = True) -> list[str]:
    """The evidence behind the advice as short facts, one sentence each; `numbers=False` leaves out
    what a table shows in its own columns (the best epoch's speed, the speed-up, the verdict)."""
    machine, device, model = rec.where
    if rec.best is None:
        if rec.best_step is not None:
            return [f"No epoch was measured for {model} on {machine} {device}: nothing to recommend. Its train step "
                    f"peaks at {show.rate_unit(rec.best_step.images_per_sec)} (batch "
                    f"{rec.best_step.config.batch_size}, no input pipeline)."]
        return [f"All {rec.epochs} epochs of {model} on {machine} {device} are invalid: nothing is recommended."]
    best = rec.best
    sentences = []
    if numbers:
        sentences.append(f"Fastest measured epoch: {configuration(best)}, {show.rate_unit(best.images_per_sec)} "
                         f"({show.duration(best.epoch_seconds)} per {FULL_EPOCH_IMAGES:,}-image epoch"
                         f"{', ' + epoch_note(best) if best.full_epoch_projected else ''}).")
    if rec.tutorial is None:
        sentences.append(f"The tutorial's own settings ({TUTORIAL}) were not measured here, so no speed-up over "
                         "them is claimed.")
    elif not rec.is_tutorial and numbers:
        same = ", inside their intervals: no measurable difference" if tutorial_overlaps(rec) else ""
        sentences.append(f"{show.times(rec.speedup_vs_tutorial)} the tutorial's own settings ({TUTORIAL}: "
                         f"{show.rate_unit(rec.tutorial.images_per_sec)}){same}.")
    if rec.verdict is not None and rec.verdict.verdict and numbers:
        sentences.append(f"It is {rec.verdict.verdict}: {evidence(rec.verdict, thresholds)}.")
    if rec.plateau is not None:
        sentences.append(plateau(rec.plateau, best, thresholds))
    if rec.variant is not None:
        text = (f"train_step measured {show.times(rec.variant.speedup)} faster with {rec.variant.name} at batch "
                f"{best.config.batch_size} ({show.rate_unit(rec.variant.case.images_per_sec)} against "
                f"{show.rate_unit(rec.variant.base.images_per_sec)} in fp32); the epoch was measured in fp32 only, "
                "so its gain is not known")
        if rec.verdict is not None and rec.verdict.verdict == "input-bound":
            text += ", and while input-bound it would gain little"
        sentences.append(text + ".")
    if best.fraction_of_peak is not None and best.achieved_tflops is not None:
        sentence = (f"The epoch achieves {show.number(best.achieved_tflops)} TFLOP/s, "
                    f"{show.fraction(best.fraction_of_peak)} of the machine's measured fp32 matmul peak")
        if rec.step is not None and rec.step.fraction_of_peak is not None and rec.step.achieved_tflops is not None:
            sentence += (f"; the bare train step {show.number(rec.step.achieved_tflops)} TFLOP/s, "
                         f"{show.fraction(rec.step.fraction_of_peak)}")
        sentences.append(sentence + ".")
    batch = best.config.batch_size
    if batch is not None and batch != TUTORIAL_SETTINGS["batch_size"]:
        steps = -(-FULL_EPOCH_IMAGES // batch)
        sentences.append(f"Batch size changes the optimisation, not only the speed: at the same learning rate batch "
                         f"{batch} takes {steps:,} steps per epoch instead of "
                         f"{FULL_EPOCH_IMAGES // TUTORIAL_SETTINGS['batch_size']:,}.")
    if rec.invalid_epochs:
        sentences.append(f"{show.plural(rec.invalid_epochs, 'epoch')} measured here "
                         f"{'is' if rec.invalid_epochs == 1 else 'are'} invalid and left out.")
    return sentences


def plateau(found: WorkerPlateau, best: Case, thresholds: VerdictThresholds = THRESHOLDS) -> str:
    where = f"the {best.config.loader} loader at batch {best.config.batch_size}"
    caveat = f" (loader measured with {found.memory_note} memory only)" if found.memory_note else ""
    if found.kind == "too_small":
        measured = (f"only {next(iter(found.speeds))} workers measured" if found.speeds
                    else "no loader case measured")
        return f"The sweep was too small to tell where more workers stop helping {where} ({measured})."
    others = ", ".join(f"{workers}: {show.rate_unit(speed)}" for workers, speed in found.speeds.items())
    within = show.fraction(1 - thresholds.worker_plateau)
    if found.kind == "still_gaining":
        return (f"{where[0].upper() + where[1:]} still gains up to the largest worker count measured, "
                f"{found.workers} ({others}){caveat}: the sweep was too small to tell where more workers stop "
                "helping.")
    if found.kind == "no_help":
        return (f"More workers do not help {where}: {found.workers} already serve within {within} of the best "
                f"measured ({others}){caveat}.")
    return (f"More workers stop helping {where} beyond {found.workers}: it serves within {within} of the best "
            f"measured ({others}){caveat}.")


def comparison(found: Comparison, best_overlap: bool = False) -> str:
    """'On the CPU device: a's best measured epoch is 2.1x b's, but ...; at the settings both measured ...'.

    The faster side is named first. `best_overlap`: the two best epochs' intervals overlap (the
    page checks them), so their ratio is no measurable difference.
    """
    model = f" of {found.model}" if found.model else ""
    device = "GPU" if found.device == "cuda" else "CPU"
    faster, slower, ratio = ((found.reference, found.machine, found.best_ratio) if found.best_ratio >= 1
                             else (found.machine, found.reference, 1 / found.best_ratio))
    if best_overlap:
        text = (f"On the {device} device: {found.reference}'s and {found.machine}'s best measured epochs{model} "
                f"are {show.times(ratio)} apart, inside their intervals: no measurable difference; they were "
                "measured on different grids")
    else:
        text = (f"On the {device} device: {faster}'s best measured epoch{model} is {show.times(ratio)} "
                f"{slower}'s, but they were measured on different grids")
    threads = found.threads
    if threads[0] != threads[1] and None not in threads:
        text += f" and with different torch thread counts ({threads[0]} against {threads[1]})"
    if not found.shared:
        return text + ": they share no epoch setting, so they cannot be compared like for like."
    settings = show.joined([_setting_words(setting) for setting in found.shared[:4]])
    more = f" and {len(found.shared) - 4} more" if len(found.shared) > 4 else ""
    text += f". At the {show.plural(len(found.shared), 'setting')} both measured ({settings}{more}), "
    difference = abs(found.shared_ratio - 1)
    if found.within_spread:
        text += (f"they are within {show.fraction(max(difference, 0.001))} of each other, inside their intervals "
                 f"({show.fraction(found.spread)}): no measurable difference.")
    elif found.shared_ratio >= 1:
        text += f"{found.reference} is {show.times(found.shared_ratio)} {found.machine}."
    else:
        text += f"{found.machine} is {show.times(1 / found.shared_ratio)} {found.reference}."
    if found.only_reference:
        others = (f"{show.joined([_setting_words(setting) for setting in found.only_reference[:3]])}"
                  f"{' ...' if len(found.only_reference) > 3 else ''}")
        if found.best_ratio > 1 and not best_overlap:
            text += (f" {found.reference}'s lead beyond that comes from settings {found.machine} did not measure "
                     f"({others}).")
        else:
            text += f" {found.reference} also measured settings {found.machine} did not ({others})."
    return text


def _setting_words(setting: tuple) -> str:
    _kind, batch, workers, loader, _transform = setting
    return show.config(batch, workers, loader)


def accuracy_note(epochs: list[Case]) -> str | None:
    """What a low epoch accuracy means when the timed epoch was short."""
    short = [case for case in epochs if case.eval_accuracy is not None and case.eval_accuracy < LEARNED_ACCURACY]
    if not short:
        return None
    images = sorted({int(case.epoch_images) for case in short if case.epoch_images})
    trained = f"{show.joined([f'{count:,}' for count in images], 'or')} images" if images else "a short epoch"
    return (f"Eval accuracy near {show.fraction(CHANCE_ACCURACY)} (chance for ten classes) is what a freshly "
            f"initialised network scores after training on {trained}: these epochs were timed, not trained to "
            "convergence, so accuracy here only shows that the loop ran end to end, not how well it learns.")


def compile_payoff(found: CompilePayoff) -> str:
    """Whether and when torch.compile pays off, for the table's last column."""
    if found.eager is None:
        return "no eager case of this configuration to compare with"
    if found.compile_seconds is None:
        return "compile time not recorded"
    if found.outcome == "not_judged":
        if (found.compiled.recompiles or 0) > 0:
            return (f"not judged: {show.plural(found.compiled.recompiles, 'recompile')} inside the timed rounds, "
                    "so the rounds hold compile time")
        return "not judged: measured while other processes used the CPU (invalid)"
    same = " (within the rounds' spread)" if found.within_spread else ""
    if found.outcome == "never":
        return f"never: compiled runs at {show.times(found.speedup)} eager's speed{same}"
    return (f"after {show.epochs(found.break_even_epochs)} epochs: {show.times(found.speedup)} eager's speed{same} "
            f"saves {show.seconds(found.saved_seconds_per_epoch)} s an epoch against "
            f"{show.duration(found.compile_seconds)} of compiling")
