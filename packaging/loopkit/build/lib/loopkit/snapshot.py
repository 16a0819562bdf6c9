"""Provenance snapshots: git state, an allowlisted + redacted environment, tool versions."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from loopkit.config import Config
from loopkit.scrub import REDACTED, Redactor, matches_name


def _git(root: Path, *args: str, strip: bool = True) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                             timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() if strip else out.stdout


def dirty_paths(porcelain_z: str) -> list[str]:
    """Paths from ``git status --porcelain -z``: each entry is ``XY path``; a rename or copy
    is followed by its source path as a separate entry (skipped). Never strip this text: the
    status column X is a space for unstaged changes."""
    paths: list[str] = []
    entries = iter(porcelain_z.split("\0"))
    for entry in entries:
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:
            next(entries, None)
    return paths


def git_snapshot(root: Path) -> dict[str, Any]:
    status = _git(root, "status", "--porcelain", "-z", strip=False) or ""
    return {
        "head": _git(root, "rev-parse", "HEAD"),
        "branch": _git(root, "branch", "--show-current"),
        "describe": _git(root, "describe", "--always", "--dirty"),
        "dirty": dirty_paths(status),
        "diffstat": _git(root, "diff", "--stat", "HEAD") or "",
    }


def env_snapshot(env: dict[str, str], cfg: Config) -> dict[str, str]:
    """Only allowlisted variables; secret-looking names and values are redacted."""
    redactor = Redactor(env, cfg.env_snapshot.redact)
    out: dict[str, str] = {}
    for name in sorted(env):
        if not matches_name(name, cfg.env_snapshot.allow):
            continue
        out[name] = REDACTED if redactor.is_secret_name(name) else redactor.text(env[name])
    return out
