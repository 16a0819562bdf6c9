"""``memo new``: draft the next memo from the ledger and the plan, for the supervisor to edit.

The draft names the Focus item and the next open task of its plan, the mapped tests and
commands of the plan row (or, when the focus is unchanged, the current memo's How-To Map
with its Expect lines), the failing checks of the item's last run, the next Attempt number,
and the checked-out branch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import read_text
from loopkit.lint import SELECTOR_RE
from loopkit.model import HeaderField, LedgerItem, Memo, PlanTask, Section, Step
from loopkit.ops.docs import load_archive, load_ledger, resolve_plan
from loopkit.parsers.ledger import max_attempt
from loopkit.parsers.memo import memo_focus
from loopkit.parsers.plan import parse_plan
from loopkit.run.record import RunRecord, find_run, load_run

OPEN_STATES = (" ", "P", "B")
CODE_RE = re.compile(r"`([^`]+)`")
COMMAND_WORDS = ("python", "pytest", "nb-compare", "nb-trace-diff", "nanobragg", "env ",
                 "KMP_", "NB_")
PITFALLS = [
    "Do not loosen tolerances or add skips in tests to get a pass (R4).",
    "Do not edit the protected assets (docs/index.md, loop.sh, supervisor.sh) (R18).",
    "At most one full test-suite run in the turn; targeted selectors first (R10).",
    "Record the run with loopkit attempt add; loopkit numbers and dates it.",
    "Keep every output inside the run folder loopkit creates; earlier runs stay untouched.",
]


@dataclass
class Draft:
    item: LedgerItem
    plan_rel: str | None
    task: PlanTask | None
    next_task: PlanTask | None
    attempt_n: int
    failing: list[str] = field(default_factory=list)


def pick_item(cfg: Config, item_id: str | None, current: Memo | None) -> LedgerItem:
    ledger = load_ledger(cfg)
    focus = memo_focus(current) if current else None
    wanted = item_id or (focus.item_id if focus else None)
    if wanted:
        item = ledger.item(wanted)
        if item is None:
            raise LoopkitError(f"item {wanted!r} is not in {cfg.paths.ledger}")
        return item
    for status in ("in_progress", "pending", "in_planning"):
        for item in ledger.items:
            if item.status == status:
                return item
    raise LoopkitError(f"{cfg.paths.ledger}: no open item to focus on")


def _plan_of(cfg: Config, item: LedgerItem) -> tuple[str | None, list[PlanTask]]:
    ref = item.fields.get("Plan Reference", "")
    match = CODE_RE.search(ref) or re.search(r"(plans/\S+\.md)", ref)
    if not match:
        return None, []
    path = resolve_plan(cfg, match.group(1).strip())
    rel = str(path.relative_to(cfg.root))
    return rel, parse_plan(read_text(path), rel).tasks


def last_run_failures(cfg: Config, item: LedgerItem) -> list[str]:
    for att in reversed(item.attempts):
        for run_id in att.run_ids:
            try:
                run = load_run(find_run(cfg.root, cfg.paths.reports, run_id))
            except LoopkitError:
                continue
            return _failing_checks(run)
    return []


def _failing_checks(run: RunRecord) -> list[str]:
    found = []
    for step in run.steps:
        for check in step.expect:
            if check.verdict == "fail":
                found.append(f"run {run.run_id} step {step.i}: "
                             f"{check.pred} ({check.detail})".strip())
        if step.status in ("failed", "timeout") and not step.expect:
            found.append(f"run {run.run_id} step {step.i}: rc {step.rc}")
    return found[:8]


def build_draft(cfg: Config, item_id: str | None, task_id: str | None,
                current: Memo | None) -> Draft:
    item = pick_item(cfg, item_id, current)
    plan_rel, tasks = _plan_of(cfg, item)
    task = None
    if task_id:
        task = next((t for t in tasks if t.task_id == task_id), None)
        if task is None:
            raise LoopkitError(f"task {task_id!r} is not in {plan_rel or 'the item plan'}")
    else:
        task = next((t for t in tasks if t.state in OPEN_STATES), None)
    later = tasks[tasks.index(task) + 1:] if task in tasks else []
    next_task = next((t for t in later if t.state in OPEN_STATES), None)
    archive = load_archive(cfg)
    n = max(max_attempt(item), max_attempt(archive.item(item.item_id) if archive else None)) + 1
    return Draft(item, plan_rel, task, next_task, n, last_run_failures(cfg, item))


def _row_commands(task: PlanTask | None) -> tuple[list[str], list[str]]:
    if task is None:
        return [], []
    codes = CODE_RE.findall(task.guidance + " " + task.description)
    selectors = [s for c in codes for s in SELECTOR_RE.findall(c)]
    commands = [c for c in codes if " " in c and c.startswith(COMMAND_WORDS)]
    return selectors, commands


def render_fields(cfg: Config, draft: Draft, branch: str, current: Memo | None,
                  same_focus: bool) -> list[HeaderField]:
    item, task = draft.item, draft.task
    label = f"{item.item_id} / Phase {task.task_id} — {task.description}" if task \
        else f"{item.item_id} — {item.title}"
    selectors, commands = _row_commands(task)
    old = {f.key: f.value for f in current.fields} if current and same_focus else {}
    mapped = old.get("Mapped tests") or ", ".join(selectors) or "none — evidence-only"
    do_now = old.get("Do Now") or (f"{item.item_id} {task.task_id if task else ''} — "
                                   f"{commands[0] if commands else 'see the How-To Map'}")
    values = {
        "Summary": (f"{task.task_id}: {task.description}" if task else item.title),
        "Mode": old.get("Mode", "Parity"), "Focus": label, "Branch": branch,
        "Mapped tests": mapped, "Artifacts": old.get("Artifacts", f"{cfg.paths.reports}/"),
        "Do Now": do_now,
        "If Blocked": old.get("If Blocked", f"Record the run with loopkit attempt add "
                              f"{item.item_id} --run $STAMP --result blocked and say why."),
    }
    return [HeaderField(key, value) for key, value in values.items()]


def _sections(cfg: Config, draft: Draft, current: Memo | None,
              same_focus: bool) -> tuple[list[Section], list[str], list[Step]]:
    item, task = draft.item, draft.task
    keep = {s.title: s for s in current.sections} if current and same_focus else {}
    where = f"{draft.plan_rel}:{task.line + 1}" if draft.plan_rel and task else cfg.paths.ledger
    priorities = keep.get("Priorities & Rationale") or Section(
        "Priorities & Rationale", "Priorities & Rationale", body=[
            f"- {where} — the task row: {task.description if task else item.title}.",
            f"- {cfg.paths.ledger}:{item.line} — item {item.item_id} ({item.status}).",
            f"- The next Attempt is #{draft.attempt_n}; loopkit allocates it."])
    pitfalls = keep.get("Pitfalls To Avoid") or Section(
        "Pitfalls To Avoid", "Pitfalls To Avoid", body=[f"- {p}" for p in PITFALLS])
    pointers = keep.get("Pointers") or Section("Pointers", "Pointers", body=[
        f"- {where}", f"- {cfg.paths.ledger}:{item.line}"])
    nxt = draft.next_task
    next_up = Section("Next Up", "Next Up (optional)", body=[
        f"- {nxt.task_id}: {nxt.description}" if nxt else "- Close the item once its plan "
        "is done."])
    recap = [f"Next Attempt: #{draft.attempt_n} of {item.item_id}."]
    recap += ([f"Failing checks of the last run: {'; '.join(draft.failing)}."]
              if draft.failing else ["The item's last run has no failing check."])
    old_recap = keep.get("Context Recap")
    context = Section("Context Recap", "Context Recap",
                      body=(list(old_recap.body) if old_recap else []) + recap)
    howto = Section("How-To Map", "How-To Map")
    if current and same_focus:
        intro, steps = current.howto_intro, current.steps
    else:
        _, commands = _row_commands(task)
        intro, steps = [], [Step(text=c, expect="rc=0", cmd=c) for c in commands]
        if not steps:
            steps = [Step(text=f"Work out the commands for {task.task_id if task else item.item_id}"
                          " and write them here, each with an Expect: line.")]
    return [priorities, howto, pitfalls, pointers, next_up, context], intro, steps


def draft_memo(cfg: Config, branch: str, item_id: str | None, task_id: str | None,
               current: Memo | None) -> str:
    from loopkit.writers.memo import render_memo

    draft = build_draft(cfg, item_id, task_id, current)
    focus = memo_focus(current) if current else None
    same = bool(focus and focus.item_id == draft.item.item_id and draft.task is not None
                and focus.plan_task == draft.task.task_id)
    memo = Memo(path=cfg.paths.memo)
    memo.fields = render_fields(cfg, draft, branch, current, same)
    memo.sections, memo.howto_intro, memo.steps = _sections(cfg, draft, current, same)
    return render_memo(memo)
