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
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from loopkit.errors import LoopkitError

#: how long a command waits for another loopkit command's short read-modify-write; a lock held
#: longer belongs to a stuck or long-running process, which the error then names
LOCK_TIMEOUT_S = 10.0


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
def locked(path: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive inter-process lock for ``path`` (released on process death). The wait
    is ``LOCK_TIMEOUT_S`` unless ``$LOOPKIT_LOCK_WAIT_S`` says otherwise."""
    if timeout is None:
        try:
            timeout = float(os.environ.get("LOOPKIT_LOCK_WAIT_S", LOCK_TIMEOUT_S))
        except ValueError:
            timeout = LOCK_TIMEOUT_S
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    if lock.parent.parent.name == ".loopkit":
        ignore_private_dir(lock.parent.parent)
    try:
        with FileLock(str(lock), timeout=timeout):
            _write_holder(lock)
            yield
    except Timeout:
        raise LoopkitError(f"{path.name} is locked by {_holder(lock)}; try again when it "
                           f"ends (lock file {lock})") from None


def _write_holder(lock: Path) -> None:
    """Who holds the lock (pid, command, since when), for the one-line error of a waiter."""
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:200] if sys.argv else "?"
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with contextlib.suppress(OSError):
        Path(f"{lock}.holder").write_text(f"{os.getpid()}\n{since}\n{command}\n",
                                         encoding="utf-8")


def _holder(lock: Path) -> str:
    try:
        pid, since, command = Path(f"{lock}.holder").read_text(encoding="utf-8").split("\n")[:3]
        alive = _alive(int(pid))
    except (OSError, ValueError):
        return "another process"
    state = "" if alive else " (no longer running; its lock is still held)"
    return f"pid {pid} ({command}) since {since}{state}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


PRIVATE_DIR_IGNORE = ("# loopkit's private folder: locks and leases are never committed; the turn\n"
                      "# journal of `loopkit loop` is tracked\n*\n!turns.jsonl\n")


def ignore_private_dir(folder: Path) -> None:
    """``.loopkit/`` ignores itself (a ``.gitignore`` of ``*`` inside), so loopkit's private
    files never show up untracked in a user's repository, whatever its own .gitignore says."""
    marker = folder / ".gitignore"
    old = "# loopkit's private folder (locks, journals): never committed\n*\n"
    if not marker.exists() or marker.read_text(encoding="utf-8", errors="replace") == old:
        with contextlib.suppress(OSError):
            marker.write_text(PRIVATE_DIR_IGNORE, encoding="utf-8")


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
