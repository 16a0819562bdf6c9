"""What a step left behind for its checks: its command, exit code, output files and variables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from loopkit.pytest_summary import PytestCounts

OUTPUT_RE = re.compile(
    r"(?:>>?|\btee(?:\s+-a)?)\s+(?P<p>[^\s;|&<>]+)"
    r"|--(?:out|outdir|out-dir|output|output-dir|outfile)(?:=|\s+)(?P<o>[^\s;|&<>]+)")
MAX_TEXT_BYTES = 5 * 1024 * 1024


@dataclass
class StepContext:
    root: Path
    run_dir: Path
    cmd: str
    rc: int | None
    stdout: Path
    stderr: Path
    pytest: PytestCounts | None
    variables: dict[str, str] = field(default_factory=dict)

    def expand(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            return self.variables.get(m.group(1) or m.group(2), m.group(0))
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)

    def resolve(self, raw: str) -> Path:
        path = Path(self.expand(raw.strip("'\"")))
        return path if path.is_absolute() else self.root / path

    def outputs(self) -> list[Path]:
        found = []
        for m in OUTPUT_RE.finditer(self.cmd):
            raw = m.group("p") or m.group("o")
            if raw and raw not in ("/dev/null", "&1", "&2") and not raw.startswith("&"):
                found.append(self.resolve(raw))
        return found


def read_capped(path: Path) -> str:
    """A file's text, or "" for one that is missing, unreadable or over MAX_TEXT_BYTES."""
    try:
        if path.is_file() and path.stat().st_size <= MAX_TEXT_BYTES:
            return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        pass
    return ""
