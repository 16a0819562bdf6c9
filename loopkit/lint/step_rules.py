"""memo lint for the How-To steps: what will not run, prose inside shell steps, Expect metrics.

* Every manual step is reported: loopkit never runs it. When its first word is a program on
  the steps' PATH (``gcc -O2 …``) the warning says how to make it a shell step.
* Inside a shell step, each simple command must start with a builtin, a program on PATH, a
  path or an assignment (K3g3's step 3 ran ``repeat with …``: rc 127), and the step must pass
  ``bash -n``.
* An Expect metric that is not in ``[vocab] metrics`` is a warning, with the closest name.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path

from loopkit.config import Config
from loopkit.expect.parse import parse_expect
from loopkit.lint.rule import Finding, LintContext
from loopkit.model import Memo
from loopkit.shellwords import (
    ASSIGN_RE,
    KNOWN_COMMANDS,
    SHELL_BUILTINS,
    WRAPPERS,
    step_policy,
)

KEYWORDS = {"then", "do", "else", "elif", "fi", "done", "esac", "in", "{", "}", "(", ")", "!",
            "time", "coproc", "function"}
HEREDOC_RE = re.compile(r"<<-?\s*(['\"]?)(\w+)\1")
SEPARATORS = {";", "&", "|", "\n", "(", ")"}


def steps_path(cfg: Config) -> str:
    """The PATH the steps will see: the caller's, after ``[run] path_prepend``."""
    from loopkit.run.flow import prepend_path

    return prepend_path(os.environ.get("PATH", ""), cfg.run.path_prepend, cfg.root)


def _strip_heredocs(cmd: str) -> str:
    out: list[str] = []
    end: str | None = None
    for line in cmd.split("\n"):
        if end is not None:
            if line.strip() == end:
                end = None
            continue
        out.append(line)
        match = HEREDOC_RE.search(line)
        if match:
            end = match.group(2)
    return "\n".join(out)


def simple_commands(cmd: str) -> list[str]:
    """The simple commands of a script, split at ``; & | && || ( )`` and newlines outside
    quotes, ``$( )`` and heredoc bodies (comments dropped)."""
    text = _strip_heredocs(cmd)
    parts: list[str] = []
    cur: list[str] = []
    quote = ""
    depth = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == "\\" and quote == '"' and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch == "\\" and i + 1 < len(text):
            cur.append(" " if text[i + 1] == "\n" else ch + text[i + 1])
            i += 1
        elif ch in "'\"`":
            quote = ch
            cur.append(ch)
        elif text.startswith("$(", i):
            depth += 1
            cur.append("$(")
            i += 1
        elif ch == ")" and depth:
            depth -= 1
            cur.append(ch)
        elif ch == "#" and not depth and (not cur or cur[-1] in " \t\n;"):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif ch in SEPARATORS and not depth:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return [_drop_substitutions(p).strip() for p in parts if p.strip()]


def _drop_substitutions(command: str) -> str:
    """``OUT=$(realpath x)`` -> ``OUT=$SUB``: what a substitution runs is not the command."""
    previous = None
    while previous != command:
        previous = command
        command = re.sub(r"\$\([^()]*\)|`[^`]*`", "$SUB", command)
    return command


def _first_word(command: str) -> str | None:
    words = command.split()
    i = 0
    while i < len(words):
        word = words[i]
        if word in KEYWORDS or ASSIGN_RE.match(word) or word.startswith(("<", ">", "2>", "&>")):
            i += 1
        elif word in WRAPPERS:
            i += 1 + WRAPPERS[word]
        elif i and words[i - 1] == "env" and word.startswith("-"):
            i += 1
        else:
            return word.strip("\"'")
    return None


def _runnable(word: str, path: str, root: Path, defined: set[str]) -> bool:
    if word in SHELL_BUILTINS or word in KNOWN_COMMANDS or word in defined:
        return True
    if "/" in word or word.startswith(("$", "`", "~")):
        return True  # a path or an expansion: resolved when the step runs
    return shutil.which(word, path=path) is not None or (root / word).is_file()


def check_shell_prose(memo: Memo, ctx: LintContext) -> list[Finding]:
    cfg = ctx.cfg
    path = steps_path(cfg)
    found: list[Finding] = []
    for n, step in enumerate(memo.steps, start=1):
        if not step.cmd:
            continue
        defined = set(re.findall(r"(?:^|\s)(\w[\w-]*)\s*\(\)\s*\{", step.cmd))
        for command in simple_commands(step.cmd):
            word = _first_word(command)
            if word and not _runnable(word, path, cfg.root, defined):
                found.append(Finding("error", step.line, (
                    f"step {n}: {word!r} is not a command on the steps' PATH (prose inside a "
                    f"shell step? it would fail with 'command not found'): {command[:60]}")))
        syntax = subprocess.run(["bash", "-n"], input=step.cmd + "\n", capture_output=True,
                                text=True, check=False)
        if syntax.returncode != 0:
            first = (syntax.stderr.strip().splitlines() or ["syntax error"])[0]
            found.append(Finding("error", step.line, (
                f"step {n}: bash cannot parse it: {first.replace('bash: ', '')}")))
    return found


def check_manual_steps(memo: Memo, ctx: LintContext) -> list[Finding]:
    cfg = ctx.cfg
    path = steps_path(cfg)
    policy = step_policy(cfg)
    found: list[Finding] = []
    for n, step in enumerate(memo.steps, start=1):
        if step.cmd:
            continue
        first = step.text.strip().split(None, 1)[0] if step.text.strip() else ""
        head = step.text.strip().splitlines()[0][:60] if step.text.strip() else ""
        hint = ""
        if first and not policy.marked_only and shutil.which(first, path=path):
            hint = (f"; {first!r} is a program on PATH: write the step as `{head}` (a code "
                    f"span) or add {first!r} to [steps] commands in loopkit.toml to run it")
        elif "`" in step.text:
            hint = "; a command inside the prose runs only as the whole bullet (`cmd`)"
        found.append(Finding("warning", step.line,
                             f"step {n} is manual and will not run: {head}{hint}"))
    return found


def _known_metric(key: str, metrics: list[str]) -> bool:
    from loopkit.expect.kinds.metrics import KEY_ALIASES

    norm = key.lower().replace(" ", "_")
    last = norm.rsplit(".", 1)[-1]
    return norm in metrics or last in metrics or norm in KEY_ALIASES


def check_expect_metrics(memo: Memo, ctx: LintContext) -> list[Finding]:
    cfg = ctx.cfg
    metrics = [m.lower().replace(" ", "_") for m in cfg.vocab.metrics]
    found: list[Finding] = []
    for n, step in enumerate(memo.steps, start=1):
        if not step.cmd:
            continue
        for pred in parse_expect(step.expect or ""):
            if pred.kind not in ("json", "range") or pred.args.get("file"):
                continue
            key = pred.args["key"]
            if _known_metric(key, metrics):
                continue
            close = difflib.get_close_matches(key.lower().replace(" ", "_"), metrics, n=1,
                                              cutoff=0.75)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            found.append(Finding("warning", step.line, (
                f"step {n}: Expect metric {key!r} is not in [vocab] metrics{guess}; it stays "
                "unchecked unless a tool writes it")))
    return found
