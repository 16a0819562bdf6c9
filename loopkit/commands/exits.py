"""Every exit code of the ``loopkit`` CLI, and which error family or outcome gives it.

docs/loopkit.md lists the same codes; a new error family or outcome gets its code here.
"""

from __future__ import annotations

from enum import IntEnum

from loopkit.errors import LoopkitError, RefusedError


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # an error, a failed or aborted run, lint or gate errors
    USAGE = 2  # click's own: a bad option or argument
    PARTIAL = 3  # a run where nothing failed but something was unchecked or skipped
    REFUSED = 4  # refused by policy
    INTERRUPTED = 130  # the loop stopped by a signal


#: error family -> exit code; the first family the error belongs to wins
ERROR_CODES: tuple[tuple[type[LoopkitError], ExitCode], ...] = (
    (RefusedError, ExitCode.REFUSED),
    (LoopkitError, ExitCode.FAILED),
)

VERDICT_CODES = {"pass": ExitCode.OK, "partial": ExitCode.PARTIAL}


def exit_code_for_error(exc: LoopkitError) -> ExitCode:
    return next(code for family, code in ERROR_CODES if isinstance(exc, family))


def exit_code_for_verdict(verdict: str) -> ExitCode:
    """0 pass, 3 partial, 1 for fail and aborted."""
    return VERDICT_CODES.get(verdict, ExitCode.FAILED)
