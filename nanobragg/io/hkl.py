# ruff: noqa: E741  (h, k, l are the Miller indices, as in C)
"""The nanoBragg reflection list (``-hkl``): text lines ``h k l F`` (P1, no symmetry).

Deliberate differences from C (C silently misreads in all of these cases):

* A line that is not exactly four numbers (``h k l F``, integer indices) raises
  :class:`~nanobragg.errors.InputFileError` naming ``file:line``. C stops reading at the first
  token that does not parse and uses what it has; it also reads tokens, not lines, so it would
  take a fifth column as the next ``h``.
* An index written as a non-integer (``1.5``, but also ``1.0`` or ``1e0``) is refused. C prints
  ``WARNING: non-integer value for h (1.5) at line N`` for non-integer values in its first pass
  (that text is kept in the error message) and its ``%d`` second pass then stops loading at that
  line, so the grid would be silently truncated.
* F must be a finite, non-negative amplitude.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nanobragg.errors import InputFileError
from nanobragg.io.format import FileFormat
from nanobragg.io.inputfile import read_input_bytes

_INT = r"[+-]?[0-9]+"
# What C's strtod (%lg) accepts in decimal form, plus inf/nan (refused as amplitudes after
# parsing); ASCII digits only and no underscores (Python's int/float allow both).
_FLOAT = r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)"
_INT_TOKEN = re.compile(rf"{_INT}\Z")
_FLOAT_TOKEN = re.compile(rf"{_FLOAT}\Z", re.IGNORECASE)
# A valid line in one match (\s is str.split's white space); anything else goes token by token.
_HKL_LINE = re.compile(rf"\s*({_INT})\s+({_INT})\s+({_INT})\s+({_FLOAT})\s*", re.IGNORECASE)


@dataclass(frozen=True)
class HKLData:
    """A reflection list as read from a file.

    Attributes:
        indices: int64 ``[n, 3]`` Miller indices (h, k, l), in file order.
        amplitudes: float64 ``[n]`` structure-factor amplitudes (electrons).
        name: the file name as the user gave it (used in C's stdout lines).
        messages: informational lines produced while reading (MTZ only; C prints none).
    """

    indices: np.ndarray
    amplitudes: np.ndarray
    name: str
    messages: tuple[str, ...] = ()

    def __len__(self) -> int:
        return int(self.indices.shape[0])


def _c_warning_for(axis: str, token: str, entry: int) -> str:
    value = float(token)
    return f"WARNING: non-integer value for {axis} ({value:g}) at line {entry}"


#: C keeps Miller indices in an int: larger ones are refused (numpy's int64 would overflow)
MAX_INDEX = 2**31 - 1


def _index(token: str, axis: str, name: str, lineno: int) -> int:
    value = int(token)
    if abs(value) > MAX_INDEX:
        raise InputFileError(f"{name}:{lineno}: Miller index {axis} = {token} is out of range "
                             f"(at most {MAX_INDEX} in size, as C's int)")
    return value


def _parse_hkl_line(text: str, name: str, lineno: int, entry: int) -> tuple[int, int, int, float]:
    """Parse one ``h k l F`` line; refuse anything C would not read as four numbers."""
    valid = _HKL_LINE.fullmatch(text)
    if valid:
        h, k, l, f = valid.groups()
        return (_index(h, "h", name, lineno), _index(k, "k", name, lineno),
                _index(l, "l", name, lineno), _amplitude(f, name, lineno))
    tokens = text.split()
    if len(tokens) != 4:
        raise InputFileError(
            f"{name}:{lineno}: expected 4 numbers 'h k l F', got {len(tokens)} field(s): "
            f"{text.strip()[:60]!r}"
        )
    for axis, token in zip("hkl", tokens[:3], strict=True):
        if _INT_TOKEN.match(token):
            continue
        if _FLOAT_TOKEN.match(token):
            raise InputFileError(
                f"{name}:{lineno}: Miller index {axis} = {token!r} is not written as an integer "
                f"(C prints '{_c_warning_for(axis, token, entry)}' and stops loading here)"
            )
        raise InputFileError(f"{name}:{lineno}: Miller index {axis} = {token!r} is not a number")
    if not _FLOAT_TOKEN.match(tokens[3]):
        raise InputFileError(f"{name}:{lineno}: F = {tokens[3]!r} is not a number")
    return (_index(tokens[0], "h", name, lineno), _index(tokens[1], "k", name, lineno),
            _index(tokens[2], "l", name, lineno), _amplitude(tokens[3], name, lineno))


def _amplitude(token: str, name: str, lineno: int) -> float:
    """F must be a finite, non-negative amplitude (C would square NaN, inf or -F silently)."""
    value = float(token)
    if not math.isfinite(value):
        raise InputFileError(f"{name}:{lineno}: F = {token!r} is not a finite number")
    if value < 0:
        raise InputFileError(f"{name}:{lineno}: F = {token} is negative (F is an amplitude)")
    return value


def read_hkl(path: Path, name: str | None = None) -> HKLData:
    """Read a nanoBragg ``h k l F`` text file (P1, no symmetry, not even Friedel).

    Blank lines are skipped; every other line must be exactly three integers and a number.

    Args:
        path: file to open.
        name: how to name the file in messages (default: ``str(path)``).

    Raises:
        InputFileError: unreadable file, malformed line (message names ``file:line``), or a file
            without any reflection.
    """
    name = str(path) if name is None else name
    text = read_input_bytes(Path(path), name).decode("latin-1")
    lines = text.splitlines()
    parsed = _parse_valid_hkl(lines)
    if parsed is not None:
        return HKLData(*parsed, name)
    rows: list[tuple[int, int, int, float]] = []
    for lineno, line in enumerate(lines, start=1):
        if line.strip():
            rows.append(_parse_hkl_line(line, name, lineno, len(rows)))
    if not rows:
        raise InputFileError(f"{name}: no 'h k l F' entries (not enough HKL indices)")
    indices = np.array([r[:3] for r in rows], dtype=np.int64)
    amplitudes = np.array([r[3] for r in rows], dtype=np.float64)
    return HKLData(indices, amplitudes, name)


# The whole file at once: the non-blank lines joined by "\n" match this exactly when every one
# of them matches _HKL_LINE (no line holds a "\n", so in-line white space is \s without it).
_IN_LINE_SPACE = r"[^\S\n]"
_HKL_BODY_LINE = (rf"{_IN_LINE_SPACE}*{_INT}{_IN_LINE_SPACE}+{_INT}{_IN_LINE_SPACE}+{_INT}"
                  rf"{_IN_LINE_SPACE}+{_FLOAT}{_IN_LINE_SPACE}*")
_HKL_BODY = re.compile(rf"(?:{_HKL_BODY_LINE}\n)*{_HKL_BODY_LINE}", re.IGNORECASE)


def _parse_valid_hkl(lines: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """(indices, amplitudes) of a file whose every non-blank line is valid, in one pass over
    the text (64 000 lines: ~10x faster than line by line); None for anything else (no entry,
    a malformed line, a non-finite or negative F), which the line-by-line reader then reports
    with its file:line message (so is an index too large for C's int). The values are the
    same: the same int() and float() of the same tokens."""
    body = "\n".join(line for line in lines if line.strip())
    if not body or _HKL_BODY.fullmatch(body) is None:
        return None
    tokens = body.split()  # exactly four per line, as each line matched
    amplitudes = np.array(list(map(float, tokens[3::4])), dtype=np.float64)
    if not (np.isfinite(amplitudes).all() and (amplitudes >= 0).all()):
        return None
    columns = [list(map(int, tokens[i::4])) for i in range(3)]
    if any(abs(v) > MAX_INDEX for column in columns for v in (min(column), max(column))):
        return None
    indices = np.array(columns, dtype=np.int64).T
    return np.ascontiguousarray(indices), amplitudes


def hkl_bytes(data: HKLData) -> bytes:
    """A reflection list as ``h k l F`` lines (F with 17 significant digits: read back exactly)."""
    pairs = zip(data.indices.tolist(), data.amplitudes.tolist(), strict=True)
    return "".join(f"{h} {k} {l} {f!r}\n" for (h, k, l), f in pairs).encode("ascii")


FORMAT = FileFormat(
    name="hkl", what="-hkl: reflection list, text lines 'h k l F'", suffixes=(".hkl",),
    read=read_hkl, write=hkl_bytes)
