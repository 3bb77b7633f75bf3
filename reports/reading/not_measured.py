"""The cases a sweep skipped or that failed, with their reason, from the runs' own case lists."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from reports.reading.load import Record


def cases_not_measured(records: Iterable[Record]) -> pd.DataFrame:
    """The sweep's skipped and failed cases, with their reason (one row per case per file)."""
    rows = []
    seen: set[str] = set()
    for record in records:
        if record.file in seen:
            continue
        seen.add(record.file)
        for case in record.run.get("cases") or []:
            if not isinstance(case, dict) or case.get("outcome") == "passed":
                continue
            params = case.get("params") or {}
            rows.append({
                "machine": record.machine,
                "group": case.get("group"),
                "nodeid": case.get("nodeid"),
                "params": ", ".join(f"{key}={value}" for key, value in params.items()),
                "outcome": case.get("outcome"),
                "when": case.get("when"),
                "reason": case.get("reason"),
            })
    return pd.DataFrame(rows, columns=["machine", "group", "nodeid", "params", "outcome", "when", "reason"])
