"""An adaptive search for the fastest epoch configuration within a wall-clock budget (`--bench-sweep auto`).

Pure standard library (no torch): the caller measures, the search decides what to measure.

- candidates.py: `Candidate` (one configuration) and `build_candidates` (axis values, threads
  tried with workers, the tutorial's settings as the reference).
- records.py: what a search exchanges and keeps (`Trial`, `Measurement`, `TrialRecord`,
  `SearchResult`, ...) and what every decision, reason and stop code means.
- scheduler.py: `Search`, successive halving under the budget, and `steps` to drive it; its
  docstring has the scheme and why it is not Optuna's pruner.
- rules.py: domain pruning rules (`DEFAULT_RULES`).
- standings.py: figures with intervals, the cut between rungs, ties at the end.
- costs.py: the expected seconds of a measurement from those made so far.
"""

from bench.search.candidates import Candidate, CandidateSet, build_candidates, threads_for
from bench.search.records import Measurement, Progress, SearchResult, Standing, Stop, Trial, TrialRecord
from bench.search.rules import DEFAULT_RULES, Observation, OutOfMemoryBound, WorkersWithoutInputWait
from bench.search.scheduler import Search, steps

__all__ = [
    "DEFAULT_RULES",
    "Candidate",
    "CandidateSet",
    "Measurement",
    "Observation",
    "OutOfMemoryBound",
    "Progress",
    "Search",
    "SearchResult",
    "Standing",
    "Stop",
    "Trial",
    "TrialRecord",
    "WorkersWithoutInputWait",
    "build_candidates",
    "steps",
    "threads_for",
]
