"""``exec``: one ad-hoc command recorded like a memo step (no memo needed)."""

from __future__ import annotations

import shlex

import click

from loopkit.app import App, pass_app
from loopkit.commands.run_cmd import SECONDS, report_verdict
from loopkit.errors import LoopkitError
from loopkit.parsers.memo import require_memo
from loopkit.run.flow import RunRequest, execute
from loopkit.run.plan import plan_steps, selection_record, validate_run_root

ADHOC_MEMO = """Summary: ad-hoc command (loopkit exec)
Mode: none
Focus: {focus}

How-To Map:
- $ {command}
  Expect: {expect}
"""


def adhoc_command(words: tuple[str, ...]) -> str:
    """One word is a shell command line as written; several are quoted and joined."""
    command = words[0] if len(words) == 1 else shlex.join(words)
    if not command.strip():
        raise LoopkitError("no command given (loopkit exec -- CMD ...)")
    if "\n" in command:
        raise LoopkitError("a multi-line command needs a memo step (loopkit run)")
    return command


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--expect", "expects", multiple=True,
              help="Expect clause, as in a memo (repeatable; default: rc=0).")
@click.option("--focus", default="ad-hoc", show_default=True, help="Ledger item / plan task.")
@click.option("--run-root", help="Run root (default: reports/loopkit/exec).")
@click.option("--timeout", "timeout_s", type=SECONDS, help="Timeout in seconds.")
@pass_app
def exec_cmd(app: App, words: tuple[str, ...], expects: tuple[str, ...], focus: str,
             run_root: str | None, timeout_s: float | None) -> None:
    """Run one command with the same snapshots, checks and records as a memo step.

    \b
    loopkit exec -- pytest tests/test_cli_scaling.py -q
    loopkit exec --expect "2 passed; no skips" -- "pytest -q tests/test_cli_scaling.py | tee log"
    """
    text = ADHOC_MEMO.format(focus=focus, command=adhoc_command(words),
                             expect="; ".join(expects) or "rc=0")
    memo = require_memo(text, "<loopkit exec>")
    shell, manual = plan_steps(memo, None, False, False)
    root = validate_run_root(run_root or f"{app.cfg.paths.reports}/loopkit/exec")
    req = RunRequest(cfg=app.cfg, memo=memo, memo_path=None, run_root=root, shell=shell,
                     manual=manual, now=app.now,
                     timeout_s=timeout_s or app.cfg.budgets.step_timeout_s,
                     selection=selection_record(memo, shell, None, False))
    report_verdict(app, *execute(req, app.console))
