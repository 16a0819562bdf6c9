"""Atomic file output: write to a temporary file in the target directory, then ``os.replace``.

Every writer of ``nanobragg.io`` goes through :func:`atomic_open`, so an output file is either
the previous version (or absent) or the complete new one -- never half written, even when the
writer raises or is interrupted (KeyboardInterrupt included).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def _create_temporary(target: Path) -> tuple[int, str]:
    """Create a new hidden sibling ``.NAME.RANDOM.part`` of ``target``, as a plain ``open``
    would create ``target``: mode 0o666, less the umask (or as the directory's default ACL
    says), applied by the system; returns (fd, name)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        name = os.path.join(target.parent, f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            return os.open(name, flags, 0o666), name
        except FileExistsError:
            continue
    raise FileExistsError(f"{target}: no free temporary name next to it")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike[str], durable: bool = True) -> Iterator[BinaryIO]:
    """Open ``path`` for binary writing, atomically.

    Yields a binary file object on a temporary file next to ``path``.  On normal exit the data
    are flushed and fsync'ed, the file gets the permissions a plain ``open`` would give
    (0o666 & ~umask) and it is renamed onto ``path``.  On any exception (BaseException, so also
    KeyboardInterrupt/SystemExit) the temporary file is removed and ``path`` is left untouched.

    A symbolic link at ``path`` is written through, as C's ``fopen`` does: the file it points
    to is replaced and the link stays.

    ``durable=False`` skips the fsync: the rename is still atomic for other processes and
    survives a killed writer, but not a power loss (for files whose content is verified
    anyway, e.g. series frames checked against their manifest hash).
    """
    target = Path(os.path.realpath(path))
    fd, tmp_name = _create_temporary(target)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        _publish(tmp_name, target)
    except BaseException:
        _discard(tmp_name)
        raise


def atomic_write_bytes(
    path: str | os.PathLike[str], *chunks: bytes | bytearray | memoryview, durable: bool = True
) -> None:
    """Write the concatenation of ``chunks`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, durable) as handle:
        for chunk in chunks:
            handle.write(chunk)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Like :func:`atomic_open`, for writers that need a file name (e.g. HDF5): yields the
    name of a temporary sibling of ``path``, which is fsync'ed and renamed onto ``path`` when
    the block ends normally and removed when it raises."""
    target = Path(os.path.realpath(path))
    fd, tmp_name = _create_temporary(target)
    os.close(fd)
    try:
        yield Path(tmp_name)
        with open(tmp_name, "rb+") as handle:
            os.fsync(handle.fileno())
        _publish(tmp_name, target)
    except BaseException:
        _discard(tmp_name)
        raise


def _publish(tmp_name: str, target: Path) -> None:
    """Rename the finished temporary file onto ``target`` (atomic on one filesystem)."""
    os.replace(tmp_name, target)


def _discard(tmp_name: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp_name)
