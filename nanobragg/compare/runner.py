"""Running one side (the C binary or nanobragg) in its own scratch directory."""

from __future__ import annotations

import hashlib
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nanobragg.compare.images import ImageError, read_raw_float, smv_shape
from nanobragg.compare.nbargs import FLOAT_FLAGS, INT_FLAGS, replace_flag

FLOAT_NAME = "nbcmp_float.bin"
INT_NAME = "nbcmp_int.img"
# Environment variables recorded in metrics.json (whatever of them is set).
ENV_PREFIXES = ("NB_", "OMP_", "KMP_", "MKL_", "CUDA_", "TORCH_", "PYTORCH_")


class SideFailed(Exception):
    """A side exited non-zero, timed out, could not start, or wrote no readable image."""

    def __init__(self, side: str, message: str, stderr: str = "") -> None:
        super().__init__(f"{side} side failed: {message}")
        self.side = side
        self.stderr = stderr


@dataclass
class SideResult:
    side: str
    command: list[str]
    cwd: str
    returncode: int
    wall_time_s: float
    stdout: str
    stderr: str
    env: dict[str, str]
    version: dict[str, str] = field(default_factory=dict)
    image: np.ndarray | None = None

    def summary(self) -> dict:
        """JSON-friendly description (no image)."""
        return {
            "command": self.command,
            "command_line": shlex.join(self.command),
            "cwd": self.cwd,
            "returncode": self.returncode,
            "wall_time_s": round(self.wall_time_s, 4),
            "env": self.env,
            "version": self.version,
            "stderr_tail": self.stderr[-2000:],
        }


def recorded_env(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in sorted(env.items()) if k.startswith(ENV_PREFIXES)}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def c_version(binary: Path, stdout: str) -> dict[str, str]:
    banner = next((ln for ln in stdout.splitlines() if "nanoBragg" in ln), "")
    info = {"binary": str(binary), "banner": banner.strip()}
    try:
        info["sha256"] = sha256_file(binary)
    except OSError:
        pass
    return info


def py_version(command: Sequence[str]) -> dict[str, str]:
    from importlib import metadata

    info = {"python": platform.python_version(), "executable": command[0]}
    for dist in ("nanobragg-torch", "torch", "numpy"):
        try:
            info[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            info[dist] = "not installed"
    repo = Path(__file__).resolve().parents[2]
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if head.returncode == 0:
            info["git_commit"] = head.stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if dirty.returncode == 0:
            info["git_dirty"] = str(bool(dirty.stdout.strip())).lower()
    except (OSError, subprocess.TimeoutExpired):
        pass
    return info


def default_py_command() -> list[str]:
    return [sys.executable, "-m", "nanobragg"]


def run_side(
    side: str,
    prefix: Sequence[str],
    args: Sequence[str],
    workdir: Path,
    *,
    data_dir: Path | None = None,
    env_extra: dict[str, str] | None = None,
    timeout: float | None = None,
) -> SideResult:
    """Run ``prefix + args`` in ``workdir`` (created empty) and read its float image.

    ``-floatfile``/``-intfile`` are replaced by names inside ``workdir``; the image shape comes
    from the SMV header of the int image. ``data_dir`` is linked as ``workdir/data``.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    if data_dir is not None:
        link = workdir / "data"
        if not link.exists():
            link.symlink_to(Path(data_dir).resolve(), target_is_directory=True)
    run_args = replace_flag(args, FLOAT_FLAGS, FLOAT_NAME)
    run_args = replace_flag(run_args, INT_FLAGS, INT_NAME)
    command = [*prefix, *run_args]
    env = dict(os.environ)
    if side == "c":
        env.setdefault("OMP_NUM_THREADS", "1")
    env.update(env_extra or {})
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            command,
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SideFailed(side, f"cannot start {command[0]}: {exc.strerror}") from exc
    except PermissionError as exc:
        raise SideFailed(side, f"cannot execute {command[0]}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        raise SideFailed(side, f"timed out after {timeout} s: {shlex.join(command)}") from exc
    wall = time.perf_counter() - start
    (workdir / "stdout.log").write_text(proc.stdout)
    (workdir / "stderr.log").write_text(proc.stderr)
    result = SideResult(
        side=side,
        command=command,
        cwd=str(workdir),
        returncode=proc.returncode,
        wall_time_s=wall,
        stdout=proc.stdout,
        stderr=proc.stderr,
        env=recorded_env(env),
    )
    if proc.returncode != 0:
        tail = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise SideFailed(side, f"exit status {proc.returncode}: {shlex.join(command)}", tail)
    try:
        shape = smv_shape(workdir / INT_NAME)
        result.image = read_raw_float(workdir / FLOAT_NAME, shape)
    except ImageError as exc:
        raise SideFailed(side, f"no readable output image ({exc})", proc.stderr[-2000:]) from exc
    return result
