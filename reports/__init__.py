"""cifarbench's HTML report: a pipeline of pure, typed stages over pytest-benchmark JSON files.

    load (files -> records) -> runs (machines kept apart, runs listed) -> tidy (one long
    DataFrame) -> cases (typed `Case`s keyed by `Config`) -> verdicts, advice, costs, trust,
    compare (`analysis.analyse`) -> words (sentences) -> charts (`Chart`) -> display (formats)
    and columns (the column spec) -> the page's parts (answer, evidence, results, machines,
    frame, figures) -> `report.build_report_data` (`ReportData`) -> html (the page)

Only the command-line entry (`python -m reports`) touches the filesystem beyond reading the
result files. Nothing here imports torch.
"""
