"""Small input files the command line reads while parsing: A matrix, source list, SMV headers.

Each reader follows the C program's reading rules (documented per function) but refuses input
that C would silently turn into garbage, raising :class:`~nanobragg.errors.InputFileError` with
a one-line message that names the file as the user typed it.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nanobragg.config import bad_source_row
from nanobragg.errors import InputFileError
from nanobragg.io.inputfile import read_input_bytes
from nanobragg.io.smv import SMVImage, parse_smv_bytes
from nanobragg.io.table import TextTable, open_table, read_table


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


def read_sources(path: Path, display: str) -> TextTable:
    """``-sourcefile``: the [n, 5] rows X, Y, Z (m), I, lambda (m); NaN = not given (the engine
    then uses C's defaults: position along the beam, I = 1, lambda0). Counted now, parsed when
    the sources are built, so a render refused for its term count never parses them."""
    return open_table(path, display, 5, "sources", check=bad_source_row)


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
