"""The turn journal ``.loopkit/turns.jsonl``: one JSON record per finished turn, append-only.

The loop's state (the next turn number, whose turn it is, the failure streak) is derived from
it, never from a separate state file that could drift. A line that does not parse, a conflict
marker, a record without its keys, or turn numbers that do not run 1, 2, 3 ... is an error
naming the file and line; nothing is ever reset to a default (§5.5 weakness 4). The file is
rewritten atomically with the old content as a verified prefix, so a kill -9 leaves the old
or the new journal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopkit.errors import LoopkitError, ParseError
from loopkit.fsio import atomic_write, read_text

VERDICTS = ("ok", "failed", "aborted")
REQUIRED = ("turn", "role", "verdict", "reason", "start", "end")
CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


@dataclass
class Journal:
    path: Path
    rel: str
    records: list[dict[str, Any]]

    @property
    def last_turn(self) -> int:
        return self.records[-1]["turn"] if self.records else 0

    def record(self, turn: int) -> dict[str, Any] | None:
        return self.records[turn - 1] if 0 < turn <= len(self.records) else None


def parse_journal(text: str, rel: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(CONFLICT_MARKERS):
            raise ParseError(rel, number, "conflict marker in the turn journal (a bad merge); "
                             "repair it by hand from git history, loopkit will not guess")
        if not line.strip():
            raise ParseError(rel, number, "empty line in the turn journal")
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParseError(rel, number, f"not a JSON record: {exc.msg}") from exc
        _check_record(rec, rel, number, len(records) + 1)
        records.append(rec)
    if text and not text.endswith("\n"):
        raise ParseError(rel, len(text.splitlines()), "last record is not terminated")
    return records


def _check_record(rec: Any, rel: str, number: int, expected_turn: int) -> None:
    if not isinstance(rec, dict):
        raise ParseError(rel, number, "a record must be a JSON object")
    missing = [key for key in REQUIRED if key not in rec]
    if missing:
        raise ParseError(rel, number, f"record lacks {', '.join(missing)}")
    if rec["verdict"] not in VERDICTS:
        raise ParseError(rel, number, f"unknown verdict {rec['verdict']!r}")
    if rec["turn"] != expected_turn:
        raise ParseError(rel, number, f"turn {rec['turn']!r} where turn {expected_turn} "
                         "was expected (turns are numbered 1, 2, 3 ... without gaps)")


def load_journal(root: Path, rel: str) -> Journal:
    path = root / rel
    text = read_text(path) if path.is_file() else ""
    return Journal(path, rel, parse_journal(text, rel))


def journal_text(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, sort_keys=True, ensure_ascii=True) + "\n" for r in records)


def append_record(journal: Journal, record: dict[str, Any]) -> None:
    """Append one record; the file on disk must still be what was read (append-only)."""
    on_disk = read_text(journal.path) if journal.path.is_file() else ""
    if on_disk != journal_text(journal.records):
        raise LoopkitError(f"{journal.rel} changed on disk since it was read; not appending")
    if record["turn"] != journal.last_turn + 1:
        raise LoopkitError(f"{journal.rel}: turn {record['turn']} does not follow "
                           f"turn {journal.last_turn}")
    new_records = [*journal.records, record]
    parse_journal(journal_text(new_records), journal.rel)  # the same checks as a reader
    atomic_write(journal.path, on_disk + journal_text([record]))
    journal.records = new_records
