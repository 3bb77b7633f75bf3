"""The result files under tests/data/recorded/, recorded by this version of the harness on this VM."""

import json
from pathlib import Path

RECORDED = Path(__file__).parent / "data" / "recorded"


def recorded_documents() -> list[tuple[Path, dict]]:
    """(path, parsed document) of every recorded results file, sorted by name."""
    found = []
    for path in sorted(RECORDED.glob("*.json")):
        try:
            found.append((path, json.loads(path.read_text(encoding="utf-8"))))
        except ValueError:
            continue
    return found
