"""The page's parts, in reading order: `answer` (the first screen), `evidence` (why), `result_tables`
(every table as measured), `machine_tables` (where it was measured), `frame` (lead, notices, method,
footer)."""
