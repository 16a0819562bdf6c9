"""Parse ``docs/fix_plan.md`` losslessly: every line is kept; fields and Attempts are indexed.

An item runs from its ``## [ID] Title`` heading to the next level-1 or level-2 heading of any
kind; a plain section such as ``## Queued Items`` belongs to no item (it is kept verbatim as the
preceding item's trailer). Attempt headers come in every style the loop has used:
``[2025-10-06] Attempt #N``, ``[2026-01-17T051737Z] Attempt #N``, ``[2025-09-30 02:40 UTC]
Attempt #N``, ``**Attempt #N (2025-09-30 debug loop)**`` and the undated ``Attempt #N —``.
"""

from __future__ import annotations

import re

from loopkit.model import Attempt, IndexRow, Ledger, LedgerItem
from loopkit.parsers.common import ITEM_ID_RE, check_text, split_cells

ITEM_RE = re.compile(r"^##\s+\[(?P<id>[^\]\n]+)\]\s*(?P<title>.*?)\s*$")
SECTION_END_RE = re.compile(r"^#{1,2}\s")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
FIELD_RE = re.compile(r"^[-*]\s+(?P<key>[A-Z][^:\n]{0,60}?):(?:\s+(?P<value>.*?))?\s*$")
DATE = r"\d{4}-\d{2}-\d{2}"
#: a dated header: ``* [2025-10-06] Attempt #N``, ``[2026-01-17T051737Z]``, ``[… 02:40 UTC]``
DATED_RE = re.compile(
    rf"^(?P<indent>\s*)[*-]\s+\[(?P<stamp>{DATE}(?:[T ][\d:]+(?:\s*UTC|Z)?)?)\]\s+"
    r"(?:\*\*)?Attempt\s+#(?P<n>\d+)(?P<rest>.*)$")
#: bold or undated: ``* **Attempt #1 (2025-09-30 debug loop)**: ...``, ``* Attempt #3 — ...``
UNDATED_RE = re.compile(
    r"^(?P<indent>\s*)(?:[*-]\s+)?(?P<bold>\*\*)?Attempt\s+#(?P<n>\d+)"
    r"(?P<rest>(?:\s*\(|\s*\*\*|\s*[—–:]|\s+-\s|\s*$).*)$")
ACTOR_RE = re.compile(r"^\s*\((?P<actor>[^)]*)\)")
ACTORS = ("galph", "ralph")
RESULT_RE = re.compile(r"(?:Result|Status):\s*(?P<result>[^.;\n]*)")
BOLD_RESULT_RE = re.compile(r"\*\*\s*[:—–-]\s*(?P<result>[^.;\n]*)")
RUN_TAG_RE = re.compile(r"<!--\s*loopkit:attempt\b[^>]*\brun=(?P<run>\S+?)\s")
TASK_TAG_RE = re.compile(r"<!--\s*loopkit:attempt\b[^>]*\btask=(?P<task>\S+?)\s")
ARCHIVED_RE = re.compile(r"<!--\s*loopkit:archived\b[^>]*\bmax=(?P<max>\d+)")
INDEX_ROW_RE = re.compile(r"^\|\s*\[(?P<id>[^\]]+)\]\(#(?P<anchor>[^)]*)\)")
#: ``Attempt #20``, ``Attempts #26–#28``, ``Attempts #43–44``, ``Attempts #1…#5``, ``#3, #4 and #6``
MENTION_RE = re.compile(
    r"\bAttempts?\s+(?P<nums>#\d+(?:[–—-]\d+\b|\s*(?:[–—,/&-]|\.\.\.|…|and|to)\s*#\d+)*)")

FIELD_ALIASES = {"Plan References": "Plan Reference", "Plan": "Plan Reference"}
RESULT_WORDS = (
    ("✅", "success"), ("❌", "failed"), ("⚠", "partial"), ("📋", "planning"), ("⏸", "blocked"),
    ("success", "success"), ("succeed", "success"), ("complete", "success"), ("fail", "failed"),
    ("partial", "partial"), ("blocked", "blocked"), ("planning", "planning"),
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


def item_bounds(lines: list[str]) -> list[tuple[int, int, int]]:
    """(start, end, trailer end) of every item: an item ends at the next level-1/2 heading
    (outside code fences); the lines up to the next item heading are its trailer."""
    starts: list[int] = []
    ends: list[int] = []
    fenced = False
    for i, line in enumerate(lines):
        if FENCE_RE.match(line):
            fenced = not fenced
        if fenced or not SECTION_END_RE.match(line):
            continue
        if len(ends) < len(starts):
            ends.append(i)
        if ITEM_RE.match(line):
            starts.append(i)
    if len(ends) < len(starts):
        ends.append(len(lines))
    trailer_ends = starts[1:] + [len(lines)] if starts else []
    return list(zip(starts, ends, trailer_ends, strict=True))


def parse_ledger(text: str, path: str = "docs/fix_plan.md") -> Ledger:
    check_text(path, text)
    lines = text.splitlines(keepends=True)
    bounds = item_bounds(lines)
    head_end = bounds[0][0] if bounds else len(lines)
    ledger = Ledger(path=path, head=lines[:head_end], items=[])
    _parse_index(ledger)
    for start, end, trailer_end in bounds:
        item = _parse_item(lines[start:end], start + 1)
        item.trailer = lines[end:trailer_end]
        ledger.items.append(item)
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


def _history_span(lines: list[str]) -> tuple[int, int] | None:
    """Lines of the item's ``Attempts History`` field (up to the next top-level field)."""
    start = None
    for i, line in enumerate(lines[1:], start=1):
        match = FIELD_RE.match(line)
        if match and start is None and _field_key(match.group("key")) == "Attempts History":
            start = i
        elif match and start is not None:
            return start, i
    return (start, len(lines)) if start is not None else None


def _header_match(line: str, in_history: bool) -> re.Match[str] | None:
    """A dated header counts anywhere in the item; bold and undated ones only at the top
    level of the Attempts History (elsewhere ``- Attempt #20 confirms`` is prose)."""
    return DATED_RE.match(line) or (UNDATED_RE.match(line) if in_history else None)


def _parse_item(lines: list[str], first_line: int) -> LedgerItem:
    head = ITEM_RE.match(lines[0])
    assert head is not None
    item = LedgerItem(head.group("id").strip(), head.group("title"), lines, first_line)
    history = _history_span(lines)
    block_end = 0
    for i, line in enumerate(lines[1:], start=1):
        match = FIELD_RE.match(line)
        if match:
            key = _field_key(match.group("key"))
            item.fields.setdefault(key, (match.group("value") or "").strip())
        if i < block_end:  # inside the previous Attempt's block: its own sub-bullets
            continue
        in_history = history is not None and history[0] < i < history[1]
        att = _header_match(line, in_history)
        if att:
            item.attempts.append(_parse_attempt(att, lines, i, first_line))
            block_end = item.attempts[-1].end
    return item


def _block_end(lines: list[str], i: int, indent: int) -> int:
    end = i + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        end += 1
    while end > i + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _parse_attempt(match: re.Match[str], lines: list[str], i: int, first_line: int) -> Attempt:
    end = _block_end(lines, i, len(match.group("indent")))
    rest = match.group("rest")
    groups = match.groupdict()
    stamp = groups.get("stamp") or ""
    paren = ACTOR_RE.match(rest)
    words = paren.group("actor").replace(",", " ").split() if paren else []
    if not stamp and paren:  # the bold style dates itself inside the parentheses
        dated = re.search(DATE, paren.group("actor"))
        stamp = dated.group(0) if dated else ""
    actor = next((w for w in words if w.lower() in ACTORS), None)
    if actor is None and groups.get("stamp") and words:
        actor = words[0]
    result = RESULT_RE.search(rest) or (BOLD_RESULT_RE.search(rest) if groups.get("bold")
                                        else None)
    raw = result.group("result").strip() if result else ""
    block = "".join(lines[i:end])
    task = TASK_TAG_RE.search(block)
    return Attempt(
        n=int(match.group("n")), date=stamp[:10], actor=actor, result_raw=raw,
        result=normalize_result(raw) if raw else "other", start=i, end=end,
        run_ids=RUN_TAG_RE.findall(block), line=first_line + i, stamp=stamp,
        task=task.group("task") if task else None)


def mentioned_numbers(item: LedgerItem) -> set[int]:
    """Attempt numbers the item's text cites (``Attempt #20 confirms``, ``Attempts #26–#28``),
    except those that follow another item's id (``[TEST-SUITE-TRIAGE-001] Attempt #3``)."""
    found: set[int] = set()
    for line in item.lines:
        for match in MENTION_RE.finditer(line):
            before = line[max(0, match.start() - 40):match.start()]
            ids = ITEM_ID_RE.findall(before)
            if ids and ids[-1] != item.item_id and re.search(
                    re.escape(ids[-1]) + r"[`\]\s]*$", before):
                continue
            found.update(int(n) for n in re.findall(r"\d+", match.group("nums")))
    return found


def max_attempt(item: LedgerItem | None) -> int:
    """Highest attempt number an item knows of: its Attempt headers of every style, the numbers
    its own text cites (an Attempt restructured away may survive only as a citation), and
    archived-range pointers."""
    if item is None:
        return 0
    best = max((a.n for a in item.attempts), default=0)
    best = max(best, *mentioned_numbers(item), 0)
    for line in item.lines:
        archived = ARCHIVED_RE.search(line)
        if archived:
            best = max(best, int(archived.group("max")))
    return best
