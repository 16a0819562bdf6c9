"""``archive``: move old Attempt blocks verbatim to the archive, leaving a pointer."""

from __future__ import annotations

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import locked, read_document, write_document
from loopkit.lint import Finding
from loopkit.model import Ledger, LedgerItem
from loopkit.ops.docs import load_archive, load_ledger
from loopkit.parsers.common import slugify
from loopkit.parsers.ledger import parse_ledger
from loopkit.writers.ledger import render_ledger


def _append_to_archive(text: str, item: LedgerItem, blocks: list[str]) -> str:
    """The archive with ``blocks`` appended under the item; blocks it already holds verbatim
    (a retry after a kill between the two writes) are not copied again."""
    archive = parse_ledger(text, "archive") if text else None
    target = archive.item(item.item_id) if archive else None
    if target is not None:
        held = "".join(target.lines)
        blocks = [b for b in blocks if b not in held]
        if not blocks:
            return text
    body = "".join(blocks)
    if archive is None or target is None:
        head = text if text.endswith("\n") or not text else text + "\n"
        if not head:
            head = "# Fix Plan Archive\n"
        return f"{head}\n## [{item.item_id}] {item.title}\n- Attempts History:\n{body}"
    if not target.lines[-1].endswith("\n"):
        target.lines[-1] += "\n"
    target.lines.append(body)
    return render_ledger(archive)


def archived_duplicates(cfg: Config, ledger: Ledger) -> list[Finding]:
    """Attempts that are both in the ledger and, verbatim, in the archive (an interrupted
    archive): an error each, with the line in the ledger."""
    archive = load_archive(cfg)
    findings: list[Finding] = []
    for item in ledger.items:
        arch = archive.item(item.item_id) if archive else None
        if arch is None:
            continue
        held = "".join(arch.lines)
        for att in item.attempts:
            block = "".join(item.lines[att.start:att.end])
            if block.strip() and block in held:
                findings.append(Finding("error", att.line, f"{item.item_id} Attempt #{att.n} "
                                        f"is also in {cfg.paths.archive} (an interrupted "
                                        "archive: rerun loopkit archive to finish the move)"))
    return findings


def archive_attempts(cfg: Config, item_id: str, keep_last: int) -> int:
    """Returns how many attempts moved. The archive is written first and the ledger second;
    a kill between the two leaves the blocks in both, and a retry completes the move without
    copying them again (idempotent by content)."""
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
        old = read_document(archive_path, cfg.paths.archive) if archive_path.exists() else ""
        write_document(archive_path, _append_to_archive(old, item, blocks))
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
        write_document(ledger_path, render_ledger(ledger))
    return len(move)
