"""Provenance snapshots: git state, an allowlisted + redacted environment, tool versions."""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path
from typing import Any

from loopkit.config import Config

REDACTED = "<redacted>"
MIN_SECRET_LEN = 8
NOT_SECRETS = {"true", "false", "yes", "no", "none", "null", "enabled", "disabled"}


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


def _matches(name: str, patterns: list[str]) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pat.upper()) for pat in patterns)


class Redactor:
    """Knows the secret values of an environment and scrubs them from any text."""

    def __init__(self, env: dict[str, str], redact: list[str]) -> None:
        self.patterns = redact
        values = {v for k, v in env.items() if _matches(k, redact) and _secret_like(v)}
        self.secrets = sorted(values, key=len, reverse=True)

    def is_secret_name(self, name: str) -> bool:
        return _matches(name, self.patterns)

    def text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return _redact_assignments(text, self.patterns)

    def file(self, path: Path) -> None:
        """Scrub secrets from a file in place (only rewritten when something is found)."""
        try:
            data = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return
        clean = self.text(data)
        if clean != data:
            path.write_text(clean, encoding="utf-8", errors="surrogateescape")


def _plain_setting(value: str) -> bool:
    """A number or a boolean word: never a secret, whatever the variable is called."""
    return value.lower() in NOT_SECRETS or re.fullmatch(r"[\d.:-]+", value) is not None


def _secret_like(value: str) -> bool:
    """Values worth scrubbing everywhere: long enough, not a path, flag or number."""
    return len(value) >= MIN_SECRET_LEN and not value.startswith("/") and not _plain_setting(value)


ASSIGN_RE = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*)=('[^']*'|\"[^\"]*\"|[^\s;|&]+)")


def _redact_assignments(text: str, patterns: list[str]) -> str:
    """``NAME=value`` with a secret-looking name: the value goes, unless it is a plain number or
    a boolean word (``max_tokens=5`` and ``USE_KEYRING=true`` are settings, not secrets)."""
    def sub(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2).strip("'\"")
        if _matches(name, patterns) and not _plain_setting(value):
            return f"{name}={REDACTED}"
        return match.group(0)

    return ASSIGN_RE.sub(sub, text)


def env_snapshot(env: dict[str, str], cfg: Config) -> dict[str, str]:
    """Only allowlisted variables; secret-looking names and values are redacted."""
    redactor = Redactor(env, cfg.env_snapshot.redact)
    out: dict[str, str] = {}
    for name in sorted(env):
        if not _matches(name, cfg.env_snapshot.allow):
            continue
        out[name] = REDACTED if redactor.is_secret_name(name) else redactor.text(env[name])
    return out
