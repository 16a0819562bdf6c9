"""``memory add``: UTC-stamped entries appended in the canonical shape."""

from __future__ import annotations

from datetime import UTC, datetime

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import locked, read_document, write_document
from loopkit.parsers.memory import parse_memory
from loopkit.scrub import clean_text
from loopkit.writers.memory import NewEntry, append_entry, render_memory

STREAK_STATES = ("gathering_evidence", "planning")


def _check_vocab(value: str | None, allowed: list[str], what: str) -> None:
    if value is not None and value not in allowed:
        raise LoopkitError(f"{what} {value!r} not in vocabulary {allowed}")


def add_memory(cfg: Config, entry: NewEntry, now: datetime) -> list[str]:
    """Append ``entry``; returns warnings (e.g. a third gathering/planning turn in a row)."""
    _check_vocab(entry.state, cfg.vocab.action_state, "action state")
    _check_vocab(entry.mode, cfg.vocab.mode, "mode")
    _check_vocab(entry.action_type, cfg.vocab.action_type, "action type")
    def clean(text: str | None) -> str | None:
        return clean_text(text, cfg.env_snapshot.redact) if text else text
    entry.bullets = [clean(b) or "" for b in entry.bullets]
    entry.actor = clean(entry.actor) or "galph"
    entry.focus = clean(entry.focus)
    entry.ts = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    path = cfg.path(cfg.paths.memory)
    warnings: list[str] = []
    with locked(path):
        text = read_document(path, cfg.paths.memory) if path.exists() else ""
        memory = parse_memory(text, cfg.paths.memory)
        if entry.state in STREAK_STATES and entry.focus:
            same = [e for e in memory.entries if e.focus == entry.focus and e.action_state]
            if len(same) >= 2 and all(e.action_state in STREAK_STATES for e in same[-2:]):
                warnings.append(f"3rd consecutive {'/'.join(STREAK_STATES)} turn on "
                                f"{entry.focus} (limit is 2)")
        write_document(path, render_memory(append_entry(memory, entry)))
    return warnings
