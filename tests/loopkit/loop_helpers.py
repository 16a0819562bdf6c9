"""Scratch repositories for the loop tests: tiny scripted agents in a real git repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from lk_helpers import git

from loopkit.cli import cli

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENTS = Path(__file__).resolve().parent / "agents"

TINY_TOML = """\
[loop]
order = ["supervisor", "engineer"]
poll_s = 0.1
kill_grace_s = 0.5
[roles.supervisor]
command = "echo memo of turn $LOOPKIT_TURN > input.md"
contract = []
[roles.engineer]
command = "echo work of turn $LOOPKIT_TURN > work/t$LOOPKIT_TURN.txt; echo done >&2"
contract = []
"""


def make_repo(root: Path, toml: str = TINY_TOML, files: dict[str, str] | None = None,
              branch: str = "main") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / ".gitignore").write_text((REPO_ROOT / ".gitignore").read_text())
    (root / "loopkit.toml").write_text(toml)
    for rel, text in {"input.md": "memo\n", "work/.keep": "", **(files or {})}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git(root, "init", "-q", "-b", branch)
    git(root, "config", "user.name", "t")
    git(root, "config", "user.email", "t@example.org")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "scratch repository")
    return root


def lk(root: Path, *args: str, now: str | None = None) -> Result:
    """loopkit in-process (fast); use :func:`lk_proc` where a real process is needed."""
    pre = ["--root", str(root)] + (["--now", now] if now else [])
    return CliRunner().invoke(cli, [*pre, *args], catch_exceptions=False)


def lk_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def lk_cmd(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "loopkit", "--root", str(root), *args]


def lk_proc(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(lk_cmd(root, *args), capture_output=True, text=True, timeout=timeout,
                          env=lk_env(), check=False)


def journal(root: Path) -> list[dict[str, Any]]:
    path = root / ".loopkit/turns.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def turns_json(root: Path) -> list[dict[str, Any]]:
    result = lk(root, "turns", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def log_subjects(root: Path, rev: str = "HEAD") -> list[str]:
    return git(root, "log", "--format=%s", rev).splitlines()


def trailers(root: Path, rev: str) -> dict[str, list[str]]:
    raw = git(root, "log", "-1", "--format=%(trailers:unfold,only)", rev)
    found: dict[str, list[str]] = {}
    for line in raw.splitlines():
        if ": " in line:
            key, value = line.split(": ", 1)
            found.setdefault(key, []).append(value)
    return found


def merge_commits(root: Path) -> int:
    return len(git(root, "rev-list", "--merges", "HEAD").split())


def status_clean(root: Path) -> bool:
    return git(root, "status", "--porcelain", "--untracked-files=all").strip() == ""


ROLES_FOR_REPO = """
[roles.supervisor]
command = "bash tests/loopkit/agents/{supervisor}"
timeout_s = 600
[roles.engineer]
command = "bash tests/loopkit/agents/{engineer}"
timeout_s = 1800
"""


def scratch_copy(dest: Path, supervisor: str = "supervisor.sh",
                 engineer: str = "engineer.sh") -> Path:
    """A clone of this repository (its committed state) with the working tree's scripted
    agents and a ``loopkit.toml`` whose roles run them (default contracts)."""
    subprocess.run(["git", "clone", "-q", "--local", str(REPO_ROOT), str(dest)], check=True,
                   capture_output=True)
    git(dest, "config", "user.name", "loop test")
    git(dest, "config", "user.email", "loop@example.org")
    for script in AGENTS.glob("*.sh"):
        target = dest / "tests/loopkit/agents" / script.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(script.read_bytes())
    toml = dest / "loopkit.toml"
    before = toml.read_text() if toml.is_file() else ""
    toml.write_text(before + ROLES_FOR_REPO.format(supervisor=supervisor, engineer=engineer))
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "scratch copy: scripted agents for the loop")
    return dest
