"""``loopkit loop``, ``loopkit turn ROLE`` and ``loopkit turns``."""

from __future__ import annotations

import json

import click

from loopkit.app import App, pass_app
from loopkit.commands.exits import ExitCode
from loopkit.git import Git
from loopkit.loop.driver import Interrupted, LoopRequest, run_loop
from loopkit.loop.journal import load_journal
from loopkit.loop.roles import JOURNAL
from loopkit.loop.verify import turn_rows

LOOP_HELP = """Run the loop: the roles of `[loop] order` take turns, each turn validated,
recorded in the journal and committed.

\b
A turn:
  1. preflight: the loop's branch, a clean tree, the loop lock (a lock left by a
     dead loop is taken over, and its unfinished turn recorded `aborted`);
  2. the role's `command` in its own process group, with its `timeout_s`;
     stdout and stderr go to reports/loop/<STAMP>-tNNNN/<role>.log;
  3. validation: files outside the role's `writes` globs, protected assets (R18),
     an edit of the journal, and the role's `contract` fail the turn; tolerance
     or skip edits in tests (R4) and more than one full-suite run (R10) are flagged;
  4. one commit of exactly the turn's files with its journal record and the
     trailers Loopkit-Turn, Loopkit-Role, Loopkit-Verdict, Loopkit-Run. A failed
     turn commits only its record; its changes go to branch loopkit/aside/turn-NNNN.

\b
Example (loopkit.toml):
  [loop]
  order = ["supervisor", "engineer"]
  [roles.supervisor]
  command = "agent-cli --prompt prompts/supervisor.md"
  timeout_s = 1800
  [roles.engineer]
  command = "bash scripts/engineer.sh"
  timeout_s = 3600
  contract = ["run_and_attempt"]

\b
  loopkit loop --turns 20            # 20 turns, alternating
  loopkit loop --until-idle          # until a whole round changes nothing
  loopkit loop --sync origin --role engineer --turns 10   # this clone: engineer only
  loopkit turns                      # what happened; loopkit check --turns verifies it

Exit status: 0 when the loop ran its turns (failed turns are recorded, not errors); 1
when it stopped (a git error, a rejected push, too many failed turns in a row)."""


def _loop_report(app: App):  # noqa: ANN202 - a small closure
    def report(line: str) -> None:
        app.console.print(line, markup=False, highlight=False)

    return report


def _run(app: App, req: LoopRequest) -> None:
    try:
        run_loop(app.cfg, req, app.now_override, _loop_report(app))
    except (KeyboardInterrupt, Interrupted):
        app.console.print("interrupted: the turn was recorded aborted", markup=False)
        raise SystemExit(ExitCode.INTERRUPTED) from None


@click.command("loop", help=LOOP_HELP)
@click.option("--turns", type=click.IntRange(min=1), help="Run this many turns, then stop.")
@click.option("--until-idle", is_flag=True,
              help="Stop when every role in a row had a turn that changed nothing.")
@click.option("--sync", "remote", metavar="REMOTE",
              help="Pull before and push after every turn (fast-forward or rebase of "
                   "loopkit's own commits, bounded push retries, no merge commits).")
@click.option("--role", "roles", multiple=True, metavar="NAME",
              help="Run only these roles here (with --sync: wait for their turns).")
@pass_app
def loop_cmd(app: App, turns: int | None, until_idle: bool, remote: str | None,
             roles: tuple[str, ...]) -> None:
    if turns is None and not until_idle:
        raise click.UsageError("give --turns N or --until-idle (or both)")
    for name in roles:
        if name not in app.cfg.roles:
            raise click.BadParameter(f"no role {name!r}", param_hint="--role")
    _run(app, LoopRequest(turns=turns, until_idle=until_idle, sync=remote, roles=list(roles)))


@click.command("turn")
@click.argument("role")
@click.option("--sync", "remote", metavar="REMOTE", help="Pull before and push after the turn.")
@click.option("--out-of-order", is_flag=True,
              help="Run ROLE even when the journal says it is another role's turn.")
@pass_app
def turn_cmd(app: App, role: str, remote: str | None, out_of_order: bool) -> None:
    """Run one turn of ROLE (see `loopkit loop --help`)."""
    if role not in app.cfg.roles:
        raise click.BadParameter(f"no role {role!r} (roles: {', '.join(sorted(app.cfg.roles))})",
                                 param_hint="ROLE")
    _run(app, LoopRequest(turns=1, sync=remote, only_role=role, out_of_order=out_of_order))


@click.command("turns")
@click.option("--json", "as_json", is_flag=True, help="The journal as a JSON list.")
@click.option("--last", type=click.IntRange(min=1), help="Only the last N turns.")
@pass_app
def turns_cmd(app: App, as_json: bool, last: int | None) -> None:
    """List the loop's turns: role, verdict, duration, runs, Attempts, files, reason."""
    journal = load_journal(app.root, JOURNAL)
    rows = turn_rows(Git(app.root, app.cfg.loop.git_timeout_s), journal.records)
    rows = rows[-last:] if last else rows
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        secs = f"{row['duration_s']:.1f}s" if row.get("duration_s") is not None else "-"
        sha = (row["commit"] or row["journal_commit"] or "uncommitted")[:10]
        extra = " ".join(filter(None, [",".join(row.get("attempts") or []),
                                       ",".join(row.get("runs") or [])]))
        app.console.print(f"{row['turn']:>4} {row['start']} {row['role']:<11} "
                          f"{row['verdict']:<7} {secs:>8} {len(row.get('files') or []):>3} "
                          f"file(s) {sha} {extra} {row['reason']}".rstrip(),
                          markup=False, highlight=False)
    if not rows:
        app.console.print(f"no turns in {JOURNAL}", markup=False)
