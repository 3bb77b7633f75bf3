"""Stage 4, words for time to a trained classifier and the search: the answer's sentences.

The first screen's words (reports.analysis.to_target's answers: the target and its data, the
learning-rate plan, seeds, time to target, the tutorial's recipe and the fastest per image
beside the fastest) and the auto preset's search in a line. The rest of the report's sentences
are in `reports.page.words`; numbers go through `reports.page.display` as there.
"""

from __future__ import annotations

from bench.contract import derive, vocab
from reports.analysis.to_target import TargetAnswer, ToTarget
from reports.page import display as show
from reports.page.words import reason_short
from reports.reading.cases import Case

LR_RULES = {"tutorial": "the tutorial's", "linear": "linear rule", "linear-capped": "linear rule, capped",
            "override": "set by --bench-lr"}


def data_words(source: str | None) -> str:
    """What an accuracy was measured on: 'the hard synthetic set' or 'real CIFAR-10 (/data/cifar10)'."""
    if source == vocab.SYNTHETIC_HARD:
        return "the hard synthetic set"
    if source == vocab.SYNTHETIC:
        return "the synthetic CIFAR-10-shaped set"
    if not source:
        return "data the run did not record"
    return f"real CIFAR-10 ({source})"


def target(accuracy: float | None, source: str | None) -> str:
    """'30% test accuracy on the hard synthetic set'."""
    return f"{show.accuracy(accuracy)} test accuracy on {data_words(source)}"


def lr_plan(case: Case) -> str:
    """'lr 0.032 (linear rule), 50 warm-up steps'."""
    if case.lr is None:
        return "learning rate not recorded"
    rule = LR_RULES.get(case.lr_rule or "", case.lr_rule or "rule not recorded")
    warmup = (f"{show.plural(case.warmup_steps, 'warm-up step')}" if case.warmup_steps else "no warm-up"
              ) if case.warmup_steps is not None else ""
    return ", ".join(part for part in (f"lr {show.learning_rate(case.lr)} ({rule})", warmup) if part)


def seeds(answer: derive.TimeToTarget) -> str:
    """'1 seed', '3 seeds', or '2 of 3 seeds' where some missed the target."""
    if answer.reached == answer.seeds:
        return show.plural(answer.seeds, "seed")
    return f"{answer.reached} of {show.plural(answer.seeds, 'seed')}"


def time_to_target(row: ToTarget) -> str:
    """'24 s [22-26 s]': the median over the seeds that reached the target, with their range."""
    answer = row.answer
    if answer.seconds is None:
        return ""
    if answer.seeds < 2 or show.duration(answer.seconds_low) == show.duration(answer.seconds_high):
        return show.duration(answer.seconds)
    return f"{show.duration(answer.seconds)} [{show.duration_range(answer.seconds_low, answer.seconds_high)}]"


def missed(row: ToTarget, accuracy: float | None) -> str:
    """'did not reach 30% within its budget (best 27%, 3 seeds)'."""
    best = row.answer.best_accuracy
    told = f"best {show.accuracy(best)}, " if best is not None else ""
    return f"did not reach {show.accuracy(accuracy)} within its budget ({told}{seeds(row.answer)})"


def settings(case: Case) -> str:
    """'batch 128, 0 workers, tensor': a configuration in few words (its pipeline's name alone)."""
    c = case.config
    return show.config(c.batch_size, c.num_workers, c.loader).removesuffix(" pipeline")


def fastest_to_target(answer: TargetAnswer) -> str:
    """The fastest configuration to the target and its learning rate, with the ones tied with it, one a line."""
    best = answer.fastest
    if best is None:
        if not answer.ranked and answer.invalid:
            case = answer.invalid[0]
            reason = next((reason for reason in case.trust_reasons if reason.level == "invalid"), None)
            why = f" ({reason_short(reason)})" if reason is not None else ""
            return (f"not ranked: {show.plural(len(answer.invalid), 'converge case')} measured while the machine "
                    f"was busy or throttled{why}")
        closest = answer.ranked[0]
        return (f"none of {show.plural(len(answer.ranked), 'configuration')} reached "
                f"{show.accuracy(answer.target_accuracy)} within its budget\nclosest: {settings(closest.case)}, best "
                f"{show.accuracy(closest.answer.best_accuracy)}")
    lines = [settings(best.case), lr_plan(best.case)]
    # A tie in few words (its whole plan is in the ranking below): no measurable difference from the fastest.
    lines += [f"tie: {settings(row.case)}, lr {show.learning_rate(row.case.lr)}" for row in answer.ties]
    return "\n".join(lines)


def tutorial_to_target(answer: TargetAnswer) -> str:
    """How the tutorial's own recipe did: its time, how much slower than the fastest, or that it missed."""
    tutorial, best = answer.tutorial, answer.fastest
    if tutorial is None:
        return "not trained to the target here"
    if not tutorial.reached:
        return missed(tutorial, answer.target_accuracy)
    time = f"{time_to_target(tutorial)}, {seeds(tutorial.answer)}"
    if best is None or tutorial is best:
        return f"{time}\nthe fastest here"
    if tutorial.rank == best.rank:
        return f"{time}\na tie with the fastest (no measurable difference)"
    return f"{time}\n{show.times(answer.speedup_vs_tutorial)} the fastest's time (rank {tutorial.rank})"


def fastest_per_image(answer: TargetAnswer) -> str:
    """The fastest configuration per image (the best epoch), its throughput and how it did to the target."""
    epoch = answer.fastest_per_image
    if epoch is None:
        return "no epoch measured here"
    rate = f"{show.with_interval(epoch.images_per_sec, epoch.interval)} img/s"
    trained = answer.fastest_per_image_to_target
    best = answer.fastest
    if trained is not None and best is not None and trained is best:
        return f"the same configuration: {rate}"
    head = f"{settings(epoch)}: {rate}"
    if trained is None:
        return f"{head}\nnot trained to the target"
    if not trained.reached:
        return f"{head}\n{missed(trained, answer.target_accuracy)}"
    place = "a tie with the fastest" if best is not None and trained.rank == best.rank else f"rank {trained.rank}"
    return f"{head}\nto target: {time_to_target(trained)} ({place})"


def to_target_headline(answers: list[TargetAnswer]) -> str:
    """The sentence above the answer: the target, the data, the seeds and what a tie means."""
    targets = list(dict.fromkeys(target(answer.target_accuracy, answer.data_source) for answer in answers))
    return (f"Time to train the classifier to {show.joined(targets, 'or')}, median over seeds with their range; "
            "a configuration that did not reach the target is never ranked ahead of one that did, and two whose "
            "intervals overlap are a tie (no measurable difference). Throughput, the evidence for why, follows.")


def answer_title(by_target: bool) -> str:
    """The answer's heading."""
    if by_target:
        return "Fastest to a trained classifier, per machine"
    return "Fastest epoch per machine, device and model"


def epoch_headline(ranked_by: str, answers: list[TargetAnswer], epochs: bool = True) -> str:
    """The sentence above an answer by epoch time: why it is not by time to a trained classifier
    (`epochs`: whether any epoch was measured to answer by)."""
    ranked = "cost" if ranked_by == "cost" else "time"
    if not answers:
        why = "No configuration was trained to a target accuracy here (no converge case)"
    else:
        said = []
        for answer in answers:
            machine, device, _model = answer.where
            if not answer.ranked:
                said.append(f"{machine} · {device} (measured while the machine was busy: not ranked)")
            else:
                said.append(f"{machine} · {device} (no configuration reached "
                            f"{show.accuracy(answer.target_accuracy)} within its budget)")
        why = f"No configuration reached its target on a quiet machine: {show.joined(said)}"
    if not epochs:
        return f"{why}, and no epoch was measured to answer by throughput instead."
    return (f"{why}, so this answers by {ranked} per 50,000-image epoch: throughput, not time to a trained "
            "classifier. A tie (\"=2\") is no measurable difference: the intervals overlap.")


SEARCH_STOPS = {"complete": "every planned measurement made", "budget": "its time budget ran out",
                "no_candidates": "no configuration was left to measure", "interrupted": "it was stopped",
                "machine_busy": "the machine was busy: several measurements in a row were invalid"}


def search_line(search: dict) -> str:
    """The auto preset's search in a line: 'auto search: 12 configurations, 20 trials in 5.0 of 10 min;
    stopped: its time budget ran out' (`machine_info["cifarbench"]["search"]`, as the file holds it)."""
    candidates = search.get("candidates")
    trials = search.get("trials")
    spent, budget = search.get("spent_seconds"), search.get("budget_seconds")
    parts = []
    if isinstance(candidates, int):
        parts.append(show.plural(candidates, "configuration"))
    if isinstance(trials, list):
        timed = (f" in {show.duration(spent)} of {show.duration(budget)}"
                 if isinstance(spent, int | float) and isinstance(budget, int | float) else "")
        parts.append(f"{show.plural(len(trials), 'trial')}{timed}")
    stop = search.get("stop") if isinstance(search.get("stop"), dict) else None
    line = "auto search: " + (", ".join(parts) or "its path recorded")
    if stop is None:
        return line + "; not finished"
    code = str(stop.get("code"))
    return f"{line}; stopped: {SEARCH_STOPS.get(code, code)}"
