"""Helpers shared by the parsers."""

from __future__ import annotations

import re
from typing import Any

import yaml

from loopkit.errors import ParseError

ITEM_ID_RE = re.compile(r"\b([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+)\b")


def check_text(path: str, text: str) -> None:
    """Reject input that is not a text document (NUL bytes)."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise ParseError(path, line, "binary content (NUL byte) in a text document")


def split_front_matter(path: str, lines: list[str]) -> tuple[dict[str, Any] | None, int]:
    """Return (front matter, index of the first body line). Front matter is optional."""
    if not lines or lines[0].strip() != "---":
        return None, 0
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            try:
                data = yaml.safe_load("\n".join(lines[1:i]))
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = 2 + (mark.line if mark is not None else 0)
                raise ParseError(path, line, f"invalid YAML front matter: {exc}") from None
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise ParseError(path, 2, "front matter must be a YAML mapping")
            return data, i + 1
    raise ParseError(path, 1, "front matter opened with '---' but never closed")


def split_cells(row: str) -> list[str]:
    """Split a markdown table row on '|' outside backtick spans and escapes."""
    body = row.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    cells: list[str] = []
    cur: list[str] = []
    in_code = False
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body) and body[i + 1] == "|":
            cur.append("\\|")
            i += 2
            continue
        if ch == "`":
            in_code = not in_code
        if ch == "|" and not in_code:
            cells.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    cells.append("".join(cur).strip())
    return cells


def slugify(title: str) -> str:
    """GitHub-style heading anchor: lowercase, drop punctuation, spaces to hyphens."""
    slug = title.strip().lower()
    slug = re.sub(r"[^\w\- ]", "", slug)
    return slug.replace(" ", "-")
