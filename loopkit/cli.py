"""The ``loopkit`` console script."""

from __future__ import annotations

import contextlib
import sys

import click
from rich.console import Console

from loopkit.app import make_app
from loopkit.commands.docs_cmds import archive_cmd, attempt, item, ledger, memory, plan
from loopkit.commands.exec_cmd import exec_cmd
from loopkit.commands.exits import exit_code_for_error
from loopkit.commands.gate_cmds import check_cmd, commit_cmd, status_cmd
from loopkit.commands.history_cmd import history_cmd
from loopkit.commands.init_cmd import init_cmd
from loopkit.commands.loop_cmds import loop_cmd, turn_cmd, turns_cmd
from loopkit.commands.memo_cmds import memo
from loopkit.commands.memo_new_cmd import memo_new
from loopkit.commands.run_cmd import run_cmd
from loopkit.errors import LoopkitError, RefusedError


class LoopkitGroup(click.Group):
    """Turns every loopkit error into one clear line on stderr and its family's exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except LoopkitError as exc:
            err = Console(stderr=True, soft_wrap=True)
            if isinstance(exc, RefusedError):  # a refusal says "refused: ..." itself
                err.print(str(exc), style="red", markup=False)
            else:
                err.print(f"error: {exc}", markup=False)
            ctx.exit(exit_code_for_error(exc))
        return None


@click.group(cls=LoopkitGroup)
@click.option("--root", envvar="LOOPKIT_ROOT", help="Repository root (default: git toplevel).")
@click.option("--now", envvar="LOOPKIT_NOW", help="Override the clock (ISO 8601, UTC).")
@click.pass_context
def cli(ctx: click.Context, root: str | None, now: str | None) -> None:
    """Parse, execute, record and gate the galph/ralph parity loop."""
    ctx.obj = make_app(root, now)


for command in (memo, run_cmd, exec_cmd, attempt, item, plan, memory, ledger, archive_cmd,
                status_cmd, check_cmd, commit_cmd, loop_cmd, turn_cmd, turns_cmd, init_cmd,
                history_cmd):
    cli.add_command(command)
memo.add_command(memo_new)


def main() -> None:
    for stream in (sys.stdout, sys.stderr):  # document bytes that are not UTF-8 print, too
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    cli(prog_name="loopkit")


if __name__ == "__main__":
    main()
