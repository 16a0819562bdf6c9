"""Parse ``galph_memory.md``: dated entries under ``##``/``###`` headings, kept verbatim."""

from __future__ import annotations

import re

from loopkit.model import MemoryEntry, MemoryFile
from loopkit.parsers.common import check_text

ENTRY_RE = re.compile(r"^(?P<hashes>#{2,3})\s+(?P<stamp>\S+(?:\s\d{2}:\d{2}(?::\d{2})?\s?UTC)?)"
                      r"\s*(?:\((?P<title>[^)]*)\))?(?P<rest>.*)$")
DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
STATE_RE = re.compile(r"<?Action State>?:?\s*\[?(?P<state>[a-z_]+)\]?")
FOCUS_RE = re.compile(r"\bfocus=(?P<focus>\S+)")


def parse_memory(text: str, path: str = "galph_memory.md") -> MemoryFile:
    check_text(path, text)
    lines = text.splitlines(keepends=True)
    memory = MemoryFile(path=path, lines=lines)
    starts: list[tuple[int, re.Match[str]]] = []
    for i, line in enumerate(lines):
        match = ENTRY_RE.match(line)
        if match and (DATE_RE.match(match.group("stamp")) or "STAMP" in match.group("stamp")):
            starts.append((i, match))
    for k, (i, match) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        memory.entries.append(_entry(lines, i, end, match))
    return memory


def _entry(lines: list[str], start: int, end: int, match: re.Match[str]) -> MemoryEntry:
    stamp = match.group("stamp")
    date = DATE_RE.match(stamp)
    entry = MemoryEntry(heading=lines[start].rstrip("\r\n"), stamp=stamp,
                        title=(match.group("title") or "").strip(), start=start, end=end,
                        date=date.group(1) if date else None)
    focus = FOCUS_RE.search(match.group("rest") or "")
    entry.focus = focus.group("focus") if focus else None
    for line in lines[start + 1:end]:
        state = STATE_RE.search(line)
        if state and "Action State" in line:
            entry.action_state = state.group("state")
    return entry
