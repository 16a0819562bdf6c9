"""Small input files the command line reads while parsing: A matrix, source list, SMV headers.

Each reader follows the C program's reading rules (documented per function) but refuses input
that C would silently turn into garbage, raising :class:`~nanobragg.errors.InputFileError` with
a one-line message that names the file as the user typed it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nanobragg.errors import InputFileError
from nanobragg.io.smv import SMVImage, c_atof, parse_smv_bytes

#: C's read_text_file: token separators, and the characters it skips as "the number"
_DELIMITERS = " \t,;:!"
_NUMBER_CHARS = "0123456789-+.EGeg"


def _read_text(path: Path, display: str) -> str:
    try:
        return path.read_bytes().decode("latin-1")
    except FileNotFoundError:
        raise InputFileError(f"{display}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{display}: is a directory, not a file") from None
    except OSError as exc:
        raise InputFileError(f"{display}: cannot read ({exc.strerror or exc})") from None


# ------------------------------------------------------------------------------------------------
# -mat: MOSFLM A matrix
# ------------------------------------------------------------------------------------------------


def read_matrix(path: Path, display: str) -> np.ndarray:
    """The first 9 numbers of a MOSFLM matrix file as a 3x3 array (rows x, y, z).

    C reads them with ``fscanf("%lg")`` three per row, into a*, b*, c* components; everything
    after the ninth number (U matrix, cell) is ignored. We need all nine to be numbers.
    """
    tokens = _read_text(path, display).split()
    numbers: list[float] = []
    for token in tokens[:9]:
        try:
            value = float(token)
        except ValueError:
            break
        if not math.isfinite(value):
            break
        numbers.append(value)
    if len(numbers) < 9:
        where = "end of file" if len(tokens) <= len(numbers) else repr(tokens[len(numbers)])
        raise InputFileError(
            f"{display}: an A matrix needs 9 numbers (3 rows of a* b* c*), "
            f"found only {len(numbers)} before {where}"
        )
    return np.array(numbers, dtype=np.float64).reshape(3, 3)


# ------------------------------------------------------------------------------------------------
# -sourcefile: rows of X Y Z I lambda
# ------------------------------------------------------------------------------------------------


def _parse_table_line(line: str, ncols: int) -> list[float]:
    """One line as C's ``read_text_file`` splits it; columns it never reaches stay NaN.

    A value is ``atof`` of the token; the scan skips number characters, then the rest of the
    token, then delimiters, and stops at the end of the line.
    """
    row = [math.nan] * ncols
    pos = len(line) - len(line.lstrip(_DELIMITERS))
    col = 0
    while True:
        row[col] = c_atof(line[pos:])
        while pos < len(line) and line[pos] in _NUMBER_CHARS:
            pos += 1
        while pos < len(line) and line[pos] not in _DELIMITERS:
            pos += 1
        while pos < len(line) and line[pos] in _DELIMITERS:
            pos += 1
        col += 1
        if pos >= len(line) or col >= ncols:
            return row


def read_table(path: Path, display: str, ncols: int, what: str) -> np.ndarray:
    """Rows of ``ncols`` numbers as C's ``read_text_file`` reads them; NaN = not given.

    Separators are space, tab and ``,;:!``; lines holding only separators are skipped; a token
    that is not a number reads as 0 (``atof``); a short line leaves its trailing columns
    missing; extra columns are ignored. Deviation: a last line without a newline is read like
    any other line (C fills its missing columns with 0).
    """
    text = _read_text(path, display)
    rows = []
    for raw in text.split("\n"):
        line = raw.rstrip("\r")
        if not line.strip(_DELIMITERS):
            continue
        rows.append(_parse_table_line(line, ncols))
    if not rows:
        raise InputFileError(f"{display}: no {what} in the file (empty)")
    return np.array(rows, dtype=np.float64)


def read_sources(path: Path, display: str) -> np.ndarray:
    """``-sourcefile``: an [n, 5] array of X, Y, Z (m), I, lambda (m); NaN = not given
    (the engine then uses C's defaults: position along the beam, I = 1, lambda0)."""
    return read_table(path, display, 5, "sources")


def read_stol_table(path: Path, display: str) -> np.ndarray:
    """``-stol``/``-4stol``/``-Q``: two columns; C reads them (and exits when the file is
    missing or empty) but never uses them."""
    return read_table(path, display, 2, "stol/F values")


# ------------------------------------------------------------------------------------------------
# -img / -mask: SMV headers (and the mask's pixels)
# ------------------------------------------------------------------------------------------------


def read_smv(path: Path, display: str) -> SMVImage:
    """An SMV file read as C's ``-img``/``-mask`` reader does (see :mod:`nanobragg.io.smv`);
    header values come from :meth:`SMVImage.value` (C's ``ValueOf``, NaN when absent)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{display}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{display}: is a directory, not a file") from None
    except OSError as exc:
        raise InputFileError(f"{display}: cannot read ({exc.strerror or exc})") from None
    try:
        smv = parse_smv_bytes(raw, display)
    except ValueError as exc:
        message = str(exc)
        if not message.startswith(display):
            message = f"{display}: {message}"
        raise InputFileError(message) from None
    header_bytes = smv.value("HEADER_BYTES")
    slow, fast = smv.shape
    if len(raw) < header_bytes + 2 * slow * fast:
        raise InputFileError(
            f"{display}: truncated SMV file: {len(raw)} bytes, but HEADER_BYTES={header_bytes:g} "
            f"and {fast}x{slow} 2-byte pixels need {header_bytes + 2 * slow * fast:g}"
        )
    return smv
