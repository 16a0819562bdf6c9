"""The installed console script: a real process, one line on errors, status 2, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(sys.executable).parent / "nanobragg-refine"


@pytest.fixture()
def command() -> list[str]:
    if SCRIPT.is_file():
        return [str(SCRIPT)]
    found = shutil.which("nanobragg-refine")
    if found is None:
        pytest.skip("nanobragg-refine is not installed in this environment (pip install -e .)")
    return [found]


def _run(command, *args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*command, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_help(command, tmp_path):
    done = _run(command, "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "--refine NAMES" in done.stdout and "misset_x" in done.stdout


def test_missing_image_is_one_line(command, tmp_path):
    done = _run(command, "--image", "nothing.img", "--refine", "distance", "--out", "o", "--",
                "-cell", "50", "-default_F", "100", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == "nanobragg-refine: error: --image nothing.img: no such file"
    assert not (tmp_path / "o").exists()


def test_missing_model_is_one_line(command, tmp_path):
    done = _run(command, "--image", "x.img", "--refine", "distance", "--out", "o", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "starting model" in lines[0]
