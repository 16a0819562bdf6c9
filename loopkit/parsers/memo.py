"""Parse a memo (``input.md``) in any of its historical shapes."""

from __future__ import annotations

import re

from loopkit.errors import ParseError
from loopkit.model import HEADER_KEYS, SECTION_TITLES, FocusRef, HeaderField, Memo, Section, Step
from loopkit.parsers.common import ITEM_ID_RE, check_text, split_front_matter
from loopkit.shellwords import DEFAULT_POLICY, StepPolicy, extract_command

_KEY_ALT = "|".join(re.escape(k) for k in sorted(HEADER_KEYS, key=len, reverse=True))
HEADER_RE = re.compile(rf"^(?P<indent>\s*(?:-\s+)?)(?P<key>{_KEY_ALT})\s*:\s*(?P<value>.*)$",
                       re.IGNORECASE)
_SEC_ALT = "|".join(re.escape(t) for t in SECTION_TITLES)
SECTION_RE = re.compile(
    rf"^(?P<title>{_SEC_ALT}|Priorities|Pitfalls)(?P<suffix>\s*\([^)]*\))?\s*:\s*(?P<inline>.*)$",
    re.IGNORECASE)
#: a bare marker (``-``) is an empty step too: the writer renders ``- `` without its trailing blank
BULLET_RE = re.compile(r"^\s?(?:[-*]|\d+[.)]|Step\s+\d+:)(?:\s+(?P<text>.*))?$")
EXPECT_RE = re.compile(r"^\s*Expect\s*:\s*(?P<text>.*)$")


def _canonical_key(raw: str) -> str:
    for key in HEADER_KEYS:
        if key.lower() == raw.lower():
            return key
    return raw


def _canonical_section(raw: str) -> str:
    low = raw.lower()
    for title in SECTION_TITLES:
        if title.lower().startswith(low):
            return title
    return raw


def parse_memo(text: str, path: str = "input.md", policy: StepPolicy = DEFAULT_POLICY) -> Memo:
    check_text(path, text)
    lines = text.splitlines()
    front, start = split_front_matter(path, lines)
    memo = Memo(path=path, front_matter=front)
    current: Section | None = None
    seen_header = False
    for idx in range(start, len(lines)):
        line, lineno = lines[idx], idx + 1
        sec = SECTION_RE.match(line)
        if sec:
            title = _canonical_section(sec.group("title"))
            label = title + (sec.group("suffix") or "")
            current = Section(title=title, label=label, inline=sec.group("inline").strip(),
                              line=lineno)
            memo.sections.append(current)
            continue
        head = HEADER_RE.match(line)
        if head and (current is None or not head.group("indent")):
            memo.fields.append(HeaderField(_canonical_key(head.group("key")),
                                           head.group("value").strip(), lineno))
            seen_header = True
            current = None
            continue
        if current is not None:
            current.body.append(line)
        elif not seen_header:
            memo.preamble.append(line)
        elif line.strip():
            memo.extra.append(line)
    _strip_blank_edges(memo)
    howto = memo.section("How-To Map")
    if howto is not None:
        memo.howto_intro, memo.steps = parse_steps(howto.body, howto.line + 1, policy)
    return memo


def _strip_blank_edges(memo: Memo) -> None:
    while memo.preamble and not memo.preamble[-1].strip():
        memo.preamble.pop()
    while memo.preamble and not memo.preamble[0].strip():
        memo.preamble.pop(0)
    for sec in memo.sections:
        while sec.body and not sec.body[-1].strip():
            sec.body.pop()
        while sec.body and not sec.body[0].strip():
            sec.body.pop(0)


def parse_steps(body: list[str], first_line: int,
                policy: StepPolicy = DEFAULT_POLICY) -> tuple[list[str], list[Step]]:
    """Split How-To lines into steps; continuation lines (heredocs, sub-bullets) stay attached."""
    intro: list[str] = []
    steps: list[Step] = []
    chunks: list[list[str]] = []
    for offset, line in enumerate(body):
        exp = EXPECT_RE.match(line)
        if exp and steps:
            prev = steps[-1].expect
            text = exp.group("text").strip()
            steps[-1].expect = text if prev is None else f"{prev}; {text}"
            continue
        bullet = BULLET_RE.match(line)
        if bullet:
            steps.append(Step(text="", line=first_line + offset))
            chunks.append([bullet.group("text") or ""])
        elif steps:
            chunks[-1].append(line)
        else:
            intro.append(line)
    for step, chunk in zip(steps, chunks, strict=True):
        while len(chunk) > 1 and not chunk[-1].strip():
            chunk.pop()
        step.text = "\n".join(chunk)
        step.cmd = extract_command(step.text, policy)
    return intro, steps


def parse_do_now(memo: Memo) -> Step | None:
    """The Do Now as a step: the part after ' — ' when it is a shell command."""
    value = memo.field("Do Now")
    if value is None:
        return None
    line = next(f.line for f in memo.fields if f.key == "Do Now")
    for sep in (" — ", " -- ", " – "):
        if sep in value:
            head, tail = value.split(sep, 1)
            if ITEM_ID_RE.search(head) or "fix_plan" in head:
                cmd = extract_command(tail.strip())
                return Step(text=value, cmd=cmd, line=line)
    return Step(text=value, cmd=extract_command(value), line=line)


TASK_RE = re.compile(r"\bPhase\s+([A-Z]\d[\w.]*)")
#: a plan task id without the word Phase: ``CLI-FLAGS-003 / K3g3``, ``(task D2)``
BARE_TASK_RE = re.compile(r"(?<![\w-])([A-Z]\d+[a-z]?\d*(?:\.\d+)?[a-z]?)(?![\w-])")


def parse_focus(raw: str) -> FocusRef:
    """Item id (or ledger anchor) and plan task of a Focus line. ``Phase K3g3`` names the task
    outright; otherwise every bare task-shaped word (``K3g3``) is a candidate, which lint and
    the plan resolve."""
    ref = FocusRef(raw=raw)
    anchor = re.search(r"fix_plan\.md#([\w\-]+)", raw)
    if anchor:
        ref.anchor = anchor.group(1)
    ident = ITEM_ID_RE.search(raw)
    if ident and not anchor:
        ref.item_id = ident.group(1)
    task = TASK_RE.search(raw)
    if task:
        ref.plan_task = task.group(1)
        return ref
    rest = ITEM_ID_RE.sub(" ", re.sub(r"fix_plan\.md#[\w\-]+", " ", raw))
    ref.task_candidates = list(dict.fromkeys(BARE_TASK_RE.findall(rest)))
    ref.plan_task = ref.task_candidates[0] if ref.task_candidates else None
    return ref


def memo_focus(memo: Memo) -> FocusRef | None:
    raw = memo.field("Focus")
    fm = memo.front_matter or {}
    if raw is None and "focus" not in fm:
        return None
    ref = parse_focus(raw or "")
    if fm.get("focus"):
        ref.item_id = str(fm["focus"])
    if fm.get("task"):
        ref.plan_task = str(fm["task"])
    return ref


def require_memo(text: str, path: str, policy: StepPolicy = DEFAULT_POLICY) -> Memo:
    memo = parse_memo(text, path, policy)
    if not memo.fields and not memo.sections:
        raise ParseError(path, 1, "no memo header fields or sections found")
    return memo
