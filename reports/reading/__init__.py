"""Reading: result files -> records (`load`) -> runs kept apart (`runs`) -> one long frame (`tidy`,
with the machines frame, the cases not measured and the timelines beside it) -> typed `Case`s
keyed by `Config` (`cases`); and the prices file (`prices`)."""
