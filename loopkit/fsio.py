"""Atomic, locked, confined file writes.

Every document write goes through :func:`atomic_write` (temp file in the same folder,
fsync, ``os.replace``) so a reader or a kill -9 never sees a half-written file. A symbolic
link is written through (its target is replaced, the link stays) when the target lies inside
the repository; every path loopkit writes is confined to the repository (:func:`inside`).
Text is read and written with ``surrogateescape``, so bytes that are not UTF-8 survive a
rewrite unchanged, and :func:`write_document` keeps a document's CRLF line ends.
Read-modify-write cycles hold :func:`locked`. Every lock file lives in one folder,
``<repo>/.loopkit/locks/`` (the repository is the nearest folder above the document that has
``.git``), so no lock file is left next to a document; outside a repository the lock is a
sibling ``.<name>.lock``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from loopkit.errors import LoopkitError, ParseError
from loopkit.scrub import SECRET_NAMES, clean_text

#: how long a command waits for another loopkit command's short read-modify-write; a lock held
#: longer belongs to a stuck or long-running process, which the error then names
LOCK_TIMEOUT_S = 10.0


LOCK_DIR = ".loopkit/locks"


def _repo_of(path: Path) -> Path | None:
    for folder in path.resolve().parents:
        if (folder / ".git").exists():
            return folder
    return None


def _lexical_repo_of(path: Path) -> Path | None:
    """The repository a path is named in (its own folders, links not followed)."""
    for folder in Path(os.path.abspath(path)).parents:
        if (folder / ".git").exists():
            return folder
    return None


def inside(root: Path, path: Path, what: str = "path") -> Path:
    """``path`` (relative to ``root`` or absolute) with symbolic links resolved; refused
    when it leaves the repository."""
    full = path if path.is_absolute() else root / path
    real = Path(os.path.realpath(full))
    base = Path(os.path.realpath(root))
    if real != base and base not in real.parents:
        raise LoopkitError(f"{what} {path} is outside the repository {root} (refused)")
    return real


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
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "?"
    command = clean_text(command, list(SECRET_NAMES))[:200]  # a typed secret stays out
    since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with contextlib.suppress(OSError):
        Path(f"{lock}.holder").write_text(f"{os.getpid()}\n{since}\n{command}\n",
                                         encoding="utf-8")


def _holder(lock: Path) -> str:
    try:
        pid, since, command = Path(f"{lock}.holder").read_text(encoding="utf-8").split("\n")[:3]
        alive = pid_alive(int(pid))
    except (OSError, ValueError):
        return "another process"
    state = "" if alive else " (no longer running; its lock is still held)"
    return f"pid {pid} ({command}) since {since}{state}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (one owned by another user counts)."""
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
            folder.mkdir(parents=True, exist_ok=True)
            marker.write_text(PRIVATE_DIR_IGNORE, encoding="utf-8")


def write_target(path: Path) -> Path:
    """Where a write of ``path`` lands: the target of a symbolic link (refused when it leaves
    the repository the link is in), else the path itself."""
    if not path.is_symlink():
        return path
    repo = _lexical_repo_of(path)
    if repo is None:
        return Path(os.path.realpath(path))
    return inside(repo, Path(os.path.abspath(path)), "symbolic link target of")


def atomic_write(path: Path, text: str, follow_links: bool = True) -> None:
    """Replace ``path`` with ``text`` atomically (the old or new content, never a mix).
    A symbolic link is written through, or, with ``follow_links=False``, replaced."""
    if follow_links:
        path = write_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape",
                      newline="") as fh:
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
    """Read a document as UTF-8 text, keeping line endings as they are (and bytes that are
    not UTF-8 as surrogates, which :func:`atomic_write` writes back unchanged)."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        return fh.read()


CONFLICT_RE = re.compile(r"^(<{7}|>{7})(?: |$)", re.M)


def check_conflicts(text: str, name: str) -> None:
    """A document with unresolved merge conflict markers is refused (file:line)."""
    match = CONFLICT_RE.search(text)
    if match:
        line = text.count("\n", 0, match.start()) + 1
        raise ParseError(name, line, "unresolved merge conflict marker "
                         f"{match.group(1)!r} (resolve the conflict first)")


def read_document(path: Path, name: str | None = None) -> str:
    """A loop document's text, refused when it holds merge conflict markers."""
    text = read_text(path)
    check_conflicts(text, name or str(path))
    return text


def match_newlines(old: str, new: str) -> str:
    """``new`` with the line ends of ``old``: in a CRLF document, lines loopkit added (bare
    LF) get CRLF too; text that already has CRLF is not changed."""
    if "\r\n" not in old or re.search(r"(?<!\r)\n", old):
        return new
    return re.sub(r"(?<!\r)\n", "\r\n", new)


def write_document(path: Path, text: str) -> None:
    """Atomically replace a loop document, keeping its CRLF line ends if it has them."""
    old = read_text(path) if path.is_file() else ""
    atomic_write(path, match_newlines(old, text))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _valid_strings(value: object) -> object:
    if isinstance(value, str):
        return _SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_valid_strings(k): _valid_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_valid_strings(v) for v in value]
    return value


def json_text(data: object) -> str:
    """JSON that is always valid UTF-8: bytes that were not UTF-8 become U+FFFD, control
    characters are escaped."""
    return json.dumps(_valid_strings(data), indent=2, ensure_ascii=False) + "\n"
