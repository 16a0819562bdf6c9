"""Processes a step left behind: found and killed when the run's shell ends.

Killing bash's process group misses a process that left it (``setsid``, ``nohup … &`` in a
new session, a double fork). Two nets catch those: every step process carries a random
``LOOPKIT_STRAY_TOKEN`` in its environment, and while the run lasts loopkit is a child
subreaper (Linux ``PR_SET_CHILD_SUBREAPER``), so an orphan that also cleared its environment
becomes loopkit's child instead of init's. Both are killed before the run is finalised, so
nothing writes into the run folder after ``sha256.txt``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import secrets
import signal
import sys
from pathlib import Path

TOKEN_VAR = "LOOPKIT_STRAY_TOKEN"
PR_SET_CHILD_SUBREAPER = 36
SWEEPS = 20
PROC = Path("/proc")


def _prctl_subreaper(on: bool) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for stat in PROC.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def _carriers(marker: bytes) -> set[int]:
    found: set[int] = set()
    for environ in PROC.glob("[0-9]*/environ"):
        with contextlib.suppress(OSError, ValueError):
            if marker in environ.read_bytes().split(b"\0"):
                found.add(int(environ.parent.name))
    return found


class StrayGuard:
    """Marks the steps' environment and later kills every process that carries the mark or
    was orphaned onto loopkit during the run."""

    def __init__(self, env: dict[str, str]) -> None:
        token = secrets.token_hex(16)
        self.env = {**env, TOKEN_VAR: token}
        self._marker = f"{TOKEN_VAR}={token}".encode()
        self._own = os.getpid()
        self._before = _children_of(self._own) if PROC.is_dir() else set()
        self._reaper = _prctl_subreaper(True)

    def strays(self) -> set[int]:
        if not PROC.is_dir():
            return set()
        found = _carriers(self._marker)
        if self._reaper:
            found |= _children_of(self._own) - self._before
        return found - {self._own}

    def kill_all(self) -> int:
        """Kill the strays until none is left; returns how many were killed."""
        killed: set[int] = set()
        for _ in range(SWEEPS):
            found = self.strays() - killed
            if not found:
                break
            for pid in found:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            killed |= found
            self._reap(found)
        if self._reaper:
            _prctl_subreaper(False)
            self._reaper = False
        return len(killed)

    def _reap(self, killed: set[int]) -> None:
        """Collect the exit status of killed processes that became loopkit's children."""
        for pid in (_children_of(self._own) - self._before) & killed:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, 0)
