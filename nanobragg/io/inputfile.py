"""Reading an input file safely: regular files only, and never more than a bound.

A FIFO with no writer would block ``open`` forever and a character device such as
``/dev/zero`` never ends, so anything that is not a regular file is refused before it is opened;
a regular file larger than the bound is refused before it is read. Every reader of an input
file (HKL, Fdump, MTZ, A matrix, source and stol lists, SMV headers and masks) goes through
:func:`check_input_file` and :func:`read_input_bytes`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from nanobragg.errors import InputFileError

#: environment variable that overrides :data:`DEFAULT_MAX_INPUT_BYTES`
MAX_INPUT_ENV = "NB_MAX_INPUT_BYTES"
#: larger than any HKL list or detector mask in use (a 6M-pixel mask is 12 MB)
DEFAULT_MAX_INPUT_BYTES = 1 << 30


def max_input_bytes() -> int:
    raw = os.environ.get(MAX_INPUT_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        return int(float(raw))
    except ValueError:
        raise InputFileError(f"${MAX_INPUT_ENV}: expected a number of bytes, got {raw!r}") from None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def check_input_file(path: Path, display: str) -> int:
    """Refuse a missing, non-regular or oversized input file; return its size in bytes."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise InputFileError(f"{display}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{display}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(f"{display}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{display}: is {_kind(info.st_mode)}, not a regular file")
    limit = max_input_bytes()
    if info.st_size > limit:
        raise InputFileError(
            f"{display}: {info.st_size} bytes is larger than the {limit}-byte limit for input "
            f"files (raise it with ${MAX_INPUT_ENV})")
    return info.st_size


def read_input_bytes(path: Path, display: str) -> bytes:
    """The bytes of a regular input file of bounded size (see the module docstring)."""
    check_input_file(path, display)
    limit = max_input_bytes()
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise InputFileError(f"{display}: cannot read ({exc.strerror or exc})") from None
    if len(data) > limit:  # grew after the check
        raise InputFileError(f"{display}: larger than the {limit}-byte limit for input files")
    return data
