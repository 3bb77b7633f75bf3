"""Stage 3, analyse: typed cases -> verdicts, recommendations, costs, trust, comparisons, the answer.

`analyse` runs the analysis stages in order (the data-parallel scaling points, made by
`reports.analysis.scaling`, ride along) and ranks the answer: one row per machine,
device and model, by cost per epoch where every row is priced, else by epoch time. A machine
whose epochs are all invalid is not ranked (its row says why).

Verdicts, recommendations, costs and comparisons are made from eager cases: a compiled case
is another configuration, compared with its eager twin in `compile_payoffs`
(`reports.analysis.compile_payoff`) and nowhere else. Trust counts every case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bench.contract import derive
from reports.analysis.advice import Recommendation, recommendations
from reports.analysis.compile_payoff import CompilePayoff, payoffs
from reports.analysis.costs import Cost, costs, machine_prices
from reports.analysis.like_for_like import Comparison, comparisons
from reports.analysis.machine_trust import MachineTrust, machine_trust
from reports.analysis.scaling import ScalingPoint
from reports.analysis.to_target import TargetAnswer
from reports.analysis.to_target import answers as to_target_answers
from reports.analysis.verdicts import THRESHOLDS, Verdict, VerdictThresholds, verdicts
from reports.reading.cases import Case, worst_trust


@dataclass(frozen=True)
class Answer:
    """One row of the answer table."""

    rank: int | None
    recommendation: Recommendation
    cost: Cost | None
    trust: MachineTrust  # the whole machine's, for its summary

    @property
    def figures_trust(self) -> str | None:
        """The trust of the figures this row shows: its best epoch, and the tutorial's settings
        its speed-up divides by. One invalid case elsewhere on the machine does not make them
        doubtful (the machine's summary says it); None where the row has no figure."""
        rec = self.recommendation
        if rec.best is None:
            return None
        return worst_trust([rec.best.trust, rec.tutorial.trust if rec.tutorial is not None else None])


@dataclass(frozen=True)
class Analysis:
    cases: list[Case]
    verdicts: list[Verdict]
    recommendations: list[Recommendation]
    costs: list[Cost]
    trust: dict[str, MachineTrust]
    answers: list[Answer]
    comparisons: list[Comparison]
    ranked_by: str  # "cost" or "time"
    currency: str | None = None
    notes: list[str] = field(default_factory=list)
    scaling: list[ScalingPoint] = field(default_factory=list)  # the ddp cases, apart from the rest
    compile_payoffs: list[CompilePayoff] = field(default_factory=list)
    to_target: list[TargetAnswer] = field(default_factory=list)  # time to the target accuracy, where trained

    def machines(self) -> list[str]:
        """Machines in the answer's order."""
        return list(dict.fromkeys([*(a.recommendation.where[0] for a in self.answers), *self.trust]))


def analyse(cases: Sequence[Case], run_prices: dict[str, float] | None = None,
            file_prices: dict[str, float] | None = None, currency: str | None = None,
            preflights: dict[str, dict] | None = None, thresholds: VerdictThresholds = THRESHOLDS,
            scaling: Sequence[ScalingPoint] = (), noises: dict[str, float] | None = None) -> Analysis:
    """The whole analysis of `cases`; `scaling` (from `reports.analysis.scaling`) is carried beside it.
    `noises`: each machine's run-to-run repeat noise (the relative sd its repeats measured).

    Data-parallel cases (group `ddp`) count for their machine's trust only: their images/s are
    all ranks together, so no verdict, recommendation, cost or comparison reads them.
    """
    cases = list(cases)
    preflights = preflights or {}
    machines = list(dict.fromkeys(case.config.machine for case in cases))
    noises = noises or {}
    trust = {machine: machine_trust(machine, cases, preflights.get(machine), noises.get(machine))
             for machine in machines}
    eager = [case for case in cases if case.eager]
    found_verdicts = verdicts(eager, thresholds)
    found_recs = recommendations(eager, found_verdicts, thresholds)
    found_costs = costs(found_recs, machine_prices(run_prices or {}, file_prices))
    cost_of = {cost.config: cost for cost in found_costs}
    priced = bool(found_costs) and all(cost.cost_per_epoch is not None for cost in found_costs)
    ranked_by = "cost" if priced else "time"

    def order(rec: Recommendation) -> tuple:
        if rec.best is None:
            return (1, 0.0)
        cost = cost_of.get(rec.best.config)
        value = cost.cost_per_epoch if priced and cost else rec.best.epoch_seconds
        return (0, value)

    ranked = sorted(found_recs, key=order)
    answers, rank, opener, position = [], 0, None, 0
    for rec in ranked:
        if rec.best is not None:
            position += 1
            # A best whose interval overlaps the one that opened the rank shares it: no measurable
            # difference between them (their epoch seconds scale as the inverse of images/s).
            if opener is None or not derive.overlap(opener.interval, rec.best.interval):
                opener, rank = rec.best, position
        answers.append(Answer(rank if rec.best is not None else None, rec,
                              cost_of.get(rec.best.config) if rec.best else None, trust[rec.where[0]]))
    order_of_machines = list(dict.fromkeys(a.recommendation.where[0] for a in answers if a.rank))
    prices = {machine: price for machine, (price, _) in machine_prices(run_prices or {}, file_prices).items()}
    best_epochs = {rec.where: rec.best for rec in found_recs if rec.best is not None}
    return Analysis(cases, found_verdicts, found_recs, found_costs, trust, answers,
                    comparisons(eager, order_of_machines, thresholds), ranked_by, currency,
                    scaling=list(scaling), compile_payoffs=payoffs(cases),
                    to_target=to_target_answers(cases, best_epochs, prices))
