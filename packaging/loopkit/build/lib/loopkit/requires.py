"""Step environment requirements: a command ending in ``# requires: VAR[, VAR]``.

A step whose required variables are unset or empty is not run; it is recorded as
``skipped-by-environment`` and every one of its checks gets that verdict (never ``pass``).
A variable whose name ends in ``_BIN``, ``_BINARY``, ``_EXE`` or ``_EXECUTABLE`` names a
program: it must also point at an executable file (a bare name is looked up on ``PATH``, a
relative path is taken from the repository root).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

REQUIRES_RE = re.compile(
    r"(?:^|\s)#\s*requires:\s*(?P<names>[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*$")
PROGRAM_SUFFIXES = ("_BIN", "_BINARY", "_EXE", "_EXECUTABLE")
SKIPPED = "skipped-by-environment"


def step_requirements(cmd: str) -> list[str]:
    """Variables named by a ``# requires:`` comment ending the first or the last line."""
    lines = [ln for ln in cmd.strip().splitlines() if ln.strip()]
    names: list[str] = []
    for line in dict.fromkeys(lines[:1] + lines[-1:]):
        match = REQUIRES_RE.search(line)
        if match:
            names += [n.strip() for n in match.group("names").split(",")]
    return list(dict.fromkeys(names))


def names_program(name: str) -> bool:
    return name.upper().endswith(PROGRAM_SUFFIXES)


def _is_executable(value: str, root: Path, path_var: str | None) -> bool:
    if "/" not in value:
        found = shutil.which(value, path=path_var)
        return found is not None
    path = Path(value) if os.path.isabs(value) else root / value
    return path.is_file() and os.access(path, os.X_OK)


def unmet(names: list[str], env: dict[str, str], root: Path) -> list[str]:
    """One reason per requirement the environment does not meet (empty: all met)."""
    reasons: list[str] = []
    for name in names:
        value = env.get(name, "")
        if not value.strip():
            reasons.append(f"{name} is not set")
        elif names_program(name) and not _is_executable(value, root, env.get("PATH")):
            reasons.append(f"{name} does not name an executable file")
    return reasons
