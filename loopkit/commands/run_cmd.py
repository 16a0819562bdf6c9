"""``loopkit run``."""

from __future__ import annotations

import math
from pathlib import Path

import click

from loopkit.app import App, pass_app
from loopkit.commands.exits import exit_code_for_verdict
from loopkit.commands.memo_cmds import load_memo
from loopkit.errors import LoopkitError
from loopkit.requires import SKIPPED
from loopkit.run.flow import RunRequest, execute
from loopkit.run.plan import (
    PlannedStep,
    memo_run_root,
    parse_selection,
    plan_steps,
    selection_record,
    validate_run_root,
)
from loopkit.run.record import RunRecord


class Seconds(click.ParamType):
    """A timeout: a finite number of seconds above zero (0, -1, nan and inf are refused)."""

    name = "seconds"

    def convert(self, value: object, param: click.Parameter | None,
                ctx: click.Context | None) -> float:
        try:
            seconds = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} must be a finite number of seconds above 0", param, ctx)
        return seconds


SECONDS = Seconds()


@click.command("run")
@click.argument("memo_path", required=False)
@click.option("--steps", "steps_spec", help="How-To step numbers to run, e.g. 1-3,5.")
@click.option("--do-now-only", is_flag=True, help="Run only the Do Now command.")
@click.option("--dry-run", is_flag=True, help="Show the plan; execute and write nothing.")
@click.option("--timeout", "timeout_s", type=SECONDS, help="Per-step timeout in seconds.")
@click.option("--env-profile", help="Env profile from loopkit.toml (e.g. parity).")
@click.option("--run-root", help="Override the run root (default: from the memo).")
@pass_app
def run_cmd(app: App, memo_path: str | None, steps_spec: str | None, do_now_only: bool,
            dry_run: bool, timeout_s: float | None, env_profile: str | None,
            run_root: str | None) -> None:
    """Execute the memo's steps in one shell and record run.json, summary.md, sha256.txt."""
    path, memo = load_memo(app, memo_path)
    profile = app.cfg.env_profiles.get(env_profile) if env_profile else None
    if env_profile and profile is None:
        raise LoopkitError(f"unknown env profile {env_profile!r}")
    shell, manual = plan_steps(memo, parse_selection(steps_spec), do_now_only,
                               bool(profile and profile.fail_on_skip))
    fallback = f"{app.cfg.paths.reports}/loopkit"
    root = validate_run_root(run_root) if run_root else memo_run_root(memo, fallback)
    if not shell:
        raise LoopkitError("no executable steps selected (manual steps are never run)")
    if dry_run:
        _show_plan(app, root, shell, manual)
        return
    req = RunRequest(cfg=app.cfg, memo=memo, memo_path=path, run_root=root, shell=shell,
                     manual=manual, now=app.now,
                     timeout_s=timeout_s or app.cfg.budgets.step_timeout_s,
                     env_profile=env_profile,
                     selection=selection_record(memo, shell, steps_spec, do_now_only))
    report_verdict(app, *execute(req, app.console))


def report_verdict(app: App, run: RunRecord, run_dir: Path) -> None:
    """Print the verdict line and exit with its status (0 pass, 3 partial, 1 otherwise)."""
    c = run.counts
    color = {"pass": "green", "partial": "yellow"}.get(run.verdict, "red")
    app.console.print(f"verdict: [{color}]{run.verdict}[/] ({c.get('pass', 0)} pass, "
                      f"{c.get('fail', 0)} fail, {c.get('unchecked', 0)} unchecked, "
                      f"{c.get(SKIPPED, 0)} {SKIPPED}) run {run.run_id}", highlight=False)
    raise SystemExit(exit_code_for_verdict(run.verdict))


def _show_plan(app: App, root: str, shell: list[PlannedStep], manual: list[PlannedStep]) -> None:
    app.console.print(f"run root: {root}/<STAMP>", highlight=False)
    for planned in shell:
        app.console.print(f"step {planned.i}: {planned.cmd}", markup=False, highlight=False)
        for pred in planned.predicates:
            app.console.print(f"    check: {pred.describe()}", markup=False, highlight=False)
    for planned in manual:
        first = planned.step.text.splitlines()[0]
        app.console.print(f"step {planned.i} (manual, not run): {first}", markup=False,
                          highlight=False)
