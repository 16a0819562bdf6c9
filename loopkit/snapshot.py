"""Provenance snapshots: git state, an allowlisted + redacted environment, tool versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loopkit.config import Config
from loopkit.git import Git
from loopkit.scrub import REDACTED, matches_name, secret_name_patterns

SNAPSHOT_TIMEOUT_S = 30.0


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
    """Where the run started; a query git cannot answer (no repository, no commit) is None."""
    git = Git(root, SNAPSHOT_TIMEOUT_S)
    status = git.output("status", "--porcelain", "-z", strip=False) or ""
    return {
        "head": git.output("rev-parse", "HEAD"),
        "branch": git.output("branch", "--show-current"),
        "describe": git.output("describe", "--always", "--dirty"),
        "dirty": dirty_paths(status),
        "diffstat": git.output("diff", "--stat", "HEAD") or "",
    }


def env_snapshot(env: dict[str, str], cfg: Config) -> dict[str, str]:
    """Only allowlisted variables, a secret-named one as ``<redacted>``. The values are not
    redacted here: the run's recorder redacts every record once, as it writes it."""
    secret = secret_name_patterns(cfg.env_snapshot.redact)
    return {name: REDACTED if matches_name(name, secret) else env[name]
            for name in sorted(env) if matches_name(name, cfg.env_snapshot.allow)}
