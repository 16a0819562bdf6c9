"""The structure-factor cache ``Fdump.bin`` (``-dump``), in C's byte layout.

Deliberate difference from C: a cache whose size does not match its header is refused (C
carries on with zeros). C's reader also skips *all* whitespace after the header (``fscanf``
with ``"\\n\\f"``), so when the first double's low byte happens to be a whitespace byte
(0x09-0x0d, 0x20) C reads the whole cache shifted; we read the data right after the
``"\\n\\f"`` that C itself writes.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from nanobragg.errors import InputFileError
from nanobragg.io.format import FileFormat
from nanobragg.io.inputfile import read_input_bytes

#: the cache C writes (and reads back) when no -dump name is given
DEFAULT_DUMP_NAME = "Fdump.bin"

def _fdump_header(bounds: tuple[int, int, int, int, int, int]) -> bytes:
    return (" ".join(str(int(b)) for b in bounds) + "\n\f").encode("ascii")


def fdump_bytes(grid: np.ndarray, bounds: tuple[int, int, int, int, int, int]) -> bytes:
    """C's cache: ``"%d %d %d %d %d %d\\n\\f"`` (h_min h_max k_min k_max l_min l_max), then
    the padded grid ``[h_range+1][k_range+1][l_range+1]`` as native-endian float64."""
    return _fdump_header(bounds) + np.ascontiguousarray(grid, dtype=np.float64).tobytes()


def write_fdump(path: Path, grid: np.ndarray, bounds: tuple[int, int, int, int, int, int]) -> None:
    """Write the cache (see :func:`fdump_bytes`), in place as C does."""
    with open(path, "wb") as fh:
        fh.write(fdump_bytes(grid, bounds))


_HEADER_RE = re.compile(rb"\s*([+-]?\d+)" * 6)


def read_fdump(path: Path, name: str | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """Read a cache written by :func:`write_fdump` or by C.

    Returns:
        (grid float64 ``[h_range+1, k_range+1, l_range+1]``, (h_min, h_max, k_min, k_max,
        l_min, l_max)).

    Raises:
        InputFileError: unreadable file, bad header, or data size not matching the header.
    """
    name = str(path) if name is None else name
    raw = read_input_bytes(Path(path), name)
    match = _HEADER_RE.match(raw)
    if match is None:
        raise InputFileError(f"{name}: not an Fdump file (no 'h_min h_max ... l_max' header)")
    bounds = tuple(int(x) for x in match.groups())
    start = match.end()
    if raw[start : start + 2] == b"\n\f":
        start += 2
    else:  # not written by C or us: skip whitespace as C's fscanf does
        while start < len(raw) and raw[start : start + 1] in b" \t\n\v\f\r":
            start += 1
    h_min, h_max, k_min, k_max, l_min, l_max = bounds
    shape = (h_max - h_min + 2, k_max - k_min + 2, l_max - l_min + 2)
    if min(shape) < 2:
        raise InputFileError(f"{name}: Fdump header has empty index ranges {bounds}")
    expected = 8 * shape[0] * shape[1] * shape[2]
    if len(raw) - start != expected:
        raise InputFileError(
            f"{name}: Fdump data is {len(raw) - start} bytes, header {bounds} needs {expected}"
        )
    grid = np.frombuffer(raw, dtype=np.float64, count=expected // 8, offset=start)
    return grid.reshape(shape).copy(), bounds


_SIGNATURE = re.compile(rb"\s*[+-]?\d+(?:[ \t]+[+-]?\d+){5}\n\f")

FORMAT = FileFormat(
    name="fdump", what="-dump: C's structure-factor cache (6 index bounds, then float64 grid)",
    understand=lambda head: _SIGNATURE.match(head) is not None, read=read_fdump,
    write=fdump_bytes)
