"""The loop's state in words, derived from the journal and the lease (``loopkit status``)."""

from __future__ import annotations

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import pid_alive
from loopkit.loop.journal import load_journal
from loopkit.loop.lease import read_lease
from loopkit.loop.roles import JOURNAL
from loopkit.loop.turn import next_role


def loop_state_lines(cfg: Config) -> list[str]:
    try:
        journal = load_journal(cfg.root, JOURNAL)
        lease = read_lease(cfg.root)
    except LoopkitError as exc:
        return [f"Loop: {exc}"]
    records = journal.records
    if not records and lease is None:
        return [f"Loop: no turns yet (next: {cfg.loop.order[0]})"]
    counts = {v: sum(r["verdict"] == v for r in records) for v in ("ok", "failed", "aborted")}
    lines = [f"Loop: {len(records)} turn(s) ({counts['ok']} ok, {counts['failed']} failed, "
             f"{counts['aborted']} aborted); next: {next_role(records, cfg.loop.order)}"]
    if records:
        last = records[-1]
        lines.append(f"  last: turn {last['turn']} {last['role']} {last['verdict']} at "
                     f"{last['end']}: {last['reason']}")
    if lease is not None:
        state = "running" if pid_alive(lease.pid) else "holder gone: the next loop recovers it"
        lines.append(f"  turn {lease.turn} ({lease.role}) under way since {lease.start}, pid "
                     f"{lease.pid} on {lease.host} ({state})")
    return lines
