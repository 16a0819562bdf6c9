"""Exceptions that carry a one-line, user-facing message, and the command's exit statuses."""

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


class NanoBraggError(Exception):
    """Base class: the CLI prints ``str(error)`` on one line and exits with status 2."""


class ConfigError(NanoBraggError):
    """Physically meaningless or inconsistent input (names the offending input)."""


class InputFileError(NanoBraggError):
    """An input file (HKL, A matrix, source list, SMV header) cannot be read or parsed."""
