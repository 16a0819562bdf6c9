"""R7 "dates are real": an Attempt may not be dated after the commit that wrote it, nor after now.

A header with a time and a zone (``[2026-01-17T051737Z]``, ``[2025-09-30 02:40 UTC]``) is an
instant and is compared exactly. A bare date (``[2025-10-06]``) may have been written in any
time zone, so it is late only when no time zone had reached that date yet: later than the
reference instant's date at UTC+14.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from loopkit.git import Git
from loopkit.model import Attempt, Ledger

BLAME_TIMEOUT_S = 120.0
EARLIEST_ZONE = timedelta(hours=14)  # UTC+14 (Line Islands): the first place a date begins
INSTANT_RES = (
    re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):?(\d{2}):?(\d{2})?Z$"),
    re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?\s*(?:UTC|Z)$"),
)


@dataclass
class WrittenAt:
    """When a ledger line entered the history: its commit (None: not committed yet)."""

    commit: str | None
    time: datetime | None


def attempt_when(att: Attempt) -> datetime | date | None:
    """The header's instant (zoned timestamp) or calendar date; None when undated."""
    stamp = att.stamp.strip()
    for pattern in INSTANT_RES:
        match = pattern.match(stamp)
        if match:
            day, hh, mm, ss = match.groups()
            return datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss or '00'}+00:00")
    try:
        return date.fromisoformat(stamp[:10]) if stamp else None
    except ValueError:
        return None


def later_than(when: datetime | date, ref: datetime) -> bool:
    if isinstance(when, datetime):
        return when > ref
    return when > (ref.astimezone(UTC) + EARLIEST_ZONE).date()


def blame_times(root: Path, rel: str) -> dict[int, WrittenAt]:
    """1-based line -> the commit that last wrote it, from ``git blame`` of the working tree.
    The commit that first added a line is never later, so a date after it is always late."""
    blame = Git(root, BLAME_TIMEOUT_S).output("blame", "--line-porcelain", "--", rel,
                                              strip=False, errors="replace")
    if blame is None:
        return {}
    found: dict[int, WrittenAt] = {}
    sha, line_no, when = "", 0, None
    for row in blame.splitlines():
        head = re.match(r"^([0-9a-f]{40}) \d+ (\d+)", row)
        if head:
            sha, line_no, when = head.group(1), int(head.group(2)), None
        elif row.startswith("committer-time "):
            when = datetime.fromtimestamp(int(row.split()[1]), UTC)
        elif row.startswith("\t"):
            committed = sha.strip("0") != ""
            found[line_no] = WrittenAt(sha if committed else None, when if committed else None)
    return found


def late_attempts(ledger: Ledger, now: datetime, written: dict[int, WrittenAt],
                  only: set[tuple[str, int]] | None = None) -> list[tuple[int, str]]:
    """(line, message) for each Attempt dated after its commit, or (uncommitted) after now.
    ``only`` limits the check to some (item, line) pairs."""
    found: list[tuple[int, str]] = []
    for item in ledger.items:
        for att in item.attempts:
            if only is not None and (item.item_id, att.line) not in only:
                continue
            when = attempt_when(att)
            if when is None:
                continue
            origin = written.get(att.line)
            if origin is not None and origin.time is not None:
                if later_than(when, origin.time):
                    found.append((att.line, f"{item.item_id} Attempt #{att.n} is dated "
                                  f"{att.stamp}, after the commit that wrote it "
                                  f"({origin.commit[:10]}, {_iso(origin.time)})"))
            elif later_than(when, now):
                found.append((att.line, f"{item.item_id} Attempt #{att.n} is dated {att.stamp}, "
                              f"after now ({_iso(now)})"))
    return found


def _iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
