"""One persistent bash process runs every step, so variables and ``cd`` carry over.

Each step is written to ``steps/NN.sh`` and ``source``d with its own stdout/stderr files;
a marker line on bash's stdout reports the exit code. Bash runs in its own session
(process group), which is killed as a whole on timeout or interrupt.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shlex
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

DONE = "__LOOPKIT_DONE__"
VAR = "__LOOPKIT_VAR__"
KILL_GRACE_S = 2.0


@dataclass
class StepOutcome:
    rc: int | None
    status: str  # ok | failed | timeout | aborted
    duration_s: float
    variables: dict[str, str] = field(default_factory=dict)


class ShellSession:
    def __init__(self, cwd: Path, env: dict[str, str], log: Path) -> None:
        self._log = open(log, "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc"], cwd=cwd, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self._log, start_new_session=True, text=True,
            bufsize=1)
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

    def run_step(self, script: Path, out: Path, err: Path, timeout_s: float,
                 report_vars: list[str]) -> StepOutcome:
        t0 = time.monotonic()
        q = shlex.quote
        cmd = (f"source {q(str(script))} > {q(str(out))} 2> {q(str(err))} < /dev/null\n"
               f"__lk_rc=$?\n")
        for name in report_vars:
            cmd += f"printf '{VAR} %s=%s\\n' {name} \"${{{name}}}\"\n"
        cmd += f"printf '\\n{DONE} %d\\n' \"$__lk_rc\"\n"
        try:
            self._send(cmd)
        except (BrokenPipeError, OSError):
            return StepOutcome(None, "aborted", 0.0)
        return self._wait(t0, timeout_s)

    def _wait(self, t0: float, timeout_s: float) -> StepOutcome:
        variables: dict[str, str] = {}
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
            if line.startswith(VAR + " "):
                name, _, value = line[len(VAR) + 1:].partition("=")
                variables[name] = value
            elif line.startswith(DONE + " "):
                rc = int(line.split()[1])
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
        self._log.close()
