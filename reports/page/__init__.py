"""The page: findings and frames -> what the reader sees. `display` formats every number, `columns`
declares every table column, `words` writes every sentence; `parts/` builds the page's tables and
notes, `charts/` its figures, `figures` embeds them; `build` runs the whole pipeline into a
`ReportData` and `html` renders that with `templates/`."""
