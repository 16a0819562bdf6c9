"""Which runs count as evidence: folders loopkit recorded, unchanged since.

Every run loopkit finishes is listed in loopkit's own record of runs,
``<repo>/.loopkit/runs.jsonl``: its folder and the digest of its ``sha256.txt``, signed with
an HMAC key kept beside it (``.loopkit/runs.key``, created on first use, never committed). A
run is evidence only when

* its ``run.json`` lies in a folder named by its run id, inside the reports root of the
  repository (no symbolic link leads out of it),
* every file ``sha256.txt`` lists has that digest, ``run.json`` included, and
* it is in the record of runs with that ``sha256.txt``, or it was committed (``run.json`` and
  ``sha256.txt`` as in ``HEAD``), as a run recorded in another clone is after a pull.

A hand-written or edited ``run.json`` therefore never closes a task or passes ``check``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from loopkit.errors import LoopkitError
from loopkit.fsio import sha256_file
from loopkit.git import Git

LOG_DIR = ".loopkit"
LOG_NAME = "runs.jsonl"
KEY_NAME = "runs.key"


def _key(root: Path) -> bytes:
    path = root / LOG_DIR / KEY_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _mac(root: Path, rel: str, digest: str) -> str:
    return hmac.new(_key(root), f"{rel}\0{digest}".encode(), hashlib.sha256).hexdigest()


def record_run(root: Path, run_dir: Path) -> None:
    """Add a finished run (its ``sha256.txt`` written) to loopkit's record of runs."""
    rel = run_dir.relative_to(root).as_posix()
    digest = sha256_file(run_dir / "sha256.txt")
    line = json.dumps({"run_dir": rel, "sha256": digest, "mac": _mac(root, rel, digest)})
    log = root / LOG_DIR / LOG_NAME
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:  # one short O_APPEND write: concurrent runs never interleave their lines
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def _recorded(root: Path, rel: str, digest: str) -> bool:
    log = root / LOG_DIR / LOG_NAME
    if not log.is_file():
        return False
    want = _mac(root, rel, digest)
    with open(log, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            with contextlib.suppress(ValueError, TypeError):
                entry = json.loads(line)
                if (entry.get("run_dir") == rel and entry.get("sha256") == digest
                        and hmac.compare_digest(str(entry.get("mac")), want)):
                    return True
    return False


def _committed(root: Path, rel: str) -> bool:
    """``run.json`` and ``sha256.txt`` of the folder are tracked and unchanged since HEAD."""
    git = Git(root)
    for name in ("run.json", "sha256.txt"):
        committed = git.show_bytes("HEAD", f"{rel}/{name}")
        if committed is None or committed != (root / rel / name).read_bytes():
            return False
    return True


def _digests_match(run_dir: Path) -> str:
    """Empty when every file ``sha256.txt`` lists (``run.json`` among them) has its digest;
    else what is wrong."""
    listing = run_dir / "sha256.txt"
    if not listing.is_file() or listing.is_symlink():
        return "it has no sha256.txt"
    names = set()
    for line in listing.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, _, name = line.partition("  ")
        path = run_dir / name
        if (not name or ".." in Path(name).parts or path.is_symlink() or not path.is_file()
                or sha256_file(path) != digest):
            return f"{name or line!r} does not match its sha256.txt digest"
        names.add(name)
    return "" if "run.json" in names else "run.json is not in its sha256.txt"


def verify_run(root: Path, reports: str, run_json: Path, run_id: str) -> None:
    """Raise unless ``run_json`` is a run loopkit recorded and nobody changed since."""
    real_root = Path(os.path.realpath(root))
    real_reports = Path(os.path.realpath(root / reports))
    real = Path(os.path.realpath(run_json))
    if real_reports not in real.parents or real_root not in real_reports.parents:
        raise LoopkitError(f"run {run_id}: {run_json} is not inside the reports root "
                           f"{reports}/ of the repository (not evidence)")
    run_dir = real.parent
    wrong = _digests_match(run_dir)
    if wrong:
        raise LoopkitError(f"run {run_id}: {wrong} (the run was changed after loopkit "
                           "recorded it; not evidence)")
    rel = run_dir.relative_to(real_root).as_posix()
    if not (_recorded(real_root, rel, sha256_file(run_dir / "sha256.txt"))
            or _committed(real_root, rel)):
        raise LoopkitError(f"run {run_id}: {rel} is not a run loopkit recorded (not in "
                           f"{LOG_DIR}/{LOG_NAME}, not committed; not evidence)")
