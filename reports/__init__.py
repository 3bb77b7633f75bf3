"""cifarbench's HTML report: a pipeline of pure stages over pytest-benchmark JSON files.

    load (files -> records) -> tidy (records -> one long DataFrame) -> charts (DataFrame ->
    figures) -> html (everything -> one self-contained page)

Only the command-line entry (`python -m reports`) touches the filesystem beyond reading the
result files. Nothing here imports torch.
"""
