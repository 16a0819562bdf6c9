"""``attempt``, ``plan``, ``memory``, ``ledger`` and ``archive`` verbs."""

from __future__ import annotations

import click

from loopkit.app import App, pass_app
from loopkit.commands.exits import ExitCode
from loopkit.fsio import locked, write_document
from loopkit.ledger_dates import blame_times
from loopkit.lint import lint_ledger
from loopkit.ops.archive import archive_attempts, archived_duplicates
from loopkit.ops.attempts import AttemptRequest, add_attempt
from loopkit.ops.docs import load_ledger, load_plan
from loopkit.ops.items import set_item
from loopkit.ops.memory import add_memory
from loopkit.ops.plans import set_plan_task
from loopkit.writers.ledger import rebuild_index, render_ledger
from loopkit.writers.memory import NewEntry


@click.group()
def attempt() -> None:
    """Record Attempts in the ledger."""


@attempt.command("add")
@click.argument("item_id")
@click.option("--run", "run_id", required=True, help="Run stamp (or path) to cite.")
@click.option("--result", default="auto", show_default=True, help="auto or a vocabulary value.")
@click.option("--summary", default="", help="One-line summary (default: from the run).")
@click.option("--actor", help="galph or ralph.")
@click.option("--obs", "observations", multiple=True, help="Observation bullet (repeatable).")
@click.option("--next", "next_actions", default="", help="Next Actions text.")
@click.option("--task", help="Plan task id, e.g. K3g3.")
@pass_app
def attempt_add(app: App, item_id: str, run_id: str, result: str, summary: str,
                actor: str | None, observations: tuple[str, ...], next_actions: str,
                task: str | None) -> None:
    """Append an Attempt numbered and dated by loopkit (idempotent per item and run)."""
    req = AttemptRequest(item_id, run_id, result, summary, actor, list(observations),
                         next_actions, task)
    res = add_attempt(app.cfg, req)
    verb = "added" if res.created else "already recorded as"
    app.console.print(f"{item_id}: {verb} Attempt #{res.n} — Result: {res.result}",
                      highlight=False)


@click.group()
def plan() -> None:
    """Show plans and set task states."""


@plan.command("show")
@click.argument("plan_name")
@pass_app
def plan_show(app: App, plan_name: str) -> None:
    """List phases and tasks with their states."""
    path, parsed = load_plan(app.cfg, plan_name)
    done = sum(t.state == "D" for t in parsed.tasks)
    app.console.print(f"{path.relative_to(app.root)}: {done}/{len(parsed.tasks)} done",
                      highlight=False)
    for task in parsed.tasks:
        app.console.print(f"  [{task.state:>1}] {task.task_id:<8} {task.description}",
                          markup=False, highlight=False)
    for task in parsed.tasks:
        if task.state == "?":
            app.console.print(f"warning: {path.relative_to(app.root)}:{task.line + 1}: "
                              f"{task.task_id} has an unknown state {task.marker!r}",
                              markup=False, highlight=False)


@plan.command("set")
@click.argument("plan_name")
@click.argument("task_id")
@click.argument("state")
@click.option("--evidence", "--run", "evidence", help="Passing run stamp proving the task.")
@click.option("--attempt", "attempt_n", type=int, help="Ledger Attempt number to cite.")
@click.option("--force", is_flag=True, help="Override the evidence check (needs --reason).")
@click.option("--reason", default="", help="Why the override is justified (recorded).")
@pass_app
def plan_set(app: App, plan_name: str, task_id: str, state: str, evidence: str | None,
             attempt_n: int | None, force: bool, reason: str) -> None:
    """Set a task's state; D requires a passing run whose artifacts exist."""
    note = set_plan_task(app.cfg, plan_name, task_id, state, app.now, evidence, attempt_n,
                         force, reason)
    app.console.print(f"{task_id} -> [{state.upper()}] {note}", markup=False, highlight=False)


@click.group()
def item() -> None:
    """Ledger items: status and next actions."""


@item.command("set")
@click.argument("item_id")
@click.option("--status", help="A status of the vocabulary (done needs --evidence).")
@click.option("--note", default="", help="Short text after the status, e.g. the phase.")
@click.option("--next-action", "next_action", help="New text of the item's Next Actions.")
@click.option("--evidence", "--run", "evidence", help="Passing run stamp (required for done).")
@pass_app
def item_set(app: App, item_id: str, status: str | None, note: str, next_action: str | None,
             evidence: str | None) -> None:
    """Set an item's Status (index row included) and/or Next Actions."""
    for change in set_item(app.cfg, item_id, status, note, next_action, evidence):
        app.console.print(f"{item_id} {change}", markup=False, highlight=False)


@click.group()
def memory() -> None:
    """Append entries to the supervisor memory file."""


@memory.command("add")
@click.option("--kind", type=click.Choice(["recap", "focus", "note"]), default="recap")
@click.option("--focus", help="Ledger item id.")
@click.option("--action-type", help="Evidence, Debug, Planning, Review, Docs.")
@click.option("--mode", help="Parity, Docs, Perf, TDD, none.")
@click.option("--state", help="gathering_evidence, planning, ready_for_implementation.")
@click.option("--actor", default="galph", show_default=True)
@click.option("-m", "bullets", multiple=True, help="Bullet text (repeatable).")
@pass_app
def memory_add(app: App, kind: str, focus: str | None, action_type: str | None,
               mode: str | None, state: str | None, actor: str, bullets: tuple[str, ...]) -> None:
    """Append a UTC-stamped entry (vocabulary checked)."""
    entry = NewEntry(ts="", kind=kind, actor=actor, focus=focus, action_type=action_type,
                     mode=mode, state=state, bullets=list(bullets))
    for warning in add_memory(app.cfg, entry, app.now):
        app.console.print(f"warning: {warning}", markup=False)
    app.console.print(f"appended entry {entry.ts}", highlight=False)


@click.group()
def ledger() -> None:
    """Lint the ledger or rebuild its index."""


@ledger.command("lint")
@pass_app
def ledger_lint(app: App) -> None:
    """Duplicate ids, index/item mismatches, attempt numbering and dates, budgets.

    Every Attempt header style counts. An Attempt dated after the commit that wrote it (git
    blame), or after now when not committed yet, is an error. Exit 1 on errors."""
    parsed = load_ledger(app.cfg)
    written = blame_times(app.root, app.cfg.paths.ledger)
    findings = (lint_ledger(parsed, app.cfg, app.now, written)
                + archived_duplicates(app.cfg, parsed))
    for f in findings:
        app.console.print(f"{parsed.path}:{f.line}: {f.level}: {f.message}", markup=False,
                          highlight=False)
    errors = sum(f.level == "error" for f in findings)
    app.console.print(f"{len(parsed.items)} items, {errors} error(s), "
                      f"{len(findings) - errors} warning(s)", highlight=False)
    if errors:
        raise SystemExit(ExitCode.FAILED)


@ledger.command("index")
@click.option("--rebuild", is_flag=True, help="Regenerate the index rows from the items.")
@pass_app
def ledger_index(app: App, rebuild: bool) -> None:
    """Print the index derived from the items, or rewrite it with --rebuild."""
    path = app.cfg.path(app.cfg.paths.ledger)
    with locked(path):
        parsed = load_ledger(app.cfg)
        if rebuild:
            write_document(path, render_ledger(rebuild_index(parsed)))
    for item in parsed.items:
        app.console.print(f"{item.item_id}\t{item.status}\t{item.title}", markup=False,
                          highlight=False)


@click.command("archive")
@click.option("--item", "item_id", required=True)
@click.option("--keep-last", type=int, default=5, show_default=True)
@pass_app
def archive_cmd(app: App, item_id: str, keep_last: int) -> None:
    """Move all but the last K Attempts of an item verbatim to the archive."""
    moved = archive_attempts(app.cfg, item_id, keep_last)
    app.console.print(f"{item_id}: moved {moved} attempt(s) to {app.cfg.paths.archive}",
                      highlight=False)
