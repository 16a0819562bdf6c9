"""The error family of loopkit: everything it reports as one line derives from LoopkitError.

The CLI maps each family to its exit code in one place (:mod:`loopkit.commands.exits`).
"""

from __future__ import annotations


class LoopkitError(Exception):
    """Base class for errors shown to the user without a traceback (git's GitError and the
    loop's Interrupted among them)."""


class ParseError(LoopkitError):
    """A document could not be parsed; carries the file and 1-based line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}")


class RefusedError(LoopkitError):
    """An operation was refused by a policy check (e.g. success on a failing run)."""
