"""Exceptions that carry a one-line, user-facing message, and the command's exit statuses."""

from __future__ import annotations

import signal
import string
from collections.abc import Callable

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
    (the CLI names the flag as typed, see :func:`nanobragg.cli.terms.explain`).

    ``template`` is the message with each config field it names written ``{section.name}``
    (``{crystal.cell:usage}`` where the name is an instruction to give it); the library's own
    message spells each field by its path, a front end by its own name (the CLI by its flag).
    """

    def __init__(self, message: str | None = None, field: str | None = None,
                 problem: str | None = None, *, template: str | None = None):
        if message is None:
            message = tell(template or "", lambda name, spec: name)
        super().__init__(message)
        self.field = field
        self.problem = problem if problem is not None else message
        self.template = template


class _FieldNames(string.Formatter):
    def __init__(self, name: Callable[[str, str], str]):
        self.name = name

    def get_field(self, field_name, args, kwargs):
        return field_name, field_name  # a dotted path as a whole, not attribute access

    def format_field(self, value, format_spec):
        return self.name(value, format_spec)


def tell(template: str, name: Callable[[str, str], str]) -> str:
    """``template`` with each ``{field}`` / ``{field:spec}`` replaced by ``name(field, spec)``."""
    return _FieldNames(name).format(template)


class WorkloadError(ConfigError):
    """The render would take more terms or memory than allowed (see ``nanobragg.workload``)."""


class InputFileError(NanoBraggError):
    """An input file (HKL, A matrix, source list, SMV header) cannot be read or parsed."""


class Terminated(BaseException):
    """SIGTERM arrived (raised by the CLI's signal handler; like KeyboardInterrupt for SIGINT,
    it unwinds through every ``atomic_open`` so that no output is left half written)."""
