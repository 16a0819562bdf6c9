"""One turn: preflight, the role's command, validation, the journal record, one commit.

The order of the durable steps is what makes a kill -9 at any moment recoverable
(:mod:`loopkit.loop.recover`): the lease is written before the agent starts; a failed
turn's changes are put on a side branch before its record is appended; the record is
appended before the commit that carries it; the lease is removed last.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopkit.clock import iso, stamp, utc_now
from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import read_text
from loopkit.git import Git
from loopkit.loop.agent import AgentOutcome, run_agent
from loopkit.loop.commits import clean_note, commit_turn, save_aside
from loopkit.loop.contracts import TurnFacts, check_contract
from loopkit.loop.journal import Journal, append_record, journal_text, load_journal
from loopkit.loop.lease import TOKEN_VAR, clear_lease, new_lease, write_lease
from loopkit.loop.roles import JOURNAL, RoleSpec
from loopkit.loop.validate import glob_allows, validate_turn
from loopkit.scrub import PathScrubber, Redactor

NOTE_REL = ".loopkit/message.txt"


@dataclass
class LoopContext:
    cfg: Config
    git: Git
    branch: str
    now_override: str | None = None

    @property
    def root(self) -> Path:
        return self.cfg.root

    def now(self) -> str:
        return iso(utc_now(self.now_override))

    def journal(self) -> Journal:
        return load_journal(self.root, JOURNAL)


def make_context(cfg: Config, now_override: str | None) -> LoopContext:
    git = Git(cfg.root, cfg.loop.git_timeout_s)
    if git.head() is None:
        raise LoopkitError(f"{cfg.root}: not a git repository with a commit")
    branch = cfg.loop.branch or git.branch()
    if branch is None:
        raise LoopkitError("HEAD is detached: check out the loop's branch first")
    return LoopContext(cfg, git, branch, now_override)


def next_role(records: list[dict[str, Any]], order: list[str]) -> str:
    """The role after the last turn that was not aborted (an aborted turn is retried)."""
    for rec in reversed(records):
        if rec["verdict"] != "aborted" and rec["role"] in order:
            return order[(order.index(rec["role"]) + 1) % len(order)]
    return order[0]


def changed_files(ctx: LoopContext, skip: set[str]) -> list[str]:
    files: set[str] = set()
    for entry in ctx.git.status():
        files.update(p for p in (entry.path, entry.orig) if p)
    return sorted(f for f in files if f not in skip
                  and not glob_allows(f, ctx.cfg.loop.allow_dirty))


def journal_edited(ctx: LoopContext, records: list[dict[str, Any]]) -> bool:
    path = ctx.root / JOURNAL
    on_disk = read_text(path) if path.is_file() else None
    return on_disk != (journal_text(records) if records or on_disk is not None else None)


def preflight(ctx: LoopContext) -> None:
    branch = ctx.git.branch()
    if branch != ctx.branch:
        raise LoopkitError(f"on branch {branch!r}, the loop runs on {ctx.branch!r}")
    dirty = changed_files(ctx, set())
    if dirty:
        raise LoopkitError(f"the tree is not clean ({len(dirty)} path(s): "
                           f"{', '.join(dirty[:5])}); commit, stash or remove them first")


def agent_env(ctx: LoopContext, role: RoleSpec, turn: int, turn_dir: str,
              token: str) -> dict[str, str]:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env.update({"PATH": bindir + os.pathsep + env.get("PATH", ""), TOKEN_VAR: token,
                "LOOPKIT_TURN": str(turn), "LOOPKIT_ROLE": role.name,
                "LOOPKIT_TURN_DIR": turn_dir, "LOOPKIT_ROOT": str(ctx.root),
                "LOOPKIT_MESSAGE_FILE": str(ctx.root / NOTE_REL)})
    return env


def reconcile_head(ctx: LoopContext, base: str, flags: list[str]) -> None:
    """An agent that committed, reset or switched branch: its work becomes uncommitted
    changes on top of the turn's base, judged and committed (or kept aside) like any other."""
    git = ctx.git
    if git.branch() != ctx.branch:
        flags.append(f"the agent left branch {ctx.branch} (HEAD was "
                     f"{git.branch() or 'detached'}); back on it")
        git.run("symbolic-ref", "HEAD", f"refs/heads/{ctx.branch}")
    head = git.head()
    if head != base:
        count = git.run("rev-list", "--count", f"{base}..{head}", check=False).stdout.strip()
        flags.append(f"the agent moved HEAD ({count or '?'} commit(s) of its own); "
                     "they were undone, their changes judged as the turn's")
        git.run("reset", "-q", "--soft", base)
    git.run("reset", "-q")


def run_turn(ctx: LoopContext, role: RoleSpec) -> dict[str, Any]:
    preflight(ctx)
    journal = ctx.journal()
    turn = journal.last_turn + 1
    start = ctx.now()
    turn_dir = f"{ctx.cfg.paths.reports}/loop/{stamp(utc_now(ctx.now_override))}-t{turn:04d}"
    log = f"{turn_dir}/{role.name}.log"
    token = uuid.uuid4().hex
    base = ctx.git.head() or ""
    lease = new_lease(turn, role.name, token, base, start, log)
    write_lease(ctx.root, lease)
    with contextlib.suppress(FileNotFoundError):
        (ctx.root / NOTE_REL).unlink()

    def started(pid: int) -> None:
        lease.agent_pid = pid
        write_lease(ctx.root, lease)

    outcome = run_agent(role.command.replace("{prompt}", role.prompt or ""), ctx.root,
                        agent_env(ctx, role, turn, turn_dir, token), ctx.root / log,
                        role.timeout_s, ctx.cfg.loop.kill_grace_s, ctx.cfg.loop.log_max_bytes,
                        ctx.root / role.prompt if role.prompt_on_stdin() else None,
                        on_start=started)
    _scrub_log(ctx, ctx.root / log)
    record = finish_turn(ctx, role, journal, turn, start, base, log, outcome)
    clear_lease(ctx.root)
    return record


def _scrub_log(ctx: LoopContext, path: Path) -> None:
    if path.is_file():
        Redactor(dict(os.environ), ctx.cfg.env_snapshot.redact).file(path)
        PathScrubber(ctx.root).file(path)


def judge(ctx: LoopContext, role: RoleSpec, base: str, files: list[str],
          outcome: AgentOutcome, flags: list[str]) -> tuple[str, str, dict[str, Any]]:
    """(verdict, reason, extra fields of the record)."""
    check = validate_turn(ctx.git, base, files, role, ctx.cfg.loop, ctx.root)
    flags += check.flags
    extra: dict[str, Any] = {"full_suite_runs": check.full_suite_runs}
    if outcome.status == "timeout":
        return "failed", (f"timed out after {role.timeout_s:g} s; its process group was "
                          "killed"), extra
    if outcome.rc != 0:
        return "failed", f"the command exited with status {outcome.rc}", extra
    if check.errors:
        return "failed", "; ".join(check.errors), extra
    if not files:
        return "ok", "idle: the turn changed nothing", extra
    facts = TurnFacts(ctx.cfg, ctx.git, base, files)
    extra["runs"] = facts.new_run_ids()
    extra["attempts"] = [f"{item}#{att.n}" for item, att in facts.new_attempts()]
    problems = check_contract(role.contract, facts)
    if problems:
        return "failed", "contract not met: " + "; ".join(problems), extra
    return "ok", "contract met" if role.contract else "no contract", extra


def finish_turn(ctx: LoopContext, role: RoleSpec, journal: Journal, turn: int, start: str,
                base: str, log: str, outcome: AgentOutcome) -> dict[str, Any]:
    flags: list[str] = []
    reconcile_head(ctx, base, flags)
    files = changed_files(ctx, {log, NOTE_REL})
    if JOURNAL not in files and journal_edited(ctx, journal.records):
        files = sorted([*files, JOURNAL])  # even where an ignore rule hides it from status
    verdict, reason, extra = judge(ctx, role, base, files, outcome, flags)
    note_path = ctx.root / NOTE_REL
    note, note_flags = clean_note(read_text(note_path)) if note_path.is_file() else ("", [])
    flags += note_flags
    record: dict[str, Any] = {
        "turn": turn, "role": role.name, "start": start, "end": ctx.now(),
        "duration_s": round(outcome.duration_s, 3), "command": role.command,
        "exit": outcome.rc, "status": outcome.status, "verdict": verdict, "reason": reason,
        "files": files, "aside": None, "runs": extra.get("runs", []),
        "attempts": extra.get("attempts", []),
        "flags": flags, "full_suite_runs": extra["full_suite_runs"], "log": log,
        "log_bytes": outcome.log_bytes, "log_dropped_bytes": outcome.dropped_bytes}
    if verdict != "ok" and files:
        record["aside"] = save_aside(ctx.git, turn, files, reason)
    append_record(journal, record)
    commit_turn(ctx.git, record, note)
    with contextlib.suppress(FileNotFoundError):
        note_path.unlink()
    return record
