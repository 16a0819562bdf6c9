"""Ledger writer: untouched text is emitted verbatim; new Attempts and the index are canonical."""

from __future__ import annotations

from dataclasses import dataclass, field

from loopkit.model import Ledger, LedgerItem
from loopkit.parsers.common import slugify
from loopkit.parsers.ledger import FIELD_RE, parse_ledger


@dataclass
class NewAttempt:
    item_id: str
    n: int
    date: str
    result: str
    summary: str
    run_id: str
    actor: str | None = None
    metrics: list[str] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)
    observations: list[str] = field(default_factory=list)
    next_actions: str = ""
    task: str | None = None


def render_ledger(ledger: Ledger) -> str:
    return "".join(ledger.head) + "".join("".join(item.lines) + "".join(item.trailer)
                                          for item in ledger.items)


def render_attempt(att: NewAttempt, indent: str = "  ") -> list[str]:
    actor = f" ({att.actor})" if att.actor else ""
    summary = att.summary.strip().replace("\n", " ")
    lines = [f"{indent}* [{att.date}] Attempt #{att.n}{actor} — Result: {att.result}."
             + (f" {summary}" if summary else "")]
    sub = indent + "  "
    task = f" task={att.task}" if att.task else ""
    tag = f"item={att.item_id} n={att.n} run={att.run_id}{task}"
    lines.append(f"{sub}<!-- loopkit:attempt {tag} -->")
    lines.append(f"{sub}Metrics: " + ("; ".join(att.metrics) if att.metrics else "none recorded"))
    lines.append(f"{sub}Artifacts:")
    lines += [f"{sub}  - `{path}`" for path in att.artifacts] or [f"{sub}  - none"]
    if att.observations:
        lines.append(f"{sub}Observations/Hypotheses:")
        lines += [f"{sub}  - {obs}" for obs in att.observations]
    if att.next_actions:
        lines.append(f"{sub}Next Actions: {att.next_actions}")
    return [line + "\n" for line in lines]


def _field_span(item: LedgerItem, key_prefix: str) -> tuple[int, int] | None:
    start = None
    for i, line in enumerate(item.lines[1:], start=1):
        match = FIELD_RE.match(line)
        if match and start is None and match.group("key").startswith(key_prefix):
            start = i
        elif match and start is not None:
            return start, _trim_end(item.lines, start, i)
    if start is None:
        return None
    return start, _trim_end(item.lines, start, len(item.lines))


def _trim_end(lines: list[str], start: int, end: int) -> int:
    while end > start + 1 and (not lines[end - 1].strip() or lines[end - 1].strip() == "---"):
        end -= 1
    return end


def insert_attempt(ledger: Ledger, att: NewAttempt) -> Ledger:
    """Append ``att`` at the end of the item's Attempts History; returns the re-parsed ledger."""
    item = ledger.item(att.item_id)
    if item is None:
        raise KeyError(att.item_id)
    span = _field_span(item, "Attempts History")
    if span is None:
        at = _trim_end(item.lines, 0, len(item.lines))
        _ensure_newline(item.lines, at)
        item.lines[at:at] = ["- Attempts History:\n", *render_attempt(att)]
    else:
        inside = [a for a in item.attempts if span[0] < a.start < span[1]]
        at = max((a.end for a in inside), default=span[1])
        indent = _indent_of(item.lines[inside[-1].start]) if inside else "  "
        _ensure_newline(item.lines, at)
        item.lines[at:at] = render_attempt(att, indent)
    return parse_ledger(render_ledger(ledger), ledger.path)


def _ensure_newline(lines: list[str], at: int) -> None:
    if at > 0 and not lines[at - 1].endswith("\n"):
        lines[at - 1] += "\n"


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def index_rows(ledger: Ledger) -> list[str]:
    rows = []
    for item in ledger.items:
        prio = item.fields.get("Priority", "").split(" ", 1)[0]
        anchor = slugify(f"[{item.item_id}] {item.title}")
        rows.append(f"| [{item.item_id}](#{anchor}) | {item.title} | {prio} | {item.status} |\n")
    return rows


def rebuild_index(ledger: Ledger) -> Ledger:
    """Regenerate the index rows from the items (keeps the table header as written)."""
    rows = index_rows(ledger)
    if ledger.index_span is None:
        table = ["## Index\n", "| ID | Title | Priority | Status |\n",
                 "| --- | --- | --- | --- |\n", *rows, "\n"]
        ledger.head.extend(table)
    else:
        a, b = ledger.index_span
        ledger.head[a:b] = rows
    return parse_ledger(render_ledger(ledger), ledger.path)


def set_field(ledger: Ledger, item_id: str, key: str, value: str) -> Ledger:
    """Replace the item's top-level ``- key: …`` field (also a dated variant such as
    ``- key (2025-11-08 update):``, continuation lines included) with one line, or add it
    before the Attempts History; returns the re-parsed ledger."""
    item = ledger.item(item_id)
    if item is None:
        raise KeyError(item_id)
    line = f"- {key}: {value}\n"
    span = _field_span(item, key)
    found = FIELD_RE.match(item.lines[span[0]]).group("key") if span else ""
    if found == key or found.startswith(f"{key} ("):
        item.lines[span[0]:span[1]] = [line]
    else:
        history = _field_span(item, "Attempts History")
        at = history[0] if history else _trim_end(item.lines, 0, len(item.lines))
        _ensure_newline(item.lines, at)
        item.lines[at:at] = [line]
    return parse_ledger(render_ledger(ledger), ledger.path)


def set_index_status(ledger: Ledger, item_id: str, status: str) -> Ledger:
    """Rewrite the status cell of the item's index row (other rows stay as written)."""
    for row in ledger.index:
        if row.item_id == item_id:
            cells = ledger.head[row.line - 1].rstrip("\n").rstrip().rstrip("|").split("|")
            cells += [""] * (5 - len(cells))  # "", ID, Title, Priority, Status[, ...]
            cells[4] = f" {status} "
            ledger.head[row.line - 1] = "|".join(cells) + "|\n"
    return parse_ledger(render_ledger(ledger), ledger.path)
