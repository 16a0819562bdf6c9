"""Value kinds of the command line: how one token is checked and converted.

A deliberate deviation from C (``docs/cli.md``): a value that is not a number is an error (C
reads ``atof`` garbage as 0), and an integer flag needs an integer. For the values of a flag
that collides with another (C's substring matching), each kind also says how C reads the
token (:func:`nanobragg.cli.cmatch.c_values`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nanobragg.cli import cmatch
from nanobragg.io.smv import c_atof

#: ASCII digits only: Python's int() and float() also read other scripts' digits ("٣" is 3)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")

#: C reads counts and seeds with ``atoi``, a 32-bit int
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def is_number(token: str) -> bool:
    return bool(_NUMBER.match(token))


def to_number(token: str) -> float:
    if not _NUMBER.match(token):
        raise ValueError
    value = float(token)
    if not math.isfinite(value):
        raise ValueError
    return value


def to_integer(token: str) -> int:
    if not _INTEGER.match(token):
        raise ValueError
    value = int(token)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError
    return value


def to_text(token: str) -> str:
    if token == "" or token.startswith("-"):
        raise ValueError
    return token


@dataclass(frozen=True)
class Kind:
    """How one value token is checked and converted, and how C reads it (``atof``/``atoi``,
    for the values of a colliding flag, :func:`nanobragg.cli.cmatch.c_values`)."""

    what: str
    convert: Callable[[str], Any]
    c_read: Callable[[str], Any] = str


NUMBER = Kind("a number", to_number, c_atof)
INTEGER = Kind("a 32-bit integer", to_integer, cmatch.c_atoi)
TEXT = Kind("a name", to_text)
