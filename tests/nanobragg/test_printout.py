"""-printout / -printout_pixel: C's per-pixel debug block."""

from __future__ import annotations

import os
import subprocess

import pytest
from golden_cases import DATA_DIR, case

from nanobragg.cli.main import main

ARGS = ["-cell", "70", "80", "90", "90", "90", "90", "-misset", "5", "10", "15", "-default_F",
        "100", "-N", "5", "-lambda", "1.0", "-distance", "80", "-detpixels", "128", "-pixel",
        "0.1", "-oversample", "2", "-phi", "0", "-osc", "1", "-phisteps", "3", "-nonoise",
        "-nopgm", "-seed", "1", "-noprogress"]


def _block(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if " : stol = " in line)
    return lines[start : start + 14]


def test_printout_pixel_block_agrees_with_the_trace(tmp_path, monkeypatch, capsys):
    """Golden mosflm_default pixel (s=106, f=63): the printout's values are the trace's."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").symlink_to(DATA_DIR, target_is_directory=True)
    gc = case("mosflm_default")
    assert main([*gc.args, "-dtype", "float64", "-printout_pixel", "63", "106"]) == 0
    block = _block(capsys.readouterr().out)
    trace = gc.trace_values()
    assert block[0].startswith("  63  106 : stol = ")
    hkl = [float(v) for v in block[2].split()[1:4]]
    assert hkl == pytest.approx(trace["hkl_frac"], abs=5e-7)
    assert float(block[8].split()[1]) == pytest.approx(trace["floatimage_accumulated"][0], 1e-6)
    assert float(block[5].split()[1]) == pytest.approx(trace["polar"][0], 1e-9)
    assert [line[:3] for line in block[-3:]] == ["X: ", "Y: ", "Z: "]


def test_printout_without_pixel_covers_every_rendered_pixel(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["-cell", "70", "80", "90", "90", "90", "90", "-default_F", "100", "-detpixels", "4",
            "-roi", "1", "2", "0", "3", "-printout", "-nonoise", "-nopgm", "-seed", "1"]
    assert main(argv) == 0
    out = capsys.readouterr()
    assert sum(" : stol = " in line for line in out.out.splitlines()) == 2 * 4
    assert out.err == ""  # -printout switches the progress meter off, as in C


@pytest.mark.live_c
def test_printout_pixel_is_byte_identical_to_c(tmp_path, monkeypatch, capsys):
    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        pytest.skip("NB_C_BIN is not set: no C nanoBragg binary to compare -printout with")
    argv = ARGS + ["-printout_pixel", "63", "106"]
    c_run = subprocess.run([c_bin, *argv], cwd=tmp_path, capture_output=True, text=True,
                           check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    monkeypatch.chdir(tmp_path)
    assert main([*argv, "-dtype", "float64"]) == 0
    assert _block(capsys.readouterr().out) == _block(c_run.stdout)
