"""Exceptions that carry a one-line, user-facing message, and the command's exit statuses."""

from __future__ import annotations

import signal

EXIT_ERROR = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


class NanoBraggError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits with status 2."""


class ConfigError(NanoBraggError):
    """Physically meaningless or inconsistent input (names the offending input).

    ``field`` is the dotted config path of the offending value (``"crystal.mosaic_domains"``),
    when one value is at fault; ``problem`` then says what is wrong with it in words that do not
    depend on how the value was given, so that a front end can name its own spelling of it
    (the CLI names the flag as typed, see ``nanobragg.cli.args.ParsedArgs.explain``).
    """

    def __init__(self, message: str, field: str | None = None, problem: str | None = None):
        super().__init__(message)
        self.field = field
        self.problem = problem if problem is not None else message


class WorkloadError(ConfigError):
    """The render would take more terms or memory than allowed (see ``nanobragg.workload``)."""


class InputFileError(NanoBraggError):
    """An input file (HKL, A matrix, source list, SMV header) cannot be read or parsed."""


class Terminated(BaseException):
    """SIGTERM arrived (raised by the CLI's signal handler; like KeyboardInterrupt for SIGINT,
    it unwinds through every ``atomic_open`` so that no output is left half written)."""
