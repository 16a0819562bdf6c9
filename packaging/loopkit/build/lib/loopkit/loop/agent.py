"""Run a role's command: its own process group, a timeout, both pipes drained to one log.

§5.5 weakness 6: the reference read stderr only after stdout's EOF (a full stderr pipe
deadlocked the agent) and had no timeout. Here two threads drain stdout and stderr as they
come; the log keeps the first ``log_max_bytes`` and a tail, and counts what it dropped. On a
timeout the whole group gets SIGTERM, then SIGKILL after a grace period (an agent that
ignores SIGTERM still ends); processes the agent left behind in its group are killed when
it exits, so a background child cannot hold the pipes open forever.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

TAIL_BYTES = 64 * 1024
DRAIN_JOIN_S = 5.0


@dataclass
class AgentOutcome:
    rc: int | None
    status: str  # exited | timeout
    duration_s: float
    log_bytes: int
    dropped_bytes: int


class CappedLog:
    """Thread-safe log writer: head up to ``cap`` bytes, then a rolling tail."""

    def __init__(self, path: Path, cap: int) -> None:
        self._fh = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._cap = cap
        self._written = 0
        self._dropped = 0
        self._tail: deque[bytes] = deque()
        self._tail_len = 0
        self._lock = threading.Lock()

    def write(self, data: bytes) -> None:
        with self._lock:
            room = self._cap - self._written
            if room > 0:
                head = data[:room]
                self._fh.write(head)
                self._written += len(head)
                data = data[room:]
            if data:
                self._tail.append(data)
                self._tail_len += len(data)
                while self._tail_len > TAIL_BYTES and len(self._tail) > 1:
                    self._dropped += len(self._tail[0])
                    self._tail_len -= len(self._tail.popleft())

    def close(self) -> tuple[int, int]:
        with self._lock:
            if self._tail:
                if self._dropped:
                    note = f"\n[loopkit: {self._dropped} bytes of output dropped here]\n"
                    self._fh.write(note.encode())
                for part in self._tail:
                    self._fh.write(part)
                    self._written += len(part)
            self._fh.close()
            return self._written, self._dropped


def _drain(pipe: IO[bytes], log: CappedLog) -> None:
    with contextlib.suppress(OSError, ValueError):
        for chunk in iter(lambda: pipe.read1(65536), b""):
            log.write(chunk)


def kill_group(pgid: int, grace_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the group, wait up to ``grace_s``, then SIGKILL whatever is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is None:
            time.sleep(0.05)
            continue
        if not group_alive(pgid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_agent(command: str, cwd: Path, env: dict[str, str], log_path: Path,
              timeout_s: float, grace_s: float, log_max_bytes: int,
              stdin_path: Path | None = None,
              on_start: Callable[[int], None] | None = None) -> AgentOutcome:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = CappedLog(log_path, log_max_bytes)
    stdin: IO[bytes] | int = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL  # noqa: SIM115
    t0 = time.monotonic()
    try:
        proc = subprocess.Popen(["bash", "--noprofile", "--norc", "-c", command], cwd=cwd,
                                env=env, stdin=stdin, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    finally:
        if not isinstance(stdin, int):
            stdin.close()
    if on_start is not None:
        on_start(proc.pid)
    threads = [threading.Thread(target=_drain, args=(pipe, log), daemon=True)
               for pipe in (proc.stdout, proc.stderr)]
    for thread in threads:
        thread.start()
    status = "exited"
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        status = "timeout"
        kill_group(proc.pid, grace_s, proc)
    except BaseException:
        kill_group(proc.pid, grace_s, proc)
        raise
    finally:
        rc = proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the agent's group
        for thread in threads:
            thread.join(DRAIN_JOIN_S)
        written, dropped = log.close()
    return AgentOutcome(rc if status == "exited" else None, status,
                        time.monotonic() - t0, written, dropped)
