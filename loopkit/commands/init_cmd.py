"""``loopkit init``: start the loop in a new project."""

from __future__ import annotations

import click

from loopkit.app import App, pass_app
from loopkit.git import Git
from loopkit.ops.init import init_project


@click.command("init")
@click.option("--item", default="TASK-001", show_default=True, help="The first ledger item.")
@click.option("--title", default="First task", show_default=True, help="Its title.")
@click.option("--slug", default="first-task", show_default=True, help="Its plan's folder.")
@pass_app
def init_cmd(app: App, item: str, title: str, slug: str) -> None:
    """Create the memo, ledger, plan, memory file and loopkit.toml (existing files are kept).

    \b
    loopkit init --item TOY-001 --title "Toy parity" --slug toy-parity
    loopkit memo lint && loopkit run
    """
    branch = Git(app.root).output("branch", "--show-current") or "main"
    for rel, written in init_project(app.cfg, item, title, slug, branch,
                                     app.now.strftime("%Y-%m-%d")):
        app.console.print(f"{'created' if written else 'kept   '} {rel}", markup=False,
                          highlight=False)
