"""The page's parts, in reading order: `answer` (the first screen: the answer table, by time to a trained
classifier or by epoch time, and the machines' cards), `evidence` (why), `result_tables`
(every table as measured), `machine_tables` (where it was measured), `frame` (lead, notices, method,
footer)."""
