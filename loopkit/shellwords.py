"""Recognise shell commands inside memo prose, and the variables they set and use."""

from __future__ import annotations

import re

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
