"""Shared pieces of the nanobragg-series tests: small frame arguments and in-process runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

#: a small, fast frame: 32x32 pixels of 1.6 mm, one term per pixel and phi step. In the
#: MOSFLM convention Fbeam = Ybeam + pixel/2 and Sbeam = Xbeam + pixel/2, so the beam centre
#: is (25 + 0.8) / 1.6 = 16.125 px (fast) and (20 + 0.8) / 1.6 = 13.0 px (slow).
SMALL = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "300", "-N", "5",
         "-lambda", "1.0", "-distance", "100", "-detpixels", "32", "-pixel", "1.6",
         "-Xbeam", "20", "-Ybeam", "25", "-oversample", "1", "-exposure", "0.5"]
BEAM_CENTRE_PX = (16.125, 13.0)
REPO = Path(__file__).resolve().parents[2]


def run_series(argv: list[str], cwd: Path, monkeypatch, capsys) -> tuple[int, str, str]:
    """``nanobragg-series argv`` in this process, in ``cwd``: (status, stdout, stderr)."""
    from nanobragg.series.run import main

    monkeypatch.chdir(cwd)
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def run_nanobragg(argv: list[str], cwd: Path, monkeypatch, capsys) -> int:
    from nanobragg.cli.main import main

    monkeypatch.chdir(cwd)
    status = main(argv)
    capsys.readouterr()
    return status


def series_process(argv: list[str], cwd: Path, timeout: float = 600, **kwargs):
    """A real ``python -m nanobragg.series`` process."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    return subprocess.run([sys.executable, "-m", "nanobragg.series", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def float_frame(path: Path, shape=(32, 32)) -> np.ndarray:
    return np.fromfile(path, dtype="<f4").reshape(shape)


def tree(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` (relative name -> bytes)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
