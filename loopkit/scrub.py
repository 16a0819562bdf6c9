"""Machine paths out of run evidence: the repository root, the home folder and the temp folder.

Run folders are committed, so loopkit rewrites every text file it keeps there with the
repository root written as ``<repo>``, the user's home as ``~`` and the system temp folder as
``<tmp>`` (longest path first, whole path components only) before ``sha256.txt`` is computed.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

REPO_MARK = "<repo>"
HOME_MARK = "~"
TMP_MARK = "<tmp>"
BINARY_SNIFF_BYTES = 8192


def _variants(path: str | Path) -> list[str]:
    raw = str(path).rstrip("/")
    found = {raw, os.path.realpath(raw)} if raw else set()
    return [p for p in found if p not in ("", "/")]


class PathScrubber:
    """Replaces machine-specific path prefixes in text with stable placeholders."""

    def __init__(self, root: Path, home: str | None = None, tmp: str | None = None) -> None:
        marks: dict[str, str] = {}
        for value, mark in ((tmp or tempfile.gettempdir(), TMP_MARK),
                            (home if home is not None else os.path.expanduser("~"), HOME_MARK),
                            (root, REPO_MARK)):
            for variant in _variants(value):
                marks[variant] = mark
        self.marks = dict(sorted(marks.items(), key=lambda kv: len(kv[0]), reverse=True))
        alternatives = "|".join(re.escape(p) for p in self.marks)
        self._re = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w.-])") if self.marks else None

    def text(self, text: str) -> str:
        if self._re is None:
            return text
        return self._re.sub(lambda m: self.marks[m.group(0)], text)

    def file(self, path: Path) -> bool:
        """Rewrite a text file in place when it names a machine path; binary files are left
        alone. Returns True when the file changed."""
        try:
            data = path.read_bytes()
        except OSError:
            return False
        if b"\0" in data[:BINARY_SNIFF_BYTES]:
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        clean = self.text(text)
        if clean == text:
            return False
        path.write_text(clean, encoding="utf-8", newline="")
        return True
