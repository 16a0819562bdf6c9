"""MOSFLM A matrix files (``-mat``/``-matrix``): a*, b*, c* in reciprocal Å, as C reads them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nanobragg.errors import InputFileError
from nanobragg.io.format import FileFormat
from nanobragg.io.inputfile import read_input_bytes


def _read_text(path: Path, display: str) -> str:
    return read_input_bytes(path, display).decode("latin-1")


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


def matrix_bytes(amatrix: np.ndarray) -> bytes:
    """Three rows of a* b* c* components (17 significant digits: read back exactly)."""
    rows = np.asarray(amatrix, dtype=np.float64).reshape(3, 3).tolist()
    return "".join(" ".join(repr(v) for v in row) + "\n" for row in rows).encode("ascii")


FORMAT = FileFormat(
    name="matrix", what="-mat: MOSFLM A matrix (3 rows of a* b* c*; the rest is ignored)",
    suffixes=(".mat",), read=read_matrix, write=matrix_bytes)
