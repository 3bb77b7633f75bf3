"""Analysis: typed cases -> findings (`analyse.analyse` gathers them into an `Analysis`): verdicts,
advice, costs, machine trust, like-for-like machine comparisons, compile payoff and scaling points.
Values only: no sentence, number format or chart is made here."""
