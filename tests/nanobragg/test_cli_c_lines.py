"""stdout lines C prints that no golden case covers: the interpolation-fallback warning and
``reading FILE`` for an amorphous ``-stol`` table.

The expected lines were taken from the C program's stdout for these command lines (upstream
nanoBragg, OMP_NUM_THREADS=1); with ``NB_C_BIN`` the whole stdout is compared live.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from golden_cases import DATA_DIR

from nanobragg.cli.main import main

FALLBACK = ["-cell", "20", "20", "20", "90", "90", "90", "-hkl", "data/medium_P1.hkl", "-N", "2",
            "-lambda", "1", "-distance", "50", "-detpixels", "64", "-pixel", "1.5",
            "-oversample", "1", "-nonoise", "-nopgm", "-noprogress", "-seed", "1"]
STOL = ["-cell", "20", "20", "20", "90", "90", "90", "-default_F", "1", "-N", "2", "-detpixels",
        "8", "-nonoise", "-nopgm", "-noprogress", "-stol", "x.stol", "-seed", "1"]


def _ours(args: list[str], cwd, monkeypatch, capsys) -> list[str]:
    monkeypatch.chdir(cwd)
    assert main(["-dtype", "float64", *args]) == 0
    return capsys.readouterr().out.splitlines()


def _prepare(tmp_path):
    (tmp_path / "data").symlink_to(DATA_DIR, target_is_directory=True)
    (tmp_path / "x.stol").write_text("0.1 2\n0.2 3\n")
    return tmp_path


def test_interpolation_fallback_warning_is_printed_where_c_prints_it(tmp_path, monkeypatch,
                                                                     capsys):
    lines = _ours(FALLBACK, _prepare(tmp_path), monkeypatch, capsys)
    at = lines.index("  1x1 pixel oversample steps")
    assert lines[at + 1:at + 4] == [
        "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: "
        "-8.25813,11.4483,-11.4483,-8,11,-11 ",
        "WARNING: further warnings will not be printed! ",
        "solid angle subtended by detector = 1.99949 steradian ( 15.9114% sphere)",
    ]


def test_stol_file_is_announced_as_c_does(tmp_path, monkeypatch, capsys):
    lines = _ours(STOL, _prepare(tmp_path), monkeypatch, capsys)
    at = lines.index("reading x.stol")
    assert lines[at - 1].startswith("approximate MW = ") and lines[at + 1] == "thick0 = 0 um"


@pytest.mark.parametrize("args", [FALLBACK, STOL], ids=["fallback", "stol"])
def test_live_stdout_equals_c(args, tmp_path, monkeypatch, capsys):
    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        pytest.skip("NB_C_BIN is not set: no C nanoBragg binary for the live check")
    (tmp_path / "c").mkdir()
    c_dir = _prepare(tmp_path / "c")
    done = subprocess.run([c_bin, *args], cwd=c_dir, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120, check=True)
    py_dir = tmp_path / "py"
    py_dir.mkdir()
    assert _ours(args, _prepare(py_dir), monkeypatch, capsys) == done.stdout.splitlines()
