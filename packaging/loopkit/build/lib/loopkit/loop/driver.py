"""The loop: recover, (pull), run the next role's turn, (push), repeat.

Whose turn it is comes from the journal alone. With ``--sync REMOTE`` each clone may run
only some roles (``--role``); a clone waits, polling the remote, until the journal says it is
one of its roles' turn.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.loop.contracts import CONTRACTS
from loopkit.loop.lease import loop_lock
from loopkit.loop.recover import recover
from loopkit.loop.sync import Sync
from loopkit.loop.turn import LoopContext, make_context, next_role, run_turn

Report = Callable[[str], None]


@dataclass
class LoopRequest:
    turns: int | None = None
    until_idle: bool = False
    sync: str | None = None
    roles: list[str] = field(default_factory=list)  # empty: every role of the order
    only_role: str | None = None  # `loopkit turn NAME`
    out_of_order: bool = False


class Interrupted(LoopkitError):
    """SIGTERM or Ctrl-C: the turn is recorded aborted before loopkit exits."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(f"stopped by signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def check_config(cfg: Config) -> None:
    for role in cfg.roles.values():
        unknown = [c for c in role.contract if c not in CONTRACTS]
        if unknown:
            raise LoopkitError(f"[roles.{role.name}] contract: unknown check {unknown[0]!r} "
                               f"(known: {', '.join(sorted(CONTRACTS))})")
    for name in cfg.loop.order:
        if not cfg.roles[name].command:
            raise LoopkitError(f"[roles.{name}] has no command: set it in loopkit.toml")


def run_loop(cfg: Config, req: LoopRequest, now_override: str | None,
             report: Report) -> list[dict[str, Any]]:
    check_config(cfg)
    ctx = make_context(cfg, now_override)
    sync = Sync(ctx.git, req.sync, ctx.branch, cfg.loop.push_retries) if req.sync else None
    records: list[dict[str, Any]] = []
    with loop_lock(cfg.root), sigterm_as_interrupt():
        for note in recover(ctx):
            report(f"recovered: {note}")
        if sync is not None and sync.pending():
            _push(sync, report)
        try:
            _turns(ctx, req, sync, report, records)
        except (KeyboardInterrupt, Interrupted):
            for note in recover(ctx):
                report(f"interrupted: {note}")
            if sync is not None:
                _push(sync, report)
            raise
    return records


def _turns(ctx: LoopContext, req: LoopRequest, sync: Sync | None, report: Report,
           records: list[dict[str, Any]]) -> None:
    order = ctx.cfg.loop.order
    idle_streak = 0
    while req.turns is None or len(records) < req.turns:
        if sync is not None:
            report(f"sync: {sync.pull()}")
        role = _wait_for_role(ctx, req, sync, report)
        record = run_turn(ctx, ctx.cfg.roles[role])
        records.append(record)
        report(f"turn {record['turn']} {record['role']}: {record['verdict']} "
               f"({record['reason']})")
        if sync is not None:
            _push(sync, report)
        if req.only_role:
            return
        idle_streak = idle_streak + 1 if record["reason"].startswith("idle") else 0
        if req.until_idle and idle_streak >= len(order):
            report(f"idle: {idle_streak} turns in a row changed nothing")
            return
        _stop_on_failures(ctx, report)


def _stop_on_failures(ctx: LoopContext, report: Report) -> None:
    limit = ctx.cfg.loop.max_consecutive_failures
    streak = 0
    for rec in reversed(ctx.journal().records):
        if rec["verdict"] != "failed":
            break
        streak += 1
    if limit and streak >= limit:
        raise LoopkitError(f"{streak} failed turns in a row (limit {limit}); the loop stops "
                           "here: see `loopkit turns`")


def _wait_for_role(ctx: LoopContext, req: LoopRequest, sync: Sync | None,
                   report: Report) -> str:
    allowed = [req.only_role] if req.only_role else (req.roles or ctx.cfg.loop.order)
    waited, deadline = False, time.monotonic() + ctx.cfg.loop.max_wait_s
    while True:
        role = next_role(ctx.journal().records, ctx.cfg.loop.order)
        if role in allowed or (req.only_role and req.out_of_order):
            return req.only_role or role
        if sync is None:
            raise LoopkitError(f"it is {role}'s turn (from {ctx.journal().rel}), not "
                               f"{' or '.join(allowed)}'s; --out-of-order runs it anyway")
        if time.monotonic() > deadline:
            raise LoopkitError(f"waited {ctx.cfg.loop.max_wait_s:g} s for "
                               f"{' or '.join(allowed)}'s turn; it is still {role}'s")
        if not waited:
            report(f"waiting for {' or '.join(allowed)}'s turn (now {role}'s)")
            waited = True
        time.sleep(ctx.cfg.loop.poll_s)
        sync.pull()


def _push(sync: Sync, report: Report) -> None:
    retries, notes = sync.push()
    for note in notes:
        report(f"sync: {note}")
    if retries:
        report(f"sync: pushed after {retries} retry(ies)")
