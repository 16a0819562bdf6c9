"""The command line's names for the library's config fields: a library error told in flags.

The library validates its config in its own terms (:mod:`nanobragg.validation`: config field
paths); this module is the one place that tells such an error as the CLI would: a value rule
names the flag and values that set the field, as typed (``-distance 1e10: distance must be at
most 1000 m``), or in the wording :data:`WORDING` keeps for a flag; a message written over fields
(:attr:`ConfigError.template <nanobragg.errors.ConfigError>`) spells each field by the flag of
the table that sets it (``-fdet_vector and -sdet_vector are parallel``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from nanobragg.cli.flags import FLAGS, TABLE, Flag
from nanobragg.cli.options import ArgumentError, ParsedArgs
from nanobragg.errors import ConfigError, tell
from nanobragg.io.smv import c_atof
from nanobragg.validation import POSITIVE, Note

#: how "give this field" reads where it differs from the flag's metavar in ``-h``
_USAGE = {"crystal.cell": "a b c alpha beta gamma"}


def _field_flags() -> dict[str, Flag]:
    """Each config field and the first flag of the table that sets it."""
    flags: dict[str, Flag] = {}
    for flag in TABLE:
        for target in getattr(flag.apply, "targets", ()):
            flags.setdefault(target, flag)
            if target.startswith("out."):  # a Simulator argument (max_terms) kept as an option
                flags.setdefault(target.removeprefix("out."), flag)
    return flags


FIELD_FLAGS = _field_flags()


def flag_name(field: str, spec: str = "") -> str:
    """The CLI's spelling of a config field (``spec`` ``usage``: with the values it takes)."""
    flag = FIELD_FLAGS.get(field)
    if flag is None:
        return field
    if spec == "usage":
        return f"{flag.name} {_USAGE.get(field, flag.metavar)}"
    return flag.name


def _positive_in_flag_unit(flag: Flag, typed: str, error: ConfigError) -> str | None:
    """``-lambda must be positive, got 0 A``: the value as typed, in the flag's unit."""
    if error.problem != POSITIVE:
        return None
    return f"{flag.name} must be positive, got {c_atof(typed.split()[1]):g} {flag.unit}".rstrip()


def _flag_then_message(flag: Flag, typed: str, error: ConfigError) -> str | None:
    """``-device: device 'tpu': expected cpu, cuda or cuda:N`` (the library's message)."""
    return f"{flag.name}: {error}"


#: flags whose refusals keep the words they had when the parser checked these values itself
#: (the CLI's messages stay byte-identical): flag -> wording (None: the general form)
WORDING: dict[str, Callable[[Flag, str, ConfigError], str | None]] = {
    "-lambda": _positive_in_flag_unit,
    "-energy": _positive_in_flag_unit,
    "-close_distance": _positive_in_flag_unit,
    "-device": _flag_then_message,
    "-detector_abs": _flag_then_message,
}


def explain(parsed: ParsedArgs, error: ConfigError) -> str:
    """The library's message about config fields, told in terms of the flags that set them."""
    if error.template is not None:
        return tell(error.template, flag_name)
    field = error.field or ""
    typed = parsed.origins.get(field)
    if not typed:
        return str(error)
    setter = FLAGS.get(parsed.setters.get(field, ""))
    wording = WORDING.get(setter.name) if setter is not None else None
    worded = wording(setter, typed, error) if wording is not None else None
    return worded or f"{typed}: {error.problem}"


def note_line(parsed: ParsedArgs, note: Note) -> str:
    typed = parsed.origins.get(note.field, note.field)
    return f"{typed}: {note.text}"


@contextlib.contextmanager
def flag_terms(parsed: ParsedArgs) -> Iterator[None]:
    """Tell a library error about config fields in terms of the flags that set them."""
    try:
        yield
    except ConfigError as exc:
        if exc.template is None and (exc.field is None or exc.field not in parsed.origins):
            raise
        raise ArgumentError(explain(parsed, exc)) from None
