"""8-bit binary PGM (P5) preview image, as the C program's ``-pgmfile`` output."""

from __future__ import annotations

import os

import numpy as np

from nanobragg.io.atomic import atomic_write_bytes
from nanobragg.io.format import FileFormat
from nanobragg.io.smv import c_format_g


def pgm_header_bytes(fast: int, slow: int, pgm_scale: float) -> bytes:
    """C's header: ``P5\\n<fast> <slow>\\n# pixels scaled by <pgm_scale %lg>\\n255\\n``."""
    return f"P5\n{int(fast)} {int(slow)}\n# pixels scaled by {c_format_g(pgm_scale)}\n255\n".encode(
        "ascii"
    )


def pgm_bytes(data: np.ndarray, pgm_scale: float) -> bytes:
    """Whole PGM file content for uint8 ``data`` [slow, fast]."""
    pixels = np.asarray(data)
    if pixels.ndim != 2 or pixels.dtype != np.uint8:
        raise TypeError(f"PGM data must be 2-D uint8, got {pixels.dtype} {pixels.shape}")
    slow, fast = pixels.shape
    return pgm_header_bytes(fast, slow, pgm_scale) + np.ascontiguousarray(pixels).tobytes()


def write_pgm(path: str | os.PathLike[str], data: np.ndarray, pgm_scale: float) -> None:
    """Write uint8 ``data`` [slow, fast] as C's PGM (atomically)."""
    atomic_write_bytes(path, pgm_bytes(data, pgm_scale))


def read_pgm(path: str | os.PathLike[str]) -> tuple[np.ndarray, str]:
    """Read a P5 PGM with 8-bit data; returns (uint8 [slow, fast], header text).

    Accepts comment lines (``#``) between the header tokens; the data are the last
    width*height bytes.
    """
    raw = open(path, "rb").read()
    if not raw.startswith(b"P5"):
        raise ValueError(f"{path}: not a binary PGM (P5)")
    tokens: list[int] = []
    pos = 2
    while len(tokens) < 3:
        while pos < len(raw) and raw[pos : pos + 1].isspace():
            pos += 1
        if raw[pos : pos + 1] == b"#":
            pos = raw.index(b"\n", pos) + 1
            continue
        end = pos
        while end < len(raw) and raw[end : end + 1].isdigit():
            end += 1
        if end == pos:
            raise ValueError(f"{path}: malformed PGM header")
        tokens.append(int(raw[pos:end]))
        pos = end
    fast, slow, maxval = tokens
    if maxval > 255:
        raise ValueError(f"{path}: 16-bit PGM not supported")
    n = fast * slow
    header = raw[: len(raw) - n].decode("latin-1")
    data = np.frombuffer(raw, dtype=np.uint8, count=n, offset=len(raw) - n)
    return data.reshape(slow, fast), header


#: a preview, not an image the comparison or refinement tools read (no ``pixels``)
FORMAT = FileFormat(
    name="pgm", what="-pgmfile: 8-bit binary PGM (P5) preview", suffixes=(".pgm",),
    understand=lambda head: head.startswith(b"P5"), read=read_pgm, write=pgm_bytes)
