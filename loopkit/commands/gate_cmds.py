"""``status``, ``check`` and ``commit``."""

from __future__ import annotations

import click
from rich.markup import escape

from loopkit.app import App, pass_app
from loopkit.commands.exits import ExitCode
from loopkit.errors import LoopkitError
from loopkit.fsio import read_text
from loopkit.git import Git
from loopkit.loop.state import loop_state_lines
from loopkit.loop.verify import check_turns
from loopkit.ops.commit import CommitRequest, make_commit
from loopkit.ops.docs import load_ledger, plan_files
from loopkit.ops.gate import run_gate
from loopkit.parsers.memo import memo_focus, parse_memo
from loopkit.parsers.plan import parse_plan
from loopkit.run.record import load_run


@click.command("status")
@click.option("--runs", "n_runs", type=int, default=5, show_default=True)
@pass_app
def status_cmd(app: App, n_runs: int) -> None:
    """Dashboard: the loop's state, focus, open items, last runs, plan progress."""
    cfg, con = app.cfg, app.console
    for line in loop_state_lines(cfg):
        con.print(line, markup=False, highlight=False)
    memo_path = cfg.path(cfg.paths.memo)
    if memo_path.is_file():
        focus = memo_focus(parse_memo(read_text(memo_path), cfg.paths.memo))
        con.print(f"[bold]Focus:[/] {escape(focus.raw) if focus else '-'}", highlight=False)
    try:
        ledger = load_ledger(cfg)
        open_items = [i for i in ledger.items if i.status != "done"]
        con.print(f"[bold]Open items:[/] {len(open_items)} of {len(ledger.items)}")
        for item in open_items[:15]:
            nums = [a.n for a in item.attempts]
            last = f"#{max(nums)}" if nums else "-"
            con.print(f"  {item.item_id:<28} {item.status:<12} last attempt {last}",
                      markup=False, highlight=False)
    except LoopkitError as exc:
        con.print(f"ledger: {exc}", markup=False)
    runs = sorted((cfg.root / cfg.paths.reports).rglob("run.json"),
                  key=lambda p: p.parent.name, reverse=True)[:n_runs]
    con.print(f"[bold]Last runs:[/] {len(runs)}")
    for path in runs:
        try:
            run = load_run(path)
        except LoopkitError:
            con.print(f"  unreadable {path}", markup=False)
            continue
        con.print(f"  {run.run_id} {run.verdict:<8} {path.parent}", markup=False,
                  highlight=False)
    con.print("[bold]Plans:[/]")
    for path in plan_files(cfg):
        plan = parse_plan(read_text(path), str(path))
        done = sum(t.state == "D" for t in plan.tasks)
        con.print(f"  {path.relative_to(cfg.root)}: {done}/{len(plan.tasks)} done",
                  markup=False, highlight=False)


@click.command("check")
@click.option("--base", default="HEAD", show_default=True, help="Revision the turn started at.")
@click.option("--turns", "turns", is_flag=True,
              help="Verify the turn journal against the commits instead (forged or missing "
                   "turn commits).")
@pass_app
def check_cmd(app: App, base: str, turns: bool) -> None:
    """Pre-handoff gate: new Attempts cite runs, [D] flips have passing evidence."""
    if turns:
        check_turns_cmd(app)
        return
    report = run_gate(app.cfg, base, app.now)
    for f in report.findings:
        app.console.print(f"{f.level}: {f.message}", markup=False, highlight=False)
    errors = sum(f.level == "error" for f in report.findings)
    app.console.print(f"{len(report.new_attempts)} new attempt(s), {len(report.done_flips)} "
                      f"done flip(s), {errors} error(s)", highlight=False)
    if errors:
        raise SystemExit(ExitCode.FAILED)


def check_turns_cmd(app: App) -> None:
    result = check_turns(Git(app.root, app.cfg.loop.git_timeout_s))
    for problem in result.problems:
        app.console.print(f"error: {problem}", markup=False, highlight=False)
    app.console.print(f"{len(result.records)} turn(s) in the journal, "
                      f"{sum(len(v) for v in result.commits.values())} turn commit(s), "
                      f"{len(result.problems)} error(s)", highlight=False)
    if result.problems:
        raise SystemExit(ExitCode.FAILED)


@click.command("commit")
@click.option("-m", "--message", required=True)
@click.option("--actor")
@click.option("--focus")
@click.option("--run", "runs", multiple=True, help="Run stamp to cite and stage.")
@click.option("--attempt", "attempt_n", type=int)
@click.option("--include", multiple=True, help="Extra path to stage.")
@click.option("--base", default="HEAD", show_default=True)
@click.option("--no-check", is_flag=True, help="Skip the pre-commit gate.")
@pass_app
def commit_cmd(app: App, message: str, actor: str | None, focus: str | None,
               runs: tuple[str, ...], attempt_n: int | None, include: tuple[str, ...],
               base: str, no_check: bool) -> None:
    """Commit loopkit's documents and cited runs, with Loopkit-* trailers."""
    if not no_check:
        report = run_gate(app.cfg, base, app.now)
        errors = [f for f in report.findings if f.level == "error"]
        if errors:
            for f in errors:
                app.console.print(f"error: {f.message}", markup=False)
            raise SystemExit(ExitCode.FAILED)
    req = CommitRequest(message, actor, focus, list(runs), attempt_n, list(include), base)
    sha, staged = make_commit(app.cfg, req)
    app.console.print(f"committed {sha[:10]} ({len(staged)} path(s))", highlight=False)
