"""``item set``: a ledger item's status and next actions; ``done`` needs a passing run."""

from __future__ import annotations

from loopkit.config import Config
from loopkit.errors import LoopkitError, RefusedError
from loopkit.fsio import locked, write_document
from loopkit.ops.attempts import run_passed_with_artifacts
from loopkit.ops.docs import load_ledger
from loopkit.scrub import clean_text
from loopkit.writers.ledger import render_ledger, set_field, set_index_status

DONE = "done"


def set_item(cfg: Config, item_id: str, status: str | None = None, note: str = "",
             next_action: str | None = None, evidence: str | None = None) -> list[str]:
    """Update the item's Status (and its index row) and/or Next Actions; returns what changed.

    ``done`` is refused unless ``evidence`` names a run that passed in full with its artifacts
    present; the Status then cites it, as ``done (run STAMP)`` or ``done (run STAMP; note)``.
    """
    if status is None and next_action is None:
        raise LoopkitError("nothing to set: give --status and/or --next-action")
    if status is not None and status not in cfg.vocab.status:
        raise LoopkitError(f"unknown status {status!r} (use {', '.join(cfg.vocab.status)})")
    note = clean_text(note, cfg.env_snapshot.redact)
    if next_action is not None:
        next_action = clean_text(next_action, cfg.env_snapshot.redact)
    details = [note] if note else []
    if status == DONE:
        ok, why = (False, "no --evidence run given")
        if evidence:
            ok, why, _ = run_passed_with_artifacts(cfg, evidence)
        if not ok:
            raise RefusedError(f"refused: cannot set {item_id} done: {why}")
        details.insert(0, f"run {evidence}")
    value = status
    if status is not None and details:  # the ledger's own style: "in_progress (Phase L open)"
        value = f"{status} ({'; '.join(details)})"
    path = cfg.path(cfg.paths.ledger)
    changes = []
    with locked(path):
        ledger = load_ledger(cfg)
        if ledger.item(item_id) is None:
            raise LoopkitError(f"item {item_id!r} not in {cfg.paths.ledger}")
        if value is not None:
            ledger = set_index_status(set_field(ledger, item_id, "Status", value), item_id,
                                      status)
            changes.append(f"Status: {value}")
        if next_action is not None:
            ledger = set_field(ledger, item_id, "Next Actions", next_action.strip())
            changes.append(f"Next Actions: {next_action.strip()}")
        write_document(path, render_ledger(ledger))
    return changes
