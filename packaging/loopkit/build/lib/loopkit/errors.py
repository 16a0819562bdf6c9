"""Error types raised by loopkit."""

from __future__ import annotations


class LoopkitError(Exception):
    """Base class for errors shown to the user without a traceback."""


class ParseError(LoopkitError):
    """A document could not be parsed; carries the file and 1-based line."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}")


class RefusedError(LoopkitError):
    """An operation was refused by a policy check (e.g. success on a failing run)."""
