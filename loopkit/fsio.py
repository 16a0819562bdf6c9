"""Atomic, locked file writes.

Every document write goes through :func:`atomic_write` (temp file in the same folder,
fsync, ``os.replace``) so a reader or a kill -9 never sees a half-written file.
Read-modify-write cycles hold :func:`locked`. Every lock file lives in one folder,
``<repo>/.loopkit/locks/`` (the repository is the nearest folder above the document that has
``.git``), so no lock file is left next to a document; outside a repository the lock is a
sibling ``.<name>.lock``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

LOCK_TIMEOUT_S = 60.0


LOCK_DIR = ".loopkit/locks"


def _repo_of(path: Path) -> Path | None:
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return None


def lock_path(path: Path) -> Path:
    """The lock file of a document: ``<repo>/.loopkit/locks/<path relative to repo>.lock``
    with ``/`` written as ``%``; a sibling ``.<name>.lock`` outside a repository."""
    repo = _repo_of(path)
    if repo is None:
        return path.with_name(f".{path.name}.lock")
    rel = path.resolve().relative_to(repo).as_posix().replace("/", "%")
    return repo / LOCK_DIR / f"{rel}.lock"


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Hold an exclusive inter-process lock for ``path`` (released on process death)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock), timeout=timeout):
        yield


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically (the old or new content, never a mix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_text(path: Path) -> str:
    """Read a document as UTF-8 text, keeping line endings as they are."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        return fh.read()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
