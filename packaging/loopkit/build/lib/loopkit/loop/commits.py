"""One commit per turn, and the side branches that keep a failed turn's changes.

The commit holds exactly the turn's files (only when the turn passed), its journal record
and its log; the index is rebuilt from HEAD first and checked afterwards, so nothing else
rides along (§5.5 weakness 1). The message is loopkit's: trailers ``Loopkit-Turn``,
``Loopkit-Role``, ``Loopkit-Verdict`` and ``Loopkit-Run``, no emoji and no agent
advertising (R19); trailer-like lines in the agent's note are dropped (weakness 8).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path
from typing import Any

from loopkit.git import Git, GitError
from loopkit.loop.roles import JOURNAL

ADVERTISING = ("Generated with", "Co-Authored-By", "Claude Code", "claude.ai", "openai.com")
EMOJI_RE = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\uFE0F]")
TRAILER_RE = re.compile(r"^\s*Loopkit-[\w-]*\s*:", re.IGNORECASE)
NOTE_MAX_LINES = 20


def clean_note(text: str) -> tuple[str, list[str]]:
    """The agent's note without emoji, advertising or trailer-like lines, and what was cut."""
    flags: list[str] = []
    kept = []
    for line in text.splitlines()[:NOTE_MAX_LINES]:
        if TRAILER_RE.match(line):
            flags.append(f"R19: dropped a trailer-like line from the agent's note: {line[:80]}")
            continue
        if any(word.lower() in line.lower() for word in ADVERTISING):
            flags.append(f"R19: dropped agent advertising: {line[:80]}")
            continue
        if EMOJI_RE.search(line):
            flags.append("R19: removed emoji from the agent's note")
            line = EMOJI_RE.sub("", line)
        kept.append(line.rstrip())
    return "\n".join(kept).strip(), flags


def committed_paths(record: dict[str, Any]) -> list[str]:
    """What a turn's commit holds: its files when it passed, its record, its log."""
    paths = list(record.get("files") or []) if record["verdict"] == "ok" else []
    paths.append(JOURNAL)
    if record.get("log"):
        paths.append(record["log"])
    return sorted(set(paths))


def turn_message(record: dict[str, Any], note: str) -> str:
    files = record.get("files") or []
    subject = (f"loopkit turn {record['turn']}: {record['role']} {record['verdict']}"
               f" ({len(files) if record['verdict'] == 'ok' else 0} file(s))")
    body = [note] if note else []
    if record["verdict"] != "ok":
        body.append(f"Reason: {record['reason']}")
        if record.get("aside"):
            body.append(f"The turn's changes are kept on branch {record['aside']}.")
    trailers = [f"Loopkit-Turn: {record['turn']}", f"Loopkit-Role: {record['role']}",
                f"Loopkit-Verdict: {record['verdict']}"]
    trailers += [f"Loopkit-Run: {run}" for run in record.get("runs") or []]
    trailers += [f"Loopkit-Attempt: {att}" for att in record.get("attempts") or []]
    parts = [subject, *body, "\n".join(trailers)]
    return "\n\n".join(parts) + "\n"


def commit_turn(git: Git, record: dict[str, Any], note: str) -> str:
    paths = [p for p in committed_paths(record)
             if (git.root / p).exists() or git.show("HEAD", p) is not None]
    git.stage_exactly(paths)
    staged = git.staged()
    extra = sorted(set(staged) - set(paths))
    if extra:
        git.run("reset", "-q")
        raise GitError(f"refusing to commit turn {record['turn']}: the index also holds "
                       f"{', '.join(extra[:5])}")
    if JOURNAL not in staged:
        raise GitError(f"turn {record['turn']}: its journal record is not staged")
    return git.commit(turn_message(record, note))


def aside_branch_name(git: Git, turn: int) -> str:
    base = f"loopkit/aside/turn-{turn:04d}"
    name, k = base, 1
    while git.ok("rev-parse", "-q", "--verify", f"refs/heads/{name}"):
        k += 1
        name = f"{base}-{k}"
    return name


def save_aside(git: Git, turn: int, files: list[str], reason: str) -> str:
    """Commit ``files`` as they are on a new side branch (the loop branch and the working
    tree are not touched), then restore them to HEAD. Returns the branch name."""
    name = aside_branch_name(git, turn)
    index = git.git_dir() / f"loopkit-aside-{os.getpid()}.index"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        git.run("read-tree", "HEAD", env=env)
        git.add_exact(files, env=env)
        tree = git.run("write-tree", env=env).stdout.strip()
    finally:
        with contextlib.suppress(FileNotFoundError):
            index.unlink()
    message = (f"loopkit: changes of turn {turn}, kept aside\n\n{reason}\n")
    sha = git.run("commit-tree", tree, "-p", "HEAD", "-F", "-", input_text=message,
                  env=git.identity_env()).stdout.strip()
    git.run("update-ref", f"refs/heads/{name}", sha, "")
    restore_to_head(git, files)
    return name


def restore_to_head(git: Git, files: list[str]) -> None:
    git.run("reset", "-q")
    tracked = [f for f in files if git.show("HEAD", f) is not None]
    if tracked:
        git.run("checkout", "-q", "HEAD", "--pathspec-from-file=-", "--pathspec-file-nul",
                input_text="\0".join(tracked) + "\0")
    for rel in files:
        if rel in tracked:
            continue
        path = git.root / rel
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            path.unlink()
        _prune_empty_dirs(path.parent, git.root)


def _prune_empty_dirs(folder: Path, root: Path) -> None:
    while folder != root and folder.is_dir():
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
