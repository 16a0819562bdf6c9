"""One persistent bash process runs every step, so variables and ``cd`` carry over.

Each step is ``source``d from a private folder with its stdout and stderr sent to two FIFOs;
loopkit reads them, redacts each line and writes ``steps/NN.out``/``NN.err``, so no raw
secret ever reaches the run folder, even when the run is killed mid-step. A marker line on
bash's stdout reports the exit code; it carries a random token made for that step alone and
sent on the same input line as the ``source``, so a step can neither read it nor forge its
result. Bash runs in its own session, killed as a whole on timeout or interrupt; processes a
step detached from it (``setsid``, double forks) are found and killed when the session ends
(see :mod:`loopkit.strays`).
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import select
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from loopkit.scrub import LineFilter
from loopkit.strays import StrayGuard

KILL_GRACE_S = 2.0
READ_BYTES = 64 * 1024
Transform = Callable[[str], str]


@dataclass
class StepOutcome:
    rc: int | None
    status: str  # ok | failed | timeout | aborted
    duration_s: float
    variables: dict[str, str] = field(default_factory=dict)


def _open_new(path: Path) -> int:
    """A fresh regular file at ``path``; whatever a step left there (a link) is removed."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)


class _Pump(threading.Thread):
    """Copies a step's FIFOs into its output files through the redacting filter."""

    def __init__(self, pairs: list[tuple[int, LineFilter]]) -> None:
        super().__init__(daemon=True)
        self.pairs = dict(pairs)
        self._wake_r, self._wake_w = os.pipe()

    def finish(self) -> None:
        """Drain what the step wrote and stop (wakes the thread at once)."""
        os.write(self._wake_w, b"x")
        self.join()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def run(self) -> None:
        while True:
            ready, _, _ = select.select([*self.pairs, self._wake_r], [], [])
            for fd in ready:
                if fd != self._wake_r:
                    self._read(fd)
            if self._wake_r in ready:
                break
        while any(self._read(fd) for fd in list(self.pairs)):  # drain what is left
            pass
        for filt in self.pairs.values():
            filt.close()

    def _read(self, fd: int) -> bool:
        try:
            data = os.read(fd, READ_BYTES)
        except BlockingIOError:
            return False
        if data:
            self.pairs[fd].feed(data)
        return bool(data)


class ShellSession:
    def __init__(self, cwd: Path, env: dict[str, str], log: Path, transform: Transform) -> None:
        self._private = Path(tempfile.mkdtemp(prefix="loopkit-"))
        self._transform = transform
        self._guard = StrayGuard(env)
        self._log = os.fdopen(_open_new(log), "wb")
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=cwd, env=self._guard.env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            start_new_session=True, text=True, bufsize=1, errors="replace")
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self._send("set -o pipefail\n")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text)
        self.proc.stdin.flush()

    def run_step(self, i: int, cmd: str, out: Path, err: Path, timeout_s: float,
                 report_vars: list[str]) -> StepOutcome:
        """Run one step; ``out``/``err`` receive its redacted output."""
        t0 = time.monotonic()
        script = self._private / f"{i:02d}.sh"
        script.write_text(cmd + "\n", encoding="utf-8", errors="surrogateescape")
        fifos = [self._private / f"{i:02d}.{k}" for k in ("out", "err")]
        pairs = []
        for fifo, dest in zip(fifos, (out, err), strict=True):
            os.mkfifo(fifo, 0o600)
            fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # never blocks, never sees EOF
            pairs.append((fd, LineFilter(os.fdopen(_open_new(dest), "wb"), self._transform)))
        pump = _Pump(pairs)
        pump.start()
        token = secrets.token_hex(16)
        q = shlex.quote
        line = (f"source {q(str(script))} > {q(str(fifos[0]))} 2> {q(str(fifos[1]))} "
                f"< /dev/null; __lk_rc=$?;")
        for name in report_vars:
            line += f" printf '\\n{token} VAR %s=%s\\n' {name} \"${{{name}}}\";"
        line += f" printf '\\n{token} DONE %d\\n' \"$__lk_rc\"\n"
        try:
            try:
                self._send(line)
            except (BrokenPipeError, OSError):
                return StepOutcome(None, "aborted", 0.0)
            return self._wait(t0, timeout_s, token)
        finally:
            pump.finish()
            for fd, filt in pairs:
                os.close(fd)
                filt.out.close()
            for fifo in fifos:
                fifo.unlink()
            script.unlink()

    def _wait(self, t0: float, timeout_s: float, token: str) -> StepOutcome:
        variables: dict[str, str] = {}
        var_mark, done_mark = f"{token} VAR ", f"{token} DONE "
        while True:
            left = timeout_s - (time.monotonic() - t0)
            if left <= 0:
                self.kill()
                return StepOutcome(None, "timeout", time.monotonic() - t0, variables)
            try:
                line = self._lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if line is None:  # bash exited (e.g. `exit` in a step)
                rc = self.proc.wait()
                return StepOutcome(rc, "aborted", time.monotonic() - t0, variables)
            if line.startswith(var_mark):
                name, _, value = line[len(var_mark):].partition("=")
                variables[name] = value
            elif line.startswith(done_mark):
                rc = int(line[len(done_mark):].split()[0])
                status = "ok" if rc == 0 else "failed"
                return StepOutcome(rc, status, time.monotonic() - t0, variables)

    def kill(self) -> None:
        """Terminate bash and every process it started (its whole process group)."""
        if self.proc.poll() is not None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=KILL_GRACE_S)
                break
            except subprocess.TimeoutExpired:
                continue
        self._killpg_leftovers()

    def _killpg_leftovers(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(BrokenPipeError, OSError):
                self._send("exit 0\n")
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        self._killpg_leftovers()
        self._guard.kill_all()
        self._log.close()
        shutil.rmtree(self._private, ignore_errors=True)
