"""Parse ``docs/fix_plan.md`` losslessly: every line is kept; fields and Attempts are indexed."""

from __future__ import annotations

import re

from loopkit.model import Attempt, IndexRow, Ledger, LedgerItem
from loopkit.parsers.common import check_text, split_cells

ITEM_RE = re.compile(r"^##\s+\[(?P<id>[^\]\n]+)\]\s*(?P<title>.*?)\s*$")
FIELD_RE = re.compile(r"^[-*]\s+(?P<key>[A-Z][^:\n]{0,60}?):(?:\s+(?P<value>.*?))?\s*$")
ATTEMPT_RE = re.compile(
    r"^(?P<indent>\s*)[*-]\s+\[(?P<date>\d{4}-\d{2}-\d{2})\]\s+Attempt\s+#(?P<n>\d+)(?P<rest>.*)$")
ACTOR_RE = re.compile(r"^\s*\((?P<actor>[^)]*)\)")
RESULT_RE = re.compile(r"Result:\s*(?P<result>[^.;\n]*)")
RUN_TAG_RE = re.compile(r"<!--\s*loopkit:attempt\b[^>]*\brun=(?P<run>\S+?)\s")
ARCHIVED_RE = re.compile(r"<!--\s*loopkit:archived\b[^>]*\bmax=(?P<max>\d+)")
INDEX_ROW_RE = re.compile(r"^\|\s*\[(?P<id>[^\]]+)\]\(#(?P<anchor>[^)]*)\)")

FIELD_ALIASES = {"Plan References": "Plan Reference", "Plan": "Plan Reference"}
RESULT_WORDS = (
    ("✅", "success"), ("❌", "failed"), ("⚠", "partial"), ("📋", "planning"), ("⏸", "blocked"),
    ("success", "success"), ("complete", "success"), ("fail", "failed"), ("partial", "partial"),
    ("blocked", "blocked"), ("planning", "planning"),
)


def normalize_result(raw: str) -> str:
    low = raw.lower()
    for token, value in RESULT_WORDS:
        if token in low:
            return value
    return "other"


def _field_key(raw: str) -> str:
    key = re.sub(r"\s*\(.*$", "", raw).strip()
    return FIELD_ALIASES.get(key, key)


def parse_ledger(text: str, path: str = "docs/fix_plan.md") -> Ledger:
    check_text(path, text)
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("## [") and ITEM_RE.match(line)]
    head_end = starts[0] if starts else len(lines)
    ledger = Ledger(path=path, head=lines[:head_end], items=[])
    _parse_index(ledger)
    bounds = starts + [len(lines)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        ledger.items.append(_parse_item(lines[a:b], a + 1))
    return ledger


def _parse_index(ledger: Ledger) -> None:
    first = last = None
    for i, line in enumerate(ledger.head):
        match = INDEX_ROW_RE.match(line)
        if not match:
            continue
        cells = split_cells(line)
        cells += [""] * (4 - len(cells))
        ledger.index.append(IndexRow(match.group("id"), cells[1], match.group("anchor"),
                                     cells[2], cells[3], i + 1))
        first = i if first is None else first
        last = i
    if first is not None and last is not None:
        ledger.index_span = (first, last + 1)


def _parse_item(lines: list[str], first_line: int) -> LedgerItem:
    head = ITEM_RE.match(lines[0])
    assert head is not None
    item = LedgerItem(head.group("id").strip(), head.group("title"), lines, first_line)
    for i, line in enumerate(lines[1:], start=1):
        match = FIELD_RE.match(line)
        if match:
            key = _field_key(match.group("key"))
            item.fields.setdefault(key, (match.group("value") or "").strip())
        att = ATTEMPT_RE.match(line)
        if att:
            item.attempts.append(_parse_attempt(att, lines, i, first_line))
    return item


def _parse_attempt(match: re.Match[str], lines: list[str], i: int, first_line: int) -> Attempt:
    indent = len(match.group("indent"))
    end = i + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        end += 1
    while end > i + 1 and not lines[end - 1].strip():
        end -= 1
    rest = match.group("rest")
    actor = ACTOR_RE.match(rest)
    result = RESULT_RE.search(rest)
    raw = result.group("result").strip() if result else ""
    block = "".join(lines[i:end])
    return Attempt(
        n=int(match.group("n")), date=match.group("date"),
        actor=actor.group("actor").split()[0] if actor and actor.group("actor").split() else None,
        result_raw=raw, result=normalize_result(raw) if raw else "other", start=i, end=end,
        run_ids=RUN_TAG_RE.findall(block), line=first_line + i)


def max_attempt(item: LedgerItem | None) -> int:
    """Highest attempt number an item knows of, including archived-range pointers."""
    if item is None:
        return 0
    best = max((a.n for a in item.attempts), default=0)
    for line in item.lines:
        archived = ARCHIVED_RE.search(line)
        if archived:
            best = max(best, int(archived.group("max")))
    return best
