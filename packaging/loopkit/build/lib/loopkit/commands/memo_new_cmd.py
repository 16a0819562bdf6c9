"""``loopkit memo new``: the supervisor's draft of the next memo."""

from __future__ import annotations

import click

from loopkit.app import App, pass_app
from loopkit.errors import LoopkitError
from loopkit.fsio import atomic_write, locked, read_text
from loopkit.git import Git
from loopkit.ops.memo_draft import draft_memo
from loopkit.parsers.memo import require_memo


@click.command("new")
@click.option("--item", "item_id", help="Ledger item to focus on (default: the current "
              "memo's, else the first item in progress).")
@click.option("--task", "task_id", help="Plan task (default: the next open task of the plan).")
@click.option("--write", is_flag=True, help="Replace the memo with the draft (atomic).")
@pass_app
def memo_new(app: App, item_id: str | None, task_id: str | None, write: bool) -> None:
    """Draft the next memo from the ledger and plan state.

    \b
    The draft holds the Focus item and its plan's next open task, the plan row's mapped
    tests and commands (or the current memo's How-To Map when the focus is unchanged), the
    failing checks of the item's last run, the next Attempt number and the branch.
    Then edit it and run `loopkit memo lint`.
    """
    cfg = app.cfg
    path = cfg.path(cfg.paths.memo)
    try:
        current = require_memo(read_text(path), cfg.paths.memo) if path.is_file() else None
    except LoopkitError:
        current = None
    branch = Git(cfg.root).branch() or "HEAD"
    text = draft_memo(cfg, branch, item_id, task_id, current)
    if write:
        with locked(path):
            atomic_write(path, text)
        app.console.print(f"wrote {cfg.paths.memo} ({len(text.splitlines())} lines); "
                          "now edit it and run loopkit memo lint", markup=False)
    else:
        click.echo(text, nl=False)
