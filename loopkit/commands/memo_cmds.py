"""``loopkit memo show|lint|render``."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click
from rich.markup import escape

from loopkit.app import App, pass_app
from loopkit.commands.exits import ExitCode
from loopkit.errors import LoopkitError
from loopkit.expect.parse import parse_expect
from loopkit.fsio import inside, locked, read_document, write_document
from loopkit.lint import lint_memo
from loopkit.model import Memo
from loopkit.ops.docs import load_ledger
from loopkit.parsers.memo import memo_focus, parse_do_now, require_memo
from loopkit.shellwords import step_policy
from loopkit.writers.memo import render_memo


def load_memo(app: App, raw: str | None) -> tuple[Path, Memo]:
    path = Path(raw) if raw else app.cfg.path(app.cfg.paths.memo)
    # Documents are named relative to the repository root (as the memos themselves do);
    # fall back to the working directory for a memo that lives outside the root.
    if not path.is_absolute() and (app.root / path).exists():
        path = app.root / path
    if not path.is_file():
        raise LoopkitError(f"memo not found: {path}")
    name = str(raw or app.cfg.paths.memo)
    return path, require_memo(read_document(path, name), name, step_policy(app.cfg))


@click.group()
def memo() -> None:
    """Inspect, lint and canonically re-render a memo (input.md)."""


@memo.command("show")
@click.argument("memo_path", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the parsed record as JSON.")
@pass_app
def show(app: App, memo_path: str | None, as_json: bool) -> None:
    """Print the parsed memo: header, focus, steps and their predicates."""
    _, parsed = load_memo(app, memo_path)
    if as_json:
        data = asdict(parsed)
        data["focus"] = asdict(memo_focus(parsed)) if memo_focus(parsed) else None
        for step in data["steps"]:
            step["predicates"] = [p.describe() for p in parse_expect(step["expect"] or "")]
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    con = app.console
    for f in parsed.fields:
        con.print(f"[bold]{f.key}:[/] {escape(f.value)}", highlight=False)
    focus = memo_focus(parsed)
    if focus:
        con.print(f"[bold]focus ->[/] item={focus.item_id} task={focus.plan_task} "
                  f"anchor={focus.anchor}", highlight=False)
    do_now = parse_do_now(parsed)
    if do_now is not None:
        con.print(f"[bold]Do Now command:[/] {escape(do_now.cmd or '(manual)')}",
                  highlight=False)
    for i, step in enumerate(parsed.steps, start=1):
        kind = "shell" if step.is_shell else "manual"
        first = escape(step.text.splitlines()[0]) if step.text else ""
        con.print(f"[cyan]step {i}[/] ({kind}) {first}", highlight=False)
        for pred in parse_expect(step.expect or ""):
            con.print(f"    expect: {pred.describe()}", markup=False, highlight=False)


@memo.command("lint")
@click.argument("memo_path", required=False)
@click.option("--collect/--no-collect", default=True, help="Run pytest --collect-only.")
@pass_app
def lint(app: App, memo_path: str | None, collect: bool) -> None:
    """Check selectors, file:line pointers, focus, variables and branch. Exit 1 on errors."""
    _, parsed = load_memo(app, memo_path)
    try:
        ledger = load_ledger(app.cfg)
    except LoopkitError:
        ledger = None
    findings = lint_memo(parsed, app.cfg, ledger, collect)
    for f in findings:
        app.console.print(f"{parsed.path}:{f.line}: {f.level}: {f.message}", markup=False,
                          highlight=False)
    errors = sum(f.level == "error" for f in findings)
    app.console.print(f"{errors} error(s), {len(findings) - errors} warning(s)", markup=False)
    if errors:
        raise SystemExit(ExitCode.FAILED)


@memo.command("render")
@click.argument("memo_path", required=False)
@click.option("--write", is_flag=True, help="Rewrite the memo in place (atomic).")
@pass_app
def render(app: App, memo_path: str | None, write: bool) -> None:
    """Print the memo in canonical form (header and section order, '- cmd' + 'Expect:')."""
    path, parsed = load_memo(app, memo_path)
    text = render_memo(parsed)
    if write:
        inside(app.root, path, "memo")
        with locked(path):
            write_document(path, text)
    else:
        click.echo(text, nl=False)
