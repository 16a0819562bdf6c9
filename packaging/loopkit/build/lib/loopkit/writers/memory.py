"""Memory writer: existing text verbatim; new entries appended in one canonical shape."""

from __future__ import annotations

from dataclasses import dataclass, field

from loopkit.model import MemoryFile
from loopkit.parsers.memory import parse_memory


@dataclass
class NewEntry:
    ts: str  # 2025-10-06T23:39:54Z
    kind: str  # recap | focus | note
    actor: str = "galph"
    focus: str | None = None
    action_type: str | None = None
    mode: str | None = None
    state: str | None = None
    bullets: list[str] = field(default_factory=list)


def render_memory(memory: MemoryFile) -> str:
    return "".join(memory.lines)


def render_entry(entry: NewEntry) -> list[str]:
    title = {"recap": "loop recap", "focus": "loop - focus selection note"}.get(
        entry.kind, f"loop - {entry.kind}")
    tags = [f"{k}={v}" for k, v in (("focus", entry.focus), ("action", entry.action_type),
                                     ("mode", entry.mode)) if v]
    head = f"### {entry.ts} ({entry.actor} {title})" + (" " + " ".join(tags) if tags else "")
    body = [f"- {b.strip()}" for b in entry.bullets if b.strip()]
    if entry.state:
        body.append(f"- <Action State>: [{entry.state}]")
    return [line + "\n" for line in [head, *body]]


def append_entry(memory: MemoryFile, entry: NewEntry) -> MemoryFile:
    lines = list(memory.lines)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if lines and lines[-1].strip():
        lines.append("\n")
    lines += render_entry(entry)
    return parse_memory("".join(lines), memory.path)
