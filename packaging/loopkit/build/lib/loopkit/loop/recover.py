"""Recovery of a turn whose loop died (kill -9, power loss, Ctrl-C) before it finished.

Called with the loop lock held, so the lease's holder is gone. Three cases, by how far the
turn got: its record is committed (only the lease is left: remove it); its record is
appended but not committed (finish the commit); no record (kill what is left of the agent,
keep its partial changes on a side branch, record the turn ``aborted`` and commit that).
Nothing is reset to a default and nothing is dropped: every case is reported.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path
from typing import Any

from loopkit.errors import LoopkitError
from loopkit.git import Git
from loopkit.loop.agent import group_alive, kill_group
from loopkit.loop.commits import commit_turn, save_aside
from loopkit.loop.journal import append_record, parse_journal
from loopkit.loop.lease import LEASE_REL, Lease, clear_lease, processes_with_token, read_lease
from loopkit.loop.roles import JOURNAL
from loopkit.loop.turn import NOTE_REL, LoopContext, changed_files, journal_edited

STALE_GIT_LOCKS = ("index.lock", "HEAD.lock")


def stop_agent(lease: Lease, grace_s: float) -> list[int]:
    """Kill the process groups of the dead turn's agent (found by group id and token)."""
    pids = set(processes_with_token(lease.token))
    if lease.agent_pid and not Path("/proc/self").exists():  # no /proc: trust the group id
        pids.add(lease.agent_pid)
    killed = []
    for pid in sorted(pids):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            pgid = os.getpgid(pid)
            if pgid == os.getpgrp():
                os.kill(pid, signal.SIGKILL)
            elif group_alive(pgid):
                kill_group(pgid, grace_s)
            killed.append(pid)
    return killed


def remove_stale_git_locks(git: Git, branch: str) -> list[str]:
    """Lock files a killed git command left behind (their holder is gone with the loop)."""
    git_dir = git.git_dir()
    removed = []
    for rel in (*STALE_GIT_LOCKS, f"refs/heads/{branch}.lock"):
        path = git_dir / rel
        if path.is_file():
            path.unlink()
            removed.append(rel)
    return removed


def committed_records(git: Git) -> list[dict[str, Any]]:
    text = git.show("HEAD", JOURNAL)
    return parse_journal(text, f"HEAD:{JOURNAL}") if text else []


def recover(ctx: LoopContext) -> list[str]:
    """Finish or abort the turn named by a leftover lease; returns what was done."""
    lease = read_lease(ctx.root)
    if lease is None:
        return []
    notes = [f"turn {lease.turn} ({lease.role}) was left unfinished by pid {lease.pid} "
             f"on {lease.host}, started {lease.start}"]
    killed = stop_agent(lease, ctx.cfg.loop.kill_grace_s)
    if killed:
        notes.append(f"stopped the agent still running for it (pid {', '.join(map(str, killed))})")
    removed = remove_stale_git_locks(ctx.git, ctx.branch)
    if removed:
        notes.append(f"removed stale git lock(s): {', '.join(removed)}")
    committed = committed_records(ctx.git)
    record = _uncommitted_record(ctx, committed, lease.turn)
    if len(committed) >= lease.turn:
        notes.append(f"its record and commit were already in place; removed {LEASE_REL}")
    elif record is not None:
        commit_turn(ctx.git, record, "")
        notes.append(f"its record was written but not committed; committed it now "
                     f"(verdict {record.get('verdict')})")
    else:
        notes += abort_turn(ctx, lease)
    clear_lease(ctx.root)
    return notes


def _uncommitted_record(ctx: LoopContext, committed: list[dict[str, Any]],
                        turn: int) -> dict[str, Any] | None:
    """The turn's record when the working journal is the committed one plus that record."""
    try:
        journal = ctx.journal()
    except LoopkitError:
        return None  # not loopkit's writing (loopkit writes atomically): abort_turn keeps it
    if journal.records[:len(committed)] != committed or journal.last_turn != turn:
        return None
    return journal.record(turn)


def abort_turn(ctx: LoopContext, lease: Lease) -> list[str]:
    git = ctx.git
    flags: list[str] = []
    head = git.head() or ""
    if head != lease.base:  # commits since the turn began are left alone: never a reset
        count = git.run("rev-list", "--count", f"{lease.base}..{head}", check=False)
        flags.append(f"HEAD moved from {lease.base[:10]} to {head[:10]} "
                     f"({count.stdout.strip() or '?'} commit(s) not made by loopkit); left as is")
    git.run("reset", "-q")
    files = changed_files(ctx, {lease.log, NOTE_REL})
    if JOURNAL not in files and journal_edited(ctx, committed_records(git)):
        files = sorted([*files, JOURNAL])
    reason = (f"loopkit stopped during the turn (pid {lease.pid} on {lease.host} gone); "
              "recorded by the next loop")
    aside = save_aside(git, lease.turn, files, reason) if files else None
    journal = ctx.journal()  # the committed journal again (a stray edit went aside)
    with contextlib.suppress(FileNotFoundError):
        (ctx.root / NOTE_REL).unlink()
    log_present = (ctx.root / lease.log).is_file()
    record = {"turn": lease.turn, "role": lease.role, "start": lease.start, "end": ctx.now(),
              "duration_s": None, "command": ctx.cfg.roles[lease.role].command
              if lease.role in ctx.cfg.roles else None, "exit": None, "status": "aborted",
              "verdict": "aborted", "reason": reason, "files": files, "aside": aside,
              "runs": [], "attempts": [], "flags": flags, "full_suite_runs": 0,
              "log": lease.log if log_present else None}
    append_record(journal, record)
    commit_turn(git, record, "")
    notes = [f"recorded turn {lease.turn} as aborted"]
    if aside:
        notes.append(f"its partial changes ({len(files)} path(s)) are on branch {aside}")
    return notes
