"""The console commands' one mapping from errors to a stderr line and an exit status.

``nanobragg``, ``nanobragg-series`` and ``nanobragg-refine`` run their work through
:meth:`Console.run`: every :class:`~nanobragg.errors.NanoBraggError` (the package's one base
error) and every OSError becomes one line ``PROG: error: ...`` and status 2, Ctrl-C one line and
130, SIGTERM (where the command asks for it) one line and 143. Anything else is a bug and keeps
its traceback. ``nb-compare`` has its own statuses (3, 4, 5 for the comparison's verdicts) in
:mod:`nanobragg.compare.core`.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from nanobragg.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    NanoBraggError,
    Terminated,
)


def raise_terminated(signum, frame) -> None:
    """The SIGTERM handler: unwind like KeyboardInterrupt does for SIGINT."""
    raise Terminated(signum)


def _is_allocation_failure(exc: RuntimeError) -> bool:
    """torch reports a failed allocation as a RuntimeError, not a MemoryError."""
    return "allocate" in str(exc) or "out of memory" in str(exc)


@dataclass(frozen=True)
class Console:
    """How one command reports the ways a run can end other than by returning a status."""

    prog: str
    #: the line for running out of memory; None: a MemoryError is not expected (traceback)
    out_of_memory: str | None = None
    #: also read torch's allocation RuntimeErrors as running out of memory
    allocation_errors: bool = False
    #: what Ctrl-C says
    interrupted: str = "interrupted"
    #: what SIGTERM says
    terminated: str = "terminated (SIGTERM)"
    #: turn SIGTERM into one line and status 143 (unwinding through every atomic writer)
    handle_sigterm: bool = False

    def error_line(self, message: str) -> str:
        """The one stderr line of a failed run (newlines in the message are flattened)."""
        return f"{self.prog}: error: {' '.join(str(message).split())}"

    def fail(self, message: str) -> int:
        sys.stdout.flush()
        sys.stderr.write(self.error_line(message) + "\n")
        return EXIT_ERROR

    def stopped(self, status: int) -> int:
        """The line of a run stopped by Ctrl-C (130) or SIGTERM (143); returns ``status``."""
        sys.stdout.flush()
        said = self.interrupted if status == EXIT_INTERRUPTED else self.terminated
        sys.stderr.write(f"\n{self.prog}: {said}\n")
        return status

    def run(self, body: Callable[[], int]) -> int:
        """``body()``'s status, or the status of the error that ended it (one line each)."""
        previous = signal.signal(signal.SIGTERM, raise_terminated) if self.handle_sigterm else None
        try:
            return body()
        except NanoBraggError as exc:
            return self.fail(str(exc))
        except MemoryError:
            if self.out_of_memory is None:
                raise
            return self.fail(self.out_of_memory)
        except RuntimeError as exc:
            if not (self.allocation_errors and _is_allocation_failure(exc)):
                raise
            return self.fail(self.out_of_memory or "out of memory")
        except OSError as exc:
            name = f"{exc.filename}: " if exc.filename else ""
            return self.fail(f"{name}{exc.strerror or exc}")
        except KeyboardInterrupt:
            return self.stopped(EXIT_INTERRUPTED)
        except Terminated:
            return self.stopped(EXIT_TERMINATED)
        finally:
            if self.handle_sigterm:
                signal.signal(signal.SIGTERM, previous)
