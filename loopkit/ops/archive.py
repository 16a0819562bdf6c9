"""``archive``: move old Attempt blocks verbatim to the archive, leaving a pointer."""

from __future__ import annotations

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import atomic_write, locked, read_text
from loopkit.model import LedgerItem
from loopkit.ops.docs import load_ledger
from loopkit.parsers.common import slugify
from loopkit.parsers.ledger import parse_ledger
from loopkit.writers.ledger import render_ledger


def _append_to_archive(text: str, item: LedgerItem, blocks: list[str]) -> str:
    archive = parse_ledger(text, "archive") if text else None
    body = "".join(blocks)
    target = archive.item(item.item_id) if archive else None
    if archive is None or target is None:
        head = text if text.endswith("\n") or not text else text + "\n"
        if not head:
            head = "# Fix Plan Archive\n"
        return f"{head}\n## [{item.item_id}] {item.title}\n- Attempts History:\n{body}"
    if not target.lines[-1].endswith("\n"):
        target.lines[-1] += "\n"
    target.lines.append(body)
    return render_ledger(archive)


def archive_attempts(cfg: Config, item_id: str, keep_last: int) -> int:
    """Returns how many attempts moved."""
    ledger_path, archive_path = cfg.path(cfg.paths.ledger), cfg.path(cfg.paths.archive)
    with locked(ledger_path), locked(archive_path):
        ledger = load_ledger(cfg)
        item = ledger.item(item_id)
        if item is None:
            raise LoopkitError(f"item {item_id!r} not in {cfg.paths.ledger}")
        move = item.attempts[: max(0, len(item.attempts) - keep_last)]
        if not move:
            return 0
        blocks = ["".join(item.lines[a.start:a.end]) for a in move]
        blocks = [b if b.endswith("\n") else b + "\n" for b in blocks]
        old = read_text(archive_path) if archive_path.exists() else ""
        atomic_write(archive_path, _append_to_archive(old, item, blocks))
        indent = item.lines[move[0].start][: len(item.lines[move[0].start]) -
                                            len(item.lines[move[0].start].lstrip())]
        top = max(a.n for a in move)
        anchor = slugify(f"[{item.item_id}] {item.title}")
        pointer = (f"{indent}* Attempts #{move[0].n}…#{move[-1].n} ({len(move)} entries) archived "
                   f"verbatim in {cfg.paths.archive}#{anchor} "
                   f"<!-- loopkit:archived item={item_id} max={top} -->\n")
        for att in reversed(move):
            del item.lines[att.start:att.end]
        item.lines.insert(move[0].start, pointer)
        atomic_write(ledger_path, render_ledger(ledger))
    return len(move)
