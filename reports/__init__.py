"""cifarbench's HTML report: a pipeline of pure, typed stages over pytest-benchmark JSON files.

The stages, in order, one sub-package each: `reading` turns files into data (load: files ->
records; runs: machines kept apart, runs listed; tidy: records -> one long DataFrame, with the
machines frame, the cases not measured and the timelines beside it; cases: typed `Case`s keyed
by `Config`; prices); `analysis` turns cases into findings (`analyse` gathers verdicts, advice,
costs, machine trust, like-for-like comparisons, compile payoff and scaling points into an
`Analysis`); `page` shows them (display formats numbers, columns declares table columns, words
writes sentences, `parts/` builds the tables and notes, `charts/` the figures; `build` runs the
pipeline into a `ReportData` and `html` renders it). Each stage imports only those before it.

Only the command-line entry (`python -m reports`) touches the filesystem beyond reading the
result files. Nothing here imports torch.
"""
