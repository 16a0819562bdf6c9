"""The loop lock and the lease of the turn in progress.

The lock (``.loopkit/locks/loop.lock``, an OS file lock) is released by the kernel when its
holder dies, so a crashed loop never blocks the next one (§5.5 weakness 3: a lease that was
written but never read). The lease (``.loopkit/lease.json``, untracked) says which turn is
under way, from which commit, and how to find the agent: its process group and a token in
its environment. A later loop that takes the lock and finds a lease knows that turn is
unfinished and recovers it.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from loopkit.errors import LoopkitError
from loopkit.fsio import atomic_write, read_text

LOCK_REL = ".loopkit/locks/loop.lock"
LEASE_REL = ".loopkit/lease.json"
TOKEN_VAR = "LOOPKIT_TURN_TOKEN"


@dataclass
class Lease:
    turn: int
    role: str
    token: str
    base: str
    start: str
    log: str
    pid: int
    host: str
    agent_pid: int | None = None


@contextlib.contextmanager
def loop_lock(root: Path) -> Iterator[None]:
    path = root / LOCK_REL
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout as exc:
        lease = read_lease(root)
        who = f" (turn {lease.turn}, {lease.role}, pid {lease.pid})" if lease else ""
        raise LoopkitError(f"another loopkit loop is running in this clone{who}") from exc
    try:
        yield
    finally:
        lock.release()


def read_lease(root: Path) -> Lease | None:
    path = root / LEASE_REL
    if not path.is_file():
        return None
    try:
        return Lease(**json.loads(read_text(path)))
    except (ValueError, TypeError) as exc:
        raise LoopkitError(f"{LEASE_REL}: unreadable lease ({exc}); the turn it names is "
                           "unknown, so loopkit will not guess: inspect and delete it") from exc


def write_lease(root: Path, lease: Lease) -> None:
    atomic_write(root / LEASE_REL, json.dumps(asdict(lease), sort_keys=True) + "\n")


def clear_lease(root: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        (root / LEASE_REL).unlink()


def new_lease(turn: int, role: str, token: str, base: str, start: str, log: str) -> Lease:
    return Lease(turn, role, token, base, start, log, os.getpid(), socket.gethostname())


def processes_with_token(token: str) -> list[int]:
    """Process ids whose environment carries the turn's token (Linux ``/proc``)."""
    needle = f"{TOKEN_VAR}={token}".encode()
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found
