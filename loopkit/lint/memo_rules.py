"""The memo rules: its shape, its file and test references, its variables, focus and branch."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from loopkit.git import Git
from loopkit.lint.rule import Finding, LintContext
from loopkit.model import Memo, Section
from loopkit.parsers.common import slugify
from loopkit.parsers.memo import memo_focus, parse_do_now
from loopkit.shellwords import variables_set, variables_used

FILEREF_RE = re.compile(r"(?<![\w/.])((?:[\w.-]+/)*[\w.-]+\.[A-Za-z]\w*):(\d+)(?:-(\d+))?\b")
#: ``tests/x.py::Class::test[cpu|cuda]``: a parametrize id in brackets may hold any of its
#: characters except whitespace and ``]``
SELECTOR_RE = re.compile(r"(?<![\w/])(tests/[\w./-]+\.py(?:::[\w-]+(?:\[[^\]\s]*\])?)*)")
TO_BE_AUTHORED_RE = re.compile(r"^\s*\(?\s*to be authored\b", re.I)
SHELL_VARS = {"HOME", "PATH", "PWD", "USER", "SHELL", "STAMP", "RUN_DIR", "LOOPKIT_RUN_ID",
              "OLDPWD", "TMPDIR", "RANDOM", "LINENO", "BASH_SOURCE"}
REQUIRED_KEYS = ("Summary", "Focus", "Branch", "Mapped tests", "Do Now", "If Blocked")


def _count_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh)


def check_filerefs(memo: Memo, ctx: LintContext) -> list[Finding]:
    root = ctx.root
    found: list[Finding] = []
    for title in ("Pointers", "Priorities & Rationale"):
        sec = memo.section(title)
        if sec is None:
            continue
        for offset, line in enumerate(sec.body, start=sec.line + 1):
            for path, start, end in FILEREF_RE.findall(line):
                target = root / path
                last = int(end or start)
                if not target.is_file():
                    found.append(Finding("error", offset, f"{path}:{start}: file does not exist"))
                elif last > _count_lines(target):
                    found.append(Finding("error", offset,
                                         f"{path}:{last}: past end of file "
                                         f"({_count_lines(target)} lines)"))
    return found


def memo_selectors(memo: Memo) -> list[str]:
    texts = memo.field_all("Mapped tests") + [s.cmd or "" for s in memo.steps]
    do_now = parse_do_now(memo)
    if do_now is not None and do_now.cmd:
        texts.append(do_now.cmd)
    return list(dict.fromkeys(sel for t in texts for sel in SELECTOR_RE.findall(t)))


def authored_later(memo: Memo) -> set[str]:
    """Mapped-tests selectors marked ``(to be authored)``: a test the turn is to write."""
    later: set[str] = set()
    for value in memo.field_all("Mapped tests"):
        for match in SELECTOR_RE.finditer(value):
            if TO_BE_AUTHORED_RE.match(value[match.end():]):
                later.add(match.group(1))
    return later


def check_selectors(memo: Memo, ctx: LintContext) -> list[Finding]:
    """Each selector the memo maps collects at least one test (``memo lint --collect``)."""
    if not ctx.collect:
        return []
    root = ctx.root
    line = next((f.line for f in memo.fields if f.key == "Mapped tests"), 0)
    found: list[Finding] = []
    later = authored_later(memo)
    for sel in later:
        found.append(Finding("warning", line, f"{sel}: to be authored (not collected)"))
    for sel in [s for s in memo_selectors(memo) if s not in later]:
        try:
            out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", sel],
                                 cwd=root, capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            found.append(Finding("error", line, f"{sel}: collection timed out"))
            continue
        if out.returncode != 0:
            found.append(Finding("error", line, f"{sel}: collects no tests (pytest rc "
                                                f"{out.returncode})"))
    return found


_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_SOURCE_FLAG_RE = re.compile(rf"(?<![\w)])-([A-Za-z]\w*)((?:\s+{_NUMBER}(?![\w.]))+)")
_NUMBER_RE = re.compile(rf"{_NUMBER}\Z")


def _memo_text(memo: Memo) -> list[tuple[int, str]]:
    lines = [(f.line, f.value) for f in memo.fields]
    for sec in memo.sections:
        lines += [(sec.line, sec.inline)] + list(enumerate(sec.body, start=sec.line + 1))
    return lines


def _flags_in_source(text: str) -> dict[str, tuple[float, ...]]:
    """``-flag number...`` runs in source text (string literals split over lines included)."""
    return {m.group(1): tuple(float(v) for v in m.group(2).split())
            for m in _SOURCE_FLAG_RE.finditer(text.replace('"', " ").replace("'", " "))}


def _flags_in_command(cmd: str) -> dict[str, tuple[float, ...]]:
    try:
        words = shlex.split(cmd, comments=True)
    except ValueError:  # a heredoc or an unbalanced quote: nothing to compare
        return {}
    flags: dict[str, tuple[float, ...]] = {}
    for i, word in enumerate(words):
        if not re.fullmatch(r"-[A-Za-z]\w*", word):
            continue
        values = []
        for nxt in words[i + 1:]:
            if not _NUMBER_RE.match(nxt):
                break
            values.append(float(nxt))
        if values:
            flags[word[1:]] = tuple(values)
    return flags


def check_test_citations(memo: Memo, ctx: LintContext) -> list[Finding]:
    """R21: a memo that maps tests cites the test source (``tests/x.py:30-36``), and the flags
    its steps pass agree with the numbers that source uses for the same flags (warnings)."""
    root = ctx.root
    mapped = [sel for value in memo.field_all("Mapped tests") for sel in SELECTOR_RE.findall(value)]
    if not mapped:
        return []
    line = next((f.line for f in memo.fields if f.key == "Mapped tests"), 0)
    cited = [(path, int(start), int(end or start))
             for _line, text in _memo_text(memo)
             for path, start, end in FILEREF_RE.findall(text or "")
             if path.startswith("tests/") and path.endswith(".py") and (root / path).is_file()]
    if not cited:
        example = mapped[0].split("::")[0]
        return [Finding("warning", line, f"Mapped tests name {mapped[0]}, but the memo cites no "
                        f"test source lines (R21: e.g. {example}:30-36)")]
    found = []
    for path, start, end in cited:
        source = (root / path).read_text(errors="replace").splitlines()[start - 1:end]
        wanted = _flags_in_source("\n".join(source))
        for step_no, step in enumerate(memo.steps, start=1):
            for flag, values in _flags_in_command(step.cmd or "").items():
                if flag in wanted and wanted[flag] != values:
                    found.append(Finding("warning", step.line, (
                        f"step {step_no}: -{flag} {' '.join(f'{v:g}' for v in values)}, but "
                        f"{path}:{start}-{end} uses -{flag} "
                        f"{' '.join(f'{v:g}' for v in wanted[flag])} (R21)")))
    return found


def check_variables(memo: Memo, ctx: LintContext) -> list[Finding]:
    known: set[str] = set(SHELL_VARS)
    found: list[Finding] = []
    for step in memo.steps:
        if not step.cmd:
            continue
        assigned_here = variables_set(step.cmd)
        for name in variables_used(step.cmd):
            if name not in known and name not in assigned_here:
                found.append(Finding("error", step.line, f"${name} used before it is set"))
        known.update(assigned_here)
        if step.expect is None:
            found.append(Finding("warning", step.line, "command step has no Expect: line"))
    return found


def check_focus(memo: Memo, ctx: LintContext) -> list[Finding]:
    from loopkit.parsers.plan import parse_plan

    ledger, root = ctx.ledger, ctx.root
    focus = memo_focus(memo)
    line = next((f.line for f in memo.fields if f.key == "Focus"), 0)
    if focus is None:
        return [Finding("error", 0, "memo has no Focus")]
    if ledger is None:
        return [Finding("warning", line, "no ledger found; focus not resolved")]
    item = ledger.item(focus.item_id) if focus.item_id else None
    if item is None and focus.anchor:
        item = next((i for i in ledger.items
                     if slugify(f"[{i.item_id}] {i.title}").startswith(focus.anchor[:30])), None)
    if item is None:
        return [Finding("error", line, f"focus {focus.raw!r} does not resolve to a ledger item")]
    if not focus.plan_task:
        return []
    plan_ref = re.search(r"[\w./-]+\.md", item.fields.get("Plan Reference", ""))
    if plan_ref is None or not (root / plan_ref.group(0)).is_file():
        return [Finding("error", line, f"{item.item_id}: plan reference missing or not found")]
    plan = parse_plan((root / plan_ref.group(0)).read_text(encoding="utf-8"), plan_ref.group(0))
    if focus.task_candidates:  # no "Phase": the first candidate the plan knows is the task
        if not any(plan.task(t) is not None for t in focus.task_candidates):
            return [Finding("warning", line, f"focus names no task of {plan_ref.group(0)} "
                            f"(looked for {', '.join(focus.task_candidates)})")]
        return []
    if plan.task(focus.plan_task) is None:
        return [Finding("error", line, f"task {focus.plan_task} not in {plan_ref.group(0)}")]
    return []


def check_branch(memo: Memo, ctx: LintContext) -> list[Finding]:
    branch = memo.field("Branch")
    if branch is None:
        return []
    current = Git(ctx.root).output("branch", "--show-current")
    if current and current != branch.strip():
        line = next(f.line for f in memo.fields if f.key == "Branch")
        return [Finding("error", line, f"Branch {branch!r} but the checkout is on {current!r}")]
    return []


#: the memo policy's bullet counts per section (R12)
BULLET_BOUNDS = {"Priorities & Rationale": (3, 6), "Pitfalls To Avoid": (5, 10), "Next Up": (1, 2)}
_BULLET_RE = re.compile(r"^ ?(?:[-*+]|\d+[.)])\s+\S")


def _bullets(section: Section) -> int:
    """Top-level bullets of a section (an inline text after the title counts as one)."""
    count = sum(1 for line in section.body if _BULLET_RE.match(line))
    return count + (1 if section.inline and not count else 0)


def check_shape(memo: Memo, ctx: LintContext) -> list[Finding]:
    keys = {f.key for f in memo.fields}
    found = [Finding("warning", 0, f"missing header {k!r}") for k in REQUIRED_KEYS if k not in keys]
    if "Phase" in keys:
        line = next(f.line for f in memo.fields if f.key == "Phase")
        found.append(Finding("warning", line, "memo carries a Phase label (dropped by policy)"))
    for title, (low, high) in BULLET_BOUNDS.items():
        section = memo.section(title)
        if section is None:
            continue
        count = _bullets(section)
        if not low <= count <= high:
            found.append(Finding("warning", section.line, f"{title}: {count} bullet(s), the "
                                 f"policy asks for {low}-{high}"))
    return found
