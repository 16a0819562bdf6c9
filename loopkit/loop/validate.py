"""Turn validation: the turn's diff against the role's paths, protected assets (R18), edits
that loosen tolerances or add skips in tests (R4) and full-suite runs (R10).

§5.5 weakness 2: the reference judged a turn by the agent's exit code alone. Errors here fail
the turn; flags are kept in the journal record for the supervisor to read.
"""

from __future__ import annotations

import fnmatch
import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from loopkit.git import Git
from loopkit.loop.roles import JOURNAL, LoopSettings, RoleSpec
from loopkit.run.record import run_from_dict

SUITE_ROOTS = {"tests", "tests/", ".", "./"}


@dataclass
class Validation:
    errors: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    full_suite_runs: int = 0


def glob_allows(path: str, globs: list[str]) -> bool:
    """``path`` matches a positive glob and no ``!``-glob (``*`` crosses ``/``)."""
    positive = [g for g in globs if not g.startswith("!")]
    negative = [g[1:] for g in globs if g.startswith("!")]
    return (any(fnmatch.fnmatchcase(path, g) for g in positive)
            and not any(fnmatch.fnmatchcase(path, g) for g in negative))


def path_errors(files: list[str], role: RoleSpec, settings: LoopSettings) -> list[str]:
    errors = []
    outside = [f for f in files if not glob_allows(f, role.writes)]
    if outside:
        errors.append(f"wrote outside its paths: {', '.join(outside[:8])}"
                      + (f" (+{len(outside) - 8} more)" if len(outside) > 8 else ""))
    if JOURNAL in files:
        errors.append(f"edited the turn journal {JOURNAL} (only loopkit writes it)")
    touched = [f for f in files if f in settings.protected]
    if touched:
        errors.append(f"changed protected asset(s) (R18): {', '.join(touched)}")
    return errors


def _changed_lines(git: Git, base: str, rel: str, root: Path) -> list[str]:
    if git.show(base, rel) is None:
        path = root / rel
        try:
            return ["+" + line for line in path.read_text(errors="replace").splitlines()]
        except OSError:
            return []
    diff = git.run("diff", "--no-color", "-U0", base, "--", rel).stdout
    return [line for line in diff.splitlines()
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def tolerance_flags(git: Git, base: str, files: list[str], settings: LoopSettings,
                    root: Path) -> list[str]:
    """R4: added or removed lines in tests that touch a tolerance, threshold, skip or xfail."""
    flags = []
    for rel in files:
        if not any(fnmatch.fnmatchcase(rel, g) for g in settings.test_globs):
            continue
        for line in _changed_lines(git, base, rel, root):
            hit = next((p for p in settings.tolerance_patterns if p in line), None)
            if hit:
                flags.append(f"R4: {rel}: {line[:1]} {line[1:].strip()[:120]} "
                             f"(touches {hit!r}; needs a waiver in the Attempt)")
    return flags


def is_full_suite(cmd: str) -> bool:
    """A pytest invocation with no selector narrower than the whole ``tests`` tree."""
    try:
        words = shlex.split(cmd, comments=True)
    except ValueError:
        return False
    for i, word in enumerate(words):
        if word.endswith("pytest") or (word == "-m" and i + 1 < len(words)
                                       and words[i + 1] == "pytest" and i > 0):
            start = i + (2 if word == "-m" else 1)
            args, skip_next = [], False
            for arg in words[start:]:
                if arg in ("|", "&&", ";", "||"):
                    break
                if skip_next:
                    skip_next = False
                elif arg in ("-k", "--deselect"):
                    return False
                elif arg in ("-m", "-p", "-c", "-o", "--rootdir", "--tb", "-n"):
                    skip_next = True
                elif not arg.startswith("-"):
                    args.append(arg)
            return all(a in SUITE_ROOTS for a in args)
    return False


def full_suite_runs(root: Path, files: list[str]) -> int:
    """R10: full-suite pytest steps in the run folders the turn added."""
    count = 0
    for rel in files:
        if not rel.endswith("/run.json"):
            continue
        try:
            data = json.loads((root / rel).read_text(encoding="utf-8"))
            steps = run_from_dict(data).steps if isinstance(data, dict) else []
        except (OSError, ValueError, TypeError):
            continue
        count += sum(is_full_suite(step.cmd) for step in steps)
    return count


def validate_turn(git: Git, base: str, files: list[str], role: RoleSpec,
                  settings: LoopSettings, root: Path) -> Validation:
    result = Validation(errors=path_errors(files, role, settings))
    result.flags = tolerance_flags(git, base, files, settings, root)
    result.full_suite_runs = full_suite_runs(root, files)
    if result.full_suite_runs > settings.max_full_suite_runs:
        result.flags.append(f"R10: {result.full_suite_runs} full-suite test runs in the turn "
                            f"(at most {settings.max_full_suite_runs})")
    return result
