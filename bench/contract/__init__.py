"""The results file's contract, as code: every key, unit, word and derived figure, defined once.

Like pytest-benchmark's `hookspec.py` (the documentation of every hook and the module its
plugin manager loads), this package is both the written contract and the code both sides use:
the harness (bench/) writes the JSON with these keys, the report (reports/) reads it with the
same ones, and `tests/test_contract.py` checks real files, a live sweep's included, against it.

The rule for figures: **bench/ writes raw measured facts; a derived figure has one function.**
Raw: what a timer, counter or sampler read (each round's seconds, images per round, FLOPs per
image, joules over the rounds, the sampler's summaries, the canary's readings). Derived:
anything computed from raw facts (images/s, its interval, TFLOP/s, spreads, seconds per full
epoch, scaling efficiency, joules per epoch, the run's pooled noise). Each derived figure is
computed by exactly one function in `bench.contract.derive`; the harness calls it where it
writes a headline figure into the JSON (for readers without the report), and the report calls
the same function for everything else and for older files that lack the figure.

Modules: `schema` (how a key is written down: `Key`, `Section`, `Spec`), `keys` (every section
of the file), `vocab` (groups, axes, trust levels, phases, the 50,000-image epoch, the tutorial's
settings), `reasons` (trust reasons as records), `derive` (derived figures), `check` (checking
a file, and `upgrade`, the one path by which older files are read). Standard library only: no
torch, no pandas.
"""

from bench.contract import derive, vocab
from bench.contract.check import RETIRED, problems, upgrade
from bench.contract.keys import (
    GROUPS,
    Canary,
    Case,
    Compile,
    Converge,
    ConvergeRun,
    Ddp,
    Epoch,
    File,
    FileTrust,
    Forward,
    Loader,
    Machine,
    PhaseOverhead,
    Preflight,
    SamplerOverhead,
    TrainStep,
    Trust,
    documented_case_keys,
    group_section,
)
from bench.contract.reasons import CODES, Reason
from bench.contract.schema import Key, Section, Spec

__all__ = [
    "CODES", "GROUPS", "RETIRED", "Canary", "Case", "Compile", "Converge", "ConvergeRun", "Ddp", "Epoch", "File",
    "FileTrust", "Forward", "Key", "Loader", "Machine", "PhaseOverhead", "Preflight", "Reason", "SamplerOverhead",
    "Section", "Spec", "TrainStep", "Trust", "derive", "documented_case_keys", "group_section", "problems", "upgrade",
    "vocab",
]
