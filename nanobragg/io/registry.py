"""Every file format nanobragg reads or writes, in one literal list (see :mod:`.format`).

A new format is a module of :mod:`nanobragg.io` ending in ``FORMAT = FileFormat(...)`` and one
line here. Image formats are tried in the order listed when a file is recognised.
"""

from __future__ import annotations

from pathlib import Path

from nanobragg.io import cbf, fdump, hkl, matrix, mtz, npy, nxmx, pgm, raw, smv, table
from nanobragg.io.format import HEAD_BYTES, FileFormat

ALL_FORMATS: tuple[FileFormat, ...] = (
    # images
    smv.FORMAT,
    nxmx.FORMAT,
    cbf.FORMAT,
    npy.FORMAT,
    pgm.FORMAT,
    raw.FORMAT,
    # structure factors
    hkl.FORMAT,
    fdump.FORMAT,
    mtz.FORMAT,
    # small inputs of the command line
    matrix.FORMAT,
    table.SOURCES,
    table.STOL,
)

#: the formats whose files hold a detector image (:attr:`FileFormat.pixels`)
IMAGE_FORMATS = tuple(f for f in ALL_FORMATS if f.pixels is not None)


def by_name(name: str) -> FileFormat:
    for fmt in ALL_FORMATS:
        if fmt.name == name:
            return fmt
    raise KeyError(f"no file format {name!r}; known: {', '.join(f.name for f in ALL_FORMATS)}")


def read_head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(HEAD_BYTES)


def recognise(path: Path, among: tuple[FileFormat, ...] = ALL_FORMATS) -> FileFormat | None:
    """The first of ``among`` that recognises ``path`` (by signature, else by suffix)."""
    head = read_head(path)
    return next((f for f in among if f.recognises(head, path)), None)


def image_format(path: Path, among: tuple[FileFormat, ...] = IMAGE_FORMATS) -> FileFormat:
    """The image format of ``path``; a file no format recognises is a raw float image."""
    return recognise(path, among) or raw.FORMAT
