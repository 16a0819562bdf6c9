"""Text tables as C's ``read_text_file`` reads them: ``-sourcefile`` (X Y Z I lambda) and
``-stol``/``-4stol``/``-Q`` (two columns).

Separators are space, tab and ``,;:!``; lines holding only separators are skipped; a token
that is not a number reads as 0 (``atof``); a short line leaves its trailing columns missing
(NaN); extra columns are ignored. Deviations: a last line without a newline is read like any
other line (C fills its missing columns with 0); a NaN or infinite value, and a row that the
format's check finds wrong, are refused with ``file:line``.

A source list can hold a million lines, and a render of that many sources may be refused by its
term count; :class:`TextTable` therefore counts its rows when opened (a byte scan, no number
parsed) and parses them on first use, so the refusal does not wait for the parse.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nanobragg.errors import InputFileError
from nanobragg.io.format import FileFormat
from nanobragg.io.inputfile import read_input_bytes
from nanobragg.io.smv import c_atof
from nanobragg.validation import bad_source_row

#: C's read_text_file: token separators, and the characters it skips as "the number"
_DELIMITERS = " \t,;:!"
_NUMBER_CHARS = "0123456789-+.EGeg"

#: (row index, problem) of the first bad row of a parsed table, or None
RowCheck = Callable[[np.ndarray], "tuple[int, str] | None"]


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


#: a CR followed by a separator is not trailing, so the tokenizer keeps it as content
_INNER_CR = re.compile(rb"\r+(?=[ \t,;:!])")


def count_rows(raw: bytes) -> int:
    """How many rows :func:`_read_rows` finds in ``raw``, by a byte scan that parses nothing.

    A line is skipped when, after its trailing CRs, it holds only separators; so removing the
    separators and the trailing CRs (any CR followed by a separator is content) leaves exactly
    the rows as the non-empty lines.
    """
    if b"\r" in raw:
        raw = _INNER_CR.sub(b"x", raw)
    content = np.frombuffer(raw.translate(None, _DELIMITERS.encode() + b"\r"), dtype=np.uint8)
    if not content.size:
        return 0
    newline = content == 10
    return int(np.count_nonzero(~newline[:-1] & newline[1:])) + int(not newline[-1])


class TextTable:
    """The rows of a table file: counted when opened, parsed (and checked) on first use.

    It stands for the ``[n, ncols]`` float64 array of rows (NaN = not given): ``len``, ``shape``
    and ``ncols`` need no parse; ``np.asarray``, indexing and :meth:`rows` parse once, raising
    :class:`~nanobragg.errors.InputFileError` with ``file:line`` for a bad value or row.
    """

    #: the rows are checked (with file:line) when parsed, not by ``config.validate``
    checks_rows_when_read = True

    def __init__(self, raw: bytes, display: str, ncols: int, what: str,
                 check: RowCheck | None = None) -> None:
        self.display, self.ncols, self._check = display, ncols, check
        self._count = count_rows(raw)
        if not self._count:
            raise InputFileError(f"{display}: no {what} in the file (empty)")
        self._raw: bytes | None = raw
        self._rows: np.ndarray | None = None

    def __len__(self) -> int:
        return self._count

    @property
    def shape(self) -> tuple[int, int]:
        return (self._count, self.ncols)

    def rows(self) -> np.ndarray:
        """The parsed rows (cached; the file's bytes are dropped once parsed)."""
        if self._rows is None:
            assert self._raw is not None
            self._rows = self._parse(self._raw)
            self._raw = None
        return self._rows

    def _parse(self, raw: bytes) -> np.ndarray:
        rows, lines, given = _read_rows(raw, self.ncols)
        bad = np.flatnonzero((given & ~np.isfinite(rows)).any(axis=1))
        if len(bad):
            raise InputFileError(f"{self.display}:{lines[bad[0]]}: a value is not a finite number")
        problem = self._check(rows) if self._check is not None else None
        if problem is not None:
            raise InputFileError(f"{self.display}:{lines[problem[0]]}: {problem[1]}")
        return rows

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        rows = self.rows()
        return rows if dtype is None else rows.astype(dtype, copy=False)

    def __getitem__(self, key):
        return self.rows()[key]


def open_table(path: Path, display: str, ncols: int, what: str,
               check: RowCheck | None = None) -> TextTable:
    """A table file (bounded read, rows counted, none parsed yet); an empty one is refused."""
    return TextTable(read_input_bytes(path, display), display, ncols, what, check)


def read_table(path: Path, display: str, ncols: int, what: str,
               check: RowCheck | None = None) -> np.ndarray:
    """Rows of ``ncols`` numbers as C's ``read_text_file`` reads them (see the module
    docstring); NaN = not given. ``check`` returns (row index, problem) for a bad row."""
    return open_table(path, display, ncols, what, check).rows()


def read_sources(path: Path, display: str) -> TextTable:
    """``-sourcefile``: the [n, 5] rows X, Y, Z (m), I, lambda (m); NaN = not given (the engine
    then uses C's defaults: position along the beam, I = 1, lambda0). Counted now, parsed when
    the sources are built, so a render refused for its term count never parses them."""
    return open_table(path, display, 5, "sources", check=bad_source_row)


def read_stol_table(path: Path, display: str) -> np.ndarray:
    """``-stol``/``-4stol``/``-Q``: two columns; C reads them (and exits when the file is
    missing or empty) but never uses them."""
    return read_table(path, display, 2, "stol/F values")


def table_bytes(rows: np.ndarray) -> bytes:
    """Rows as space-separated lines (17 significant digits: read back exactly; NaN columns
    must be trailing, they are left out)."""
    lines = []
    for row in np.asarray(rows, dtype=np.float64).tolist():
        lines.append(" ".join(repr(v) for v in row if not math.isnan(v)) + "\n")
    return "".join(lines).encode("ascii")


SOURCES = FileFormat(
    name="sources", what="-sourcefile: lines of X Y Z I lambda (C's read_text_file)",
    read=read_sources, write=table_bytes)
STOL = FileFormat(
    name="stol", what="-stol/-4stol/-Q: lines of stol F (read, then unused, as in C)",
    read=read_stol_table, write=table_bytes)
