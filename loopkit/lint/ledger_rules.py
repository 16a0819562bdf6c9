"""The ledger rules: items, the index and Attempt numbering, Attempts dated too late."""

from __future__ import annotations

from loopkit.ledger_dates import late_attempts
from loopkit.lint.rule import Finding, LedgerContext
from loopkit.model import Ledger, LedgerItem
from loopkit.parsers.common import slugify


def check_items(ledger: Ledger, ctx: LedgerContext) -> list[Finding]:
    """Each item once, with a status of the vocabulary, its Attempts numbered, in budget."""
    found: list[Finding] = []
    seen: dict[str, int] = {}
    for item in ledger.items:
        if item.item_id in seen:
            found.append(Finding("error", item.line, f"duplicate item {item.item_id}"))
        seen[item.item_id] = item.line
        found += _lint_item(item, ctx)
    return found


def check_index(ledger: Ledger, ctx: LedgerContext) -> list[Finding]:
    """Each index row names one item, once, with its status and its heading's anchor."""
    found: list[Finding] = []
    listed: set[str] = set()
    items = {i.item_id: i for i in ledger.items}
    for row in ledger.index:
        if row.item_id in listed:
            found.append(Finding("error", row.line, f"index lists {row.item_id} twice"))
        listed.add(row.item_id)
        item = items.get(row.item_id)
        if item is None:
            found.append(Finding("error", row.line, f"index row {row.item_id} has no item"))
            continue
        if row.status.strip() != item.status:
            found.append(Finding("error", row.line, f"{row.item_id}: index status "
                                 f"{row.status!r} but item says {item.status!r}"))
        if row.anchor != slugify(f"[{item.item_id}] {item.title}"):
            found.append(Finding("warning", row.line, f"{row.item_id}: anchor #{row.anchor} does "
                                 "not match the heading"))
    return found


def check_index_coverage(ledger: Ledger, ctx: LedgerContext) -> list[Finding]:
    """Every item is in the index (a ledger without an index misses nothing)."""
    if ledger.index_span is None:
        return []
    listed = {row.item_id for row in ledger.index}
    return [Finding("error", i.line, f"{i.item_id} missing from the index")
            for i in ledger.items if i.item_id not in listed]


def check_late_attempts(ledger: Ledger, ctx: LedgerContext) -> list[Finding]:
    """With a clock: Attempts dated after the commit that wrote them or after now."""
    if ctx.now is None:
        return []
    return [Finding("error", line, message)
            for line, message in late_attempts(ledger, ctx.now, ctx.written)]


def _lint_item(item: LedgerItem, ctx: LedgerContext) -> list[Finding]:
    cfg = ctx.cfg
    found: list[Finding] = []
    if item.status and item.status not in cfg.vocab.status:
        found.append(Finding("warning", item.line, f"{item.item_id}: status {item.status!r} "
                             "not in vocabulary"))
    numbers = [a.n for a in item.attempts]
    dupes = sorted({n for n in numbers if numbers.count(n) > 1})
    if dupes:
        found.append(Finding("error", item.line, f"{item.item_id}: duplicate attempt numbers "
                             f"{dupes}"))
    for prev, cur in zip(item.attempts, item.attempts[1:], strict=False):
        if cur.n < prev.n:
            found.append(Finding("warning", cur.line, f"{item.item_id}: Attempt #{cur.n} after "
                                 f"#{prev.n}"))
    size = sum(len(line.encode("utf-8", "surrogateescape")) for line in item.lines)
    if size > cfg.budgets.item_bytes:
        found.append(Finding("warning", item.line, f"{item.item_id}: {size} bytes > item budget "
                             f"{cfg.budgets.item_bytes}"))
    return found
