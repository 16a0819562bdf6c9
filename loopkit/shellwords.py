"""Recognise shell commands inside memo prose, and the variables they set and use."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

KNOWN_COMMANDS = frozenset({
    "env", "export", "pytest", "python", "python3", "nb-compare", "nb-trace-diff", "nanobragg",
    "nanoBragg", "diff", "mkdir", "mv", "cp", "rm", "printf", "echo", "cat", "git", "bash", "sh",
    "make", "tee", "ls", "cd", "sha256sum", "shasum", "timeout", "time", "test", "touch", "sed",
    "grep", "awk", "jq", "loopkit", "source", "set", "for", "if", "true", "false", "find", "head",
    "tail", "wc", "sort", "uniq", "xargs", "cmp", "tar", "gzip", "ln", "chmod", "unset", "[",
    "/usr/bin/time", "sleep", "kill", "exit", "read", "pip", "uv",
})
ASSIGN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
WHOLE_CODE_RE = re.compile(r"^`([^`]+)`\s*$", re.DOTALL)
VAR_USE_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
VAR_SET_RE = re.compile(
    r"(?:^|[\s;&|(])(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=")
FOR_RE = re.compile(r"\b(?:for|read)\s+([A-Za-z_][A-Za-z0-9_]*)")
HEREDOC_QUOTED_RE = re.compile(r"<<-?\s*(['\"])(\w+)\1")


def looks_like_command(text: str) -> bool:
    first = text.strip().split(None, 1)
    if not first:
        return False
    word = first[0]
    if ASSIGN_RE.match(word):
        return True
    if word.startswith(("./", "../", "/")) and not word.endswith((":", ",")):
        return True
    return word in KNOWN_COMMANDS


def extract_command(text: str) -> str | None:
    """The executable command of a step, or None for a manual (prose) step."""
    stripped = text.strip()
    whole = WHOLE_CODE_RE.match(stripped)
    if whole:
        stripped = whole.group(1).strip()
    if looks_like_command(stripped):
        return stripped
    return None


def _strip_quoted_heredocs(cmd: str) -> str:
    """Remove bodies of quoted heredocs (<<'EOF'), in which '$' is literal."""
    lines = cmd.split("\n")
    out: list[str] = []
    end: str | None = None
    for line in lines:
        if end is not None:
            if line.strip() == end:
                end = None
            continue
        out.append(line)
        match = HEREDOC_QUOTED_RE.search(line)
        if match:
            end = match.group(2)
    return "\n".join(out)


def variables_used(cmd: str) -> list[str]:
    text = _strip_quoted_heredocs(cmd)
    text = re.sub(r"'[^']*'", "''", text)
    return list(dict.fromkeys(VAR_USE_RE.findall(text)))


def variables_set(cmd: str) -> list[str]:
    text = _strip_quoted_heredocs(cmd)
    names = VAR_SET_RE.findall(text) + FOR_RE.findall(text)
    return list(dict.fromkeys(names))


def leading_env(cmd: str) -> tuple[dict[str, str], list[str]]:
    """Split ``[env] A=1 B=2 prog args`` into ({A: 1, B: 2}, [prog, args...]) (simple words)."""
    words = cmd.split()
    env: dict[str, str] = {}
    i = 0
    if words and words[0] == "env":
        i = 1
    while i < len(words) and ASSIGN_RE.match(words[i]):
        key, value = words[i].split("=", 1)
        env[key] = value
        i += 1
    return env, words[i:]


#: words bash runs itself, whatever PATH holds
SHELL_BUILTINS = frozenset({
    "cd", "export", "source", ".", "set", "unset", "echo", "printf", "test", "[", "[[", "true",
    "false", "read", "exit", "for", "if", "while", "until", "case", "{", "(", "local", "eval",
    "exec", "wait", "kill", "type", "command", "pushd", "popd", "shift", "trap", "umask",
    "alias", "declare", "readonly", "return", "break", "continue", "let", "hash", "builtin",
    "ulimit", "shopt", "pwd", "history", "jobs", "fg", "bg", "!", "function", "select",
})
WRAPPERS = {"env": 0, "time": 0, "nohup": 0, "timeout": 1, "nice": 0}


def first_command(cmd: str) -> str | None:
    """The program a step starts with: past ``env``, ``A=1`` assignments and wrappers such as
    ``time`` or ``timeout 60``."""
    line = next((ln for ln in cmd.splitlines() if ln.strip() and not ln.lstrip().startswith("#")),
                "")
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        words = line.split()
    i = 0
    while i < len(words):
        word = words[i]
        if ASSIGN_RE.match(word) or (i and words[i - 1] == "env" and word.startswith("-")):
            i += 1
        elif word in WRAPPERS:
            i += 1 + WRAPPERS[word]
        else:
            return word
    return None


def resolve_first_command(cmd: str, path: str, cwd: Path) -> dict[str, str | None]:
    """How the shell will find the step's first command: a builtin, a file (with its path as
    PATH resolves it, or relative to the shell's folder), or nothing."""
    word = first_command(cmd)
    if word is None:
        return {"command": None, "kind": "none", "path": None}
    if word in SHELL_BUILTINS:
        return {"command": word, "kind": "builtin", "path": None}
    if "/" in word:
        target = Path(word) if os.path.isabs(word) else cwd / word
        return {"command": word, "kind": "file" if target.is_file() else "not found",
                "path": str(target.resolve()) if target.is_file() else None}
    found = shutil.which(word, path=path)
    return {"command": word, "kind": "file" if found else "not found", "path": found}


def search_path(env: dict[str, str]) -> dict[str, str | None]:
    """What decides which tools the steps run: their PATH and the active virtual environment."""
    return {"PATH": env.get("PATH", ""), "VIRTUAL_ENV": env.get("VIRTUAL_ENV")}
