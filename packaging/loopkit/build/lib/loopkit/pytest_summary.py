"""Parse the final summary line of a pytest run ("1 failed, 2 passed, 1 skipped in 0.5s")."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

COUNT_RE = re.compile(
    r"(\d+)\s+(passed|failed|skipped|errors?|xfailed|xpassed|warnings?|deselected|rerun)\b")
DURATION_RE = re.compile(r"\bin\s+([\d.]+)s\b")
COLLECTED_RE = re.compile(r"(\d+)(?:/\d+)?\s+tests?\s+collected|collected\s+(\d+)\s+items?")
SUMMARY_HINT_RE = re.compile(
    r"(\d+\s+(passed|failed|skipped|errors?|xfailed|xpassed|deselected)\b.*\bin\s+[\d.]+s)"
    r"|no tests ran|tests? collected")


@dataclass
class PytestCounts:
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    xfailed: int = 0
    xpassed: int = 0
    deselected: int = 0
    collected: int | None = None
    duration_s: float | None = None
    line: str = ""

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def parse_pytest_summary(output: str) -> PytestCounts | None:
    """Counts from the last pytest summary line in ``output``; None when there is none."""
    summary = None
    for line in reversed(output.splitlines()):
        if SUMMARY_HINT_RE.search(line):
            summary = line.strip()
            break
    if summary is None:
        return None
    counts = PytestCounts(line=summary)
    for number, word in COUNT_RE.findall(summary):
        key = {"error": "errors", "warning": "warnings", "warnings": "warnings"}.get(word, word)
        if hasattr(counts, key):
            setattr(counts, key, int(number))
    duration = DURATION_RE.search(summary)
    counts.duration_s = float(duration.group(1)) if duration else None
    collected = None
    for line in output.splitlines():
        match = COLLECTED_RE.search(line)
        if match:
            collected = int(match.group(1) or match.group(2))
    counts.collected = collected
    return counts
