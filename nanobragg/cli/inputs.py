"""Small input files the command line reads while parsing: A matrix, source list, SMV headers.

Each reader follows the C program's reading rules (documented per function) but refuses input
that C would silently turn into garbage, raising :class:`~nanobragg.errors.InputFileError` with
a one-line message that names the file as the user typed it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nanobragg.config import bad_source_row
from nanobragg.errors import InputFileError
from nanobragg.io.inputfile import read_input_bytes
from nanobragg.io.smv import SMVImage, c_atof, parse_smv_bytes

#: C's read_text_file: token separators, and the characters it skips as "the number"
_DELIMITERS = " \t,;:!"
_NUMBER_CHARS = "0123456789-+.EGeg"


def _read_text(path: Path, display: str) -> str:
    return read_input_bytes(path, display).decode("latin-1")


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


def _parse_table_line(line: str, ncols: int) -> tuple[list[float], int]:
    """One line as C's ``read_text_file`` splits it, and how many columns it reached; columns it
    never reaches stay NaN.

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
            return row, col


#: a table made only of these bytes, whose every token is a whole decimal number, reads the same
#: through C's tokenizer as through numpy's parser (see _plain_table)
_PLAIN_BYTES = b"0123456789+-.eE \t,;:!\r\n"
_IS_SEPARATOR = np.zeros(256, dtype=bool)
_IS_SEPARATOR[np.frombuffer(b" \t,;:!\r\n", dtype=np.uint8)] = True
_TO_SPACES = bytes.maketrans(b"\t,;:!\r\n", b"       ")


def _plain_table(raw: bytes, ncols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The rows of a table of plain numbers, read with numpy (about 100x faster than the
    line-by-line tokenizer, for source lists of a million lines); None when any byte or token
    is not plain (the exact tokenizer then reads the file)."""
    if raw.translate(None, _PLAIN_BYTES):
        return None
    data = np.frombuffer(raw, dtype=np.uint8)
    carriage = np.flatnonzero(data == 13)
    if len(carriage) and not np.all(data[np.minimum(carriage + 1, len(data) - 1)] == 10):
        return None  # a CR inside a line is part of a token for C
    separator = _IS_SEPARATOR[data]
    starts = np.flatnonzero(~separator & np.concatenate(([True], separator[:-1])))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(raw.translate(_TO_SPACES), dtype=np.float64, sep=" ")
        except (DeprecationWarning, ValueError):
            return None
    if values.size != starts.size:
        return None
    line_of_token = np.searchsorted(np.flatnonzero(data == 10), starts)  # sorted, by line
    first = np.flatnonzero(np.concatenate(([True], np.diff(line_of_token) != 0)))
    counts = np.diff(np.append(first, starts.size))
    line_index = line_of_token[first]
    column = np.arange(starts.size) - np.repeat(first, counts)
    row_of_token = np.repeat(np.arange(len(line_index)), counts)
    keep = column < ncols
    rows = np.full((len(line_index), ncols), np.nan)
    rows[row_of_token[keep], column[keep]] = values[keep]
    given = np.arange(ncols)[None, :] < counts[:, None]
    return rows, line_index + 1, given


def _read_rows(raw: bytes, ncols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rows [n, ncols], their 1-based line numbers, which values the lines gave)."""
    plain = _plain_table(raw, ncols)
    if plain is not None:
        return plain
    rows, lines, reached = [], [], []
    for lineno, text in enumerate(raw.decode("latin-1").split("\n"), start=1):
        line = text.rstrip("\r")
        if not line.strip(_DELIMITERS):
            continue
        row, count = _parse_table_line(line, ncols)
        rows.append(row)
        lines.append(lineno)
        reached.append(count)
    given = np.arange(ncols)[None, :] < np.array(reached, dtype=np.int64).reshape(-1, 1)
    return np.array(rows, dtype=np.float64).reshape(-1, ncols), np.array(lines), given


def read_table(path: Path, display: str, ncols: int, what: str,
               check: Callable[[np.ndarray], tuple[int, str] | None] | None = None
               ) -> np.ndarray:
    """Rows of ``ncols`` numbers as C's ``read_text_file`` reads them; NaN = not given.

    Separators are space, tab and ``,;:!``; lines holding only separators are skipped; a token
    that is not a number reads as 0 (``atof``); a short line leaves its trailing columns
    missing; extra columns are ignored. Deviations: a last line without a newline is read like
    any other line (C fills its missing columns with 0); a NaN or infinite value, and a row
    that ``check`` finds wrong (it returns the row index and the problem), are refused with
    ``file:line``.
    """
    rows, lines, given = _read_rows(read_input_bytes(path, display), ncols)
    if not len(rows):
        raise InputFileError(f"{display}: no {what} in the file (empty)")
    bad = np.flatnonzero((given & ~np.isfinite(rows)).any(axis=1))
    if len(bad):
        raise InputFileError(f"{display}:{lines[bad[0]]}: a value is not a finite number")
    problem = check(rows) if check is not None else None
    if problem is not None:
        raise InputFileError(f"{display}:{lines[problem[0]]}: {problem[1]}")
    return rows


def read_sources(path: Path, display: str) -> np.ndarray:
    """``-sourcefile``: an [n, 5] array of X, Y, Z (m), I, lambda (m); NaN = not given
    (the engine then uses C's defaults: position along the beam, I = 1, lambda0)."""
    return read_table(path, display, 5, "sources", check=bad_source_row)


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
    raw = read_input_bytes(path, display)
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
