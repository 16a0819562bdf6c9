"""``plan set``: marking a task done needs a passing run whose artifacts exist."""

from __future__ import annotations

from datetime import UTC, datetime

from loopkit.config import Config
from loopkit.errors import LoopkitError, RefusedError
from loopkit.fsio import locked, read_document, write_document
from loopkit.ops.attempts import run_passed_with_artifacts
from loopkit.ops.docs import load_ledger, resolve_plan
from loopkit.ops.overrides import record_override
from loopkit.parsers.plan import normalize_state, parse_plan
from loopkit.run.record import find_run, load_run
from loopkit.scrub import clean_text
from loopkit.writers.plan import render_plan, set_task_state

STATE_INPUT = {"D": "D", "DONE": "D", "P": "P", "B": "B", " ": " ", "": " ", "TODO": " ",
               "SKIP": "SKIP", "S": "SKIP"}


#: verdicts of a cited run that a supervisor may accept with --force: the run passed what it
#: ran, but skipped steps, ran a subset or left checks unchecked. A task is never set done on a
#: failed or aborted run; with no run cited, --force records the supervisor's reason alone.
FORCEABLE_VERDICTS = ("pass", "partial")


def parse_state(raw: str) -> str:
    state = STATE_INPUT.get(raw.strip().upper())
    if state is None:
        state = normalize_state(raw)
    if state == "?":
        raise LoopkitError(f"unknown task state {raw!r} (use D, P, B, SKIP or ' ')")
    return state


def set_plan_task(cfg: Config, plan_name: str, task_id: str, raw_state: str, now: datetime,
                  evidence: str | None = None, attempt: int | None = None,
                  force: bool = False, reason: str = "") -> str:
    """Returns the note written into the guidance cell."""
    state = parse_state(raw_state)
    reason = clean_text(reason, cfg.env_snapshot.redact)
    if force and not reason:
        raise LoopkitError("--force needs --reason")
    note = ""
    path = resolve_plan(cfg, plan_name)
    if state == "D":
        note = _done_note(cfg, now, evidence, attempt, force, reason)
        if "FORCED" in note:
            _refuse_over_failing_run(cfg, task_id, evidence)
    with locked(path):
        plan = parse_plan(read_document(path), str(path))
        if plan.task(task_id) is None:
            raise LoopkitError(f"task {task_id!r} not found in {path}")
        write_document(path, render_plan(set_task_state(plan, task_id, state, note)))
        if "FORCED" in note:
            record_override(cfg, {"plan": str(path.relative_to(cfg.root)), "task": task_id,
                                  "note": note, "reason": reason, "evidence": evidence,
                                  "at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")})
    return note


def _refuse_over_failing_run(cfg: Config, task_id: str, evidence: str | None) -> None:
    """--force may accept partial evidence, never overrule a failure: refused while the newest
    run that the ledger's Attempts cite for this task failed or was aborted (a newer --evidence
    run supersedes it)."""
    cited = cited_task_runs(cfg, task_id)
    if not cited or (evidence and evidence >= max(cited)):
        return
    run_id, where = max(cited.items())
    try:
        path = find_run(cfg.root, cfg.paths.reports, run_id, verify=False)
        verdict = load_run(path).verdict
    except LoopkitError:
        return
    if verdict in ("fail", "aborted"):
        raise RefusedError(f"refused: --force cannot mark {task_id} done while {where} cites "
                           f"run {run_id}, whose verdict is {verdict!r} (record a passing run)")


def cited_task_runs(cfg: Config, task_id: str) -> dict[str, str]:
    """run id -> "ITEM Attempt #N" for the ledger's Attempts that cite a run of ``task_id``
    (their loopkit anchor names the task, or the run's own focus does)."""
    try:
        ledger = load_ledger(cfg)
    except LoopkitError:
        return {}
    cited: dict[str, str] = {}
    for item in ledger.items:
        for att in item.attempts:
            for run_id in att.run_ids:
                if att.task == task_id or _run_task(cfg, run_id) == task_id:
                    cited[run_id] = f"{item.item_id} Attempt #{att.n}"
    return cited


def _run_task(cfg: Config, run_id: str) -> str | None:
    try:
        run = load_run(find_run(cfg.root, cfg.paths.reports, run_id, verify=False))
    except LoopkitError:
        return None
    return run.focus.get("plan_task")


def _done_note(cfg: Config, now: datetime, evidence: str | None, attempt: int | None,
               force: bool, reason: str) -> str:
    day = now.strftime("%Y-%m-%d")
    att = f" Attempt #{attempt}" if attempt else ""
    if evidence:
        ok, why, run = run_passed_with_artifacts(cfg, evidence)
    else:
        ok, why, run = False, "no --evidence run given", None
    if ok:
        return f"✅ {day}{att} (run {evidence})."
    if not force:
        raise RefusedError(f"refused: cannot mark done: {why} (override for partial evidence: "
                           "--force --reason)")
    if run is not None and run.verdict not in FORCEABLE_VERDICTS:
        raise RefusedError(f"refused: --force cannot mark done against its own evidence: {why}")
    cited = f" run {evidence}" if evidence else ""
    return f"⚠️ FORCED {day}{att}{cited}: {reason.strip()} [{why}]."
