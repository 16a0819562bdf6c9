"""Recognise shell commands inside memo prose, and the variables they set and use."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

from loopkit.config import Config

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


PROMPT_RE = re.compile(r"^\$\s+(?P<cmd>\S.*)$", re.DOTALL)
FENCE_RE = re.compile(r"^\s*(```|~~~)[\w+-]*\s*$")


@dataclass(frozen=True)
class StepPolicy:
    """What makes a How-To bullet a shell step. The form always does: a whole-bullet code span
    (`` `gcc -O2 x.c` ``), a ``$ `` prompt, or a prose line ending in ``:`` followed by a fenced
    or indented code block. With ``marked_only`` nothing else does; otherwise a bullet that
    starts with a known command word (or one of ``commands``), an assignment or a path."""

    commands: frozenset[str] = frozenset()
    marked_only: bool = False


DEFAULT_POLICY = StepPolicy()


def looks_like_command(text: str, policy: StepPolicy = DEFAULT_POLICY) -> bool:
    first = text.strip().split(None, 1)
    if not first or policy.marked_only:
        return False
    word = first[0]
    if ASSIGN_RE.match(word):
        return True
    if word.startswith(("./", "../", "/")) and not word.endswith((":", ",")):
        return True
    return word in KNOWN_COMMANDS or word in policy.commands


def _code_block(text: str) -> str | None:
    """The command of ``Build it:`` followed by a fenced block or lines indented 4+ spaces."""
    first, _, rest = text.partition("\n")
    if not first.rstrip().endswith(":") or not rest.strip():
        return None
    lines = rest.split("\n")
    body = [ln for ln in lines if ln.strip()]
    if FENCE_RE.match(body[0]) and len(body) > 1 and FENCE_RE.match(body[-1]):
        inner = lines[lines.index(body[0]) + 1:len(lines) - lines[::-1].index(body[-1]) - 1]
        return textwrap.dedent("\n".join(inner)).strip() or None
    if all(len(ln) - len(ln.lstrip()) >= 4 for ln in body):
        return textwrap.dedent("\n".join(lines)).strip() or None
    return None


def extract_command(text: str, policy: StepPolicy = DEFAULT_POLICY) -> str | None:
    """The executable command of a step, or None for a manual (prose) step."""
    stripped = text.strip()
    whole = WHOLE_CODE_RE.match(stripped)
    if whole:
        return whole.group(1).strip()
    prompt = PROMPT_RE.match(stripped)
    if prompt:
        return prompt.group("cmd").strip()
    block = _code_block(stripped)
    if block:
        return block
    if looks_like_command(stripped, policy):
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


def step_policy(cfg: Config) -> StepPolicy:
    """``[steps]`` of loopkit.toml: extra command words, or only marked steps."""
    return StepPolicy(frozenset(cfg.steps.commands), cfg.steps.detect == "marked")
