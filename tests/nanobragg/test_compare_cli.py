"""nb-compare command line: modes, outputs, exit codes (a fake nanoBragg stands in for both sides).

The live tests at the end need the C reference binary (NB_C_BIN) or a working ``python -m
nanobragg`` and are skipped with a reason otherwise.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from golden_cases import GOLDEN_DIR, all_cases

from nanobragg.compare.cli import main

# A stand-in for nanoBragg: writes -floatfile (float32) and -intfile (SMV header + uint16) into
# cwd. Two Gaussian spots; FAKE_SCALE scales the image, FAKE_SHIFT moves spot 1 along fast,
# FAKE_FAIL makes it exit 9 with a message on stderr, FAKE_NAN puts a NaN at (2, 3); with
# -trace_pixel it prints two trace lines (FAKE_TRACE_PREFIX, FAKE_POLAR).
FAKE = r"""
import os, sys
import numpy as np
args = sys.argv[1:]
def opt(name, default):
    return args[args.index(name) + 1] if name in args else default
if os.environ.get("FAKE_FAIL"):
    sys.stderr.write("fake: cannot open data/missing.hkl\n")
    sys.exit(9)
n = int(opt("-detpixels", "64"))
ss, ff = np.mgrid[0:n, 0:n]
shift = float(os.environ.get("FAKE_SHIFT", "0"))
img = 1000 * np.exp(-((ss - 20) ** 2 + (ff - 20 - shift) ** 2) / 8.0)
img += 400 * np.exp(-((ss - 45) ** 2 + (ff - 40) ** 2) / 8.0)
img *= float(os.environ.get("FAKE_SCALE", "1"))
if os.environ.get("FAKE_NAN"):
    img[2, 3] = np.nan
img.astype("<f4").tofile(opt("-floatfile", "floatimage.bin"))
head = "{\nHEADER_BYTES=512;\nSIZE1=%d;\nSIZE2=%d;\nBYTE_ORDER=little_endian;\n}\f" % (n, n)
with open(opt("-intfile", "intimage.img"), "wb") as fh:
    fh.write(head.encode().ljust(512, b" "))
    fh.write(np.zeros((n, n), "<u2").tobytes())
print("fake nanoBragg banner")
if "-trace_pixel" in args:  # FAKE_TRACE_PREFIX: TRACE_C (default) or TRACE_PY
    pre = os.environ.get("FAKE_TRACE_PREFIX", "TRACE_C")
    i = args.index("-trace_pixel")
    print("TRACE_CONFIG: tracing pixel (spixel=%s, fpixel=%s)" % (args[i + 1], args[i + 2]))
    print(pre + ": F_cell 300")
    print(pre + ": polar " + os.environ.get("FAKE_POLAR", "0.95"))
"""


@pytest.fixture()
def fake(tmp_path) -> str:
    path = tmp_path / "fake_nanobragg.py"
    path.write_text(FAKE)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"


@pytest.fixture()
def fake_c(tmp_path) -> Path:
    """Executable wrapper, as --c-bin wants a file."""
    (tmp_path / "fake_nanobragg.py").write_text(FAKE)
    path = tmp_path / "fake_c.sh"
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{tmp_path / "fake_nanobragg.py"}" "$@"\n')
    path.chmod(0o755)
    return path


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def load(outdir: Path) -> dict:
    return json.loads((outdir / "metrics.json").read_text())


def test_live_mode_pass_writes_all_outputs(tmp_path, fake, fake_c, capsys):
    out = tmp_path / "out"
    code, stdout, _ = run(
        ["--c-bin", fake_c, "--py-cmd", fake, "--outdir", out, "--", "-detpixels", "64", "-N", "5"],
        capsys,
    )
    assert code == 0, stdout
    assert "PASS" in stdout
    for name in ("metrics.json", "README.md", "c.png", "py.png", "diff.png", "c_stdout.log"):
        assert (out / name).is_file(), name
    m = load(out)
    assert m["schema"] == "nb-compare/1" and m["mode"] == "run"
    assert m["verdict"] == "pass" and m["exit_code"] == 0
    assert m["correlation"] == 1.0 and m["shape"] == [64, 64]
    assert m["peaks"]["matched"] == 2
    assert m["c"]["command"][0] == str(fake_c.resolve())
    assert m["c"]["command"][1:5] == ["-detpixels", "64", "-N", "5"]
    assert "-floatfile" in m["py"]["command"]
    assert m["c"]["env"]["OMP_NUM_THREADS"] == os.environ.get("OMP_NUM_THREADS", "1")
    assert m["c"]["version"]["banner"] == "fake nanoBragg banner"
    assert m["py"]["wall_time_s"] > 0 and m["wall_time_c_s"] > 0
    assert "**Verdict: PASS**" in (out / "README.md").read_text()


def test_live_mode_below_threshold_is_exit_3(tmp_path, fake, fake_c, capsys):
    py = f"env FAKE_SHIFT=2 {fake}"  # only the python side's spot moves by 2 px
    code, stdout, _ = run(
        [
            "--c-bin",
            fake_c,
            "--py-cmd",
            py,
            "--no-plots",
            "--outdir",
            tmp_path / "o",
            "--",
            "-detpixels",
            "64",
        ],
        capsys,
    )
    assert code == 3
    m = load(tmp_path / "o")
    assert m["verdict"] == "fail"
    assert m["peaks"]["max_distance_px"] == pytest.approx(2.0, abs=1e-6)
    assert not next(c for c in m["checks"] if c["name"] == "peak_max_distance_px")["passed"]


def test_dtype_is_passed_to_python_side(tmp_path, fake, fake_c, capsys):
    code, _, _ = run(
        [
            "--c-bin",
            fake_c,
            "--py-cmd",
            fake,
            "--dtype",
            "float32",
            "--no-plots",
            "--outdir",
            tmp_path / "o",
            "--",
            "-detpixels",
            "32",
        ],
        capsys,
    )
    assert code == 0
    assert load(tmp_path / "o")["py"]["env"]["NB_PYTORCH_DTYPE"] == "float32"


def test_trace_pixel_writes_trace_diff_and_scaling_chain(tmp_path, fake, fake_c, capsys):
    py = f"env FAKE_TRACE_PREFIX=TRACE_PY FAKE_POLAR=0.96 {fake}"
    code, _, err = run(
        [
            "--c-bin",
            fake_c,
            "--py-cmd",
            py,
            "--no-plots",
            "--trace-pixel",
            "20",
            "20",
            "--outdir",
            tmp_path / "o",
            "--",
            "-detpixels",
            "32",
        ],
        capsys,
    )
    assert code == 0  # the images agree; the trace result does not change the exit status
    assert "FIRST DIVERGENCE: polar" in err
    m = load(tmp_path / "o")
    assert m["trace"]["n_compared"] == 2 and m["trace"]["first_divergence"] == "polar"
    assert m["trace"]["first_differing_factor"] == "polarization"
    assert "-trace_pixel" in m["c"]["command"]
    for name in (
        "c_trace.log",
        "py_trace.log",
        "trace_diff.md",
        "scaling_chain.md",
        "scaling_chain.json",
    ):
        assert (tmp_path / "o" / name).is_file(), name
    chain = json.loads((tmp_path / "o" / "scaling_chain.json").read_text())
    assert chain["pixel_slow_fast"] == [20, 20]


def test_missing_c_binary_is_exit_5(tmp_path, fake, capsys, monkeypatch):
    monkeypatch.delenv("NB_C_BIN", raising=False)
    code, _, err = run(["--py-cmd", fake, "--outdir", tmp_path / "o", "--", "-N", "1"], capsys)
    assert code == 5
    assert "set NB_C_BIN or pass --c-bin" in err
    assert load(tmp_path / "o")["verdict"] == "error"
    code, _, err = run(
        ["--c-bin", tmp_path / "nope", "--outdir", tmp_path / "o", "--", "-N", "1"], capsys
    )
    assert code == 5 and "nope is not an executable file" in err


def test_failing_side_shows_its_stderr(tmp_path, fake, fake_c, capsys):
    code, _, err = run(
        [
            "--c-bin",
            fake_c,
            "--py-cmd",
            f"env FAKE_FAIL=1 {fake}",
            "--outdir",
            tmp_path / "o",
            "--",
            "-N",
            "1",
        ],
        capsys,
    )
    assert code == 5
    assert "py side failed: exit status 9" in err
    assert "fake: cannot open data/missing.hkl" in err
    m = load(tmp_path / "o")
    assert "missing.hkl" in m["py_failure"]["stderr_tail"]


def test_nan_from_a_side_is_named(tmp_path, fake, fake_c, capsys):
    code, _, err = run(
        [
            "--c-bin",
            fake_c,
            "--py-cmd",
            f"env FAKE_NAN=1 {fake}",
            "--no-plots",
            "--outdir",
            tmp_path / "o",
            "--",
            "-detpixels",
            "16",
        ],
        capsys,
    )
    assert code == 3
    assert "py image has 1 non-finite pixel(s) (1 NaN, 0 inf); first at slow=2 fast=3" in err


def test_shape_mismatch_exit_4_and_resample(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((10, 12)))
    np.save(tmp_path / "b.npy", np.ones((10, 11)))
    code, _, err = run(
        [
            "--images",
            tmp_path / "a.npy",
            tmp_path / "b.npy",
            "--no-plots",
            "--outdir",
            tmp_path / "o",
        ],
        capsys,
    )
    assert code == 4 and "shape mismatch: C [10, 12] vs py [10, 11]" in err
    assert load(tmp_path / "o")["verdict"] == "shape_mismatch"
    code, _, err = run(
        [
            "--images",
            tmp_path / "a.npy",
            tmp_path / "b.npy",
            "--resample",
            "--no-plots",
            "--outdir",
            tmp_path / "o2",
        ],
        capsys,
    )
    assert code == 0 and "resampled (crop)" in err
    assert load(tmp_path / "o2")["resample"]["shape_compared"] == [10, 11]


def test_images_mode_raw_floats_with_shape_from_args(tmp_path, capsys):
    rng = np.random.default_rng(0)
    a = rng.random((20, 30)).astype("<f4")
    a.tofile(tmp_path / "a.bin")
    (a * 1.5).astype("<f4").tofile(tmp_path / "b.bin")
    code, _, _ = run(
        [
            "--images",
            tmp_path / "a.bin",
            tmp_path / "b.bin",
            "--no-plots",
            "--outdir",
            tmp_path / "o",
            "--",
            "-detpixels_f",
            "30",
            "-detpixels_s",
            "20",
        ],
        capsys,
    )
    m = load(tmp_path / "o")
    assert code == 3
    assert m["sum_ratio"] == pytest.approx(1.5, rel=1e-6)
    assert m["correlation"] == pytest.approx(1.0, abs=1e-9)
    code, _, err = run(
        [
            "--images",
            tmp_path / "a.bin",
            tmp_path / "b.bin",
            "--outdir",
            tmp_path / "o",
            "--shape",
            "20",
            "20",
        ],
        capsys,
    )
    assert code == 5 and "a.bin has 2400 bytes but shape 20x20" in err


def test_roi_restricts_the_comparison(tmp_path, capsys):
    a = np.zeros((20, 20))
    b = a.copy()
    b[15, 15] = 100.0  # differs only outside the ROI
    a[5, 6] = b[5, 6] = 10.0
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    argv = ["--images", tmp_path / "a.npy", tmp_path / "b.npy", "--no-plots"]
    assert run([*argv, "--outdir", tmp_path / "o1"], capsys)[0] == 3
    code, _, _ = run([*argv, "--outdir", tmp_path / "o2", "--roi", "0", "9", "0", "9"], capsys)
    assert code == 0
    assert load(tmp_path / "o2")["shape"] == [10, 10]
    code, _, err = run([*argv, "--outdir", tmp_path / "o3", "--roi", "0", "30", "0", "9"], capsys)
    assert code == 2 and "lies outside the image" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--outdir", "X", "--threshold", "abc"],
        ["--images", "a", "b", "--golden", "g"],
        ["--outdir", "X"],
        ["--golden", "/nonexistent_case"],
    ],
)
def test_usage_errors_exit_2(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    assert run(argv, capsys)[0] == 2


def test_golden_mode_with_stand_in_python_side(tmp_path, capsys):
    """Golden mode runs the python side in a scratch dir with the data link and compares."""
    script = tmp_path / "copy_golden.py"
    # Stand-in: copies the golden memo_512 image and checks that data/ is linked in its cwd.
    script.write_text(
        "import os, shutil, sys\n"
        "a = sys.argv[1:]\n"
        "assert os.path.isdir('data/'), 'no data link'\n"
        f"g = {str(GOLDEN_DIR / 'memo_512')!r}\n"
        "shutil.copy(os.path.join(g, 'float.bin'), a[a.index('-floatfile') + 1])\n"
        "shutil.copy(os.path.join(g, 'int.img'), a[a.index('-intfile') + 1])\n"
    )
    code, stdout, err = run(
        [
            "--golden",
            GOLDEN_DIR / "memo_512",
            "--py-cmd",
            f"{sys.executable} {script}",
            "--no-plots",
            "--outdir",
            tmp_path / "o",
        ],
        capsys,
    )
    assert code == 0, err
    m = load(tmp_path / "o")
    assert m["mode"] == "golden" and m["golden"]["case"] == "memo_512"
    assert m["correlation"] == 1.0 and m["wall_time_c_s"] == 0.088


# ---------------------------------------------------------------------------------------------
# Live checks

C_BIN = os.environ.get("NB_C_BIN")
needs_c = pytest.mark.skipif(not C_BIN, reason="NB_C_BIN not set: no C reference binary")
MEMO = (
    "-cell 100 100 100 90 90 90 -default_F 300 -N 10 -lambda 1.0 -distance 100 "
    "-detpixels 512 -pixel 0.1 -oversample 1 -phisteps 1 -mosaic_dom 1"
).split()


@pytest.mark.live_c
@needs_c
@pytest.mark.parametrize("case_id", ["memo_512", "pilatus_roi", "mask"])
def test_c_binary_against_golden(tmp_path, capsys, monkeypatch, case_id):
    """The golden mode itself, with the C binary standing in for nanobragg: exact agreement."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    code, _, err = run(
        [
            "--golden",
            GOLDEN_DIR / case_id,
            "--py-cmd",
            C_BIN,
            "--no-plots",
            "--outdir",
            tmp_path / "o",
        ],
        capsys,
    )
    assert code == 0, err
    m = load(tmp_path / "o")
    assert m["max_abs_diff"] == 0.0 and m["correlation"] == 1.0


@pytest.mark.live_c
@needs_c
def test_memo_command_c_against_c(tmp_path, capsys):
    code, _, err = run(
        [
            "--c-bin",
            C_BIN,
            "--py-cmd",
            C_BIN,
            "--resample",
            "--outdir",
            tmp_path / "o",
            "--threshold",
            "0.999",
            "--",
            *MEMO,
        ],
        capsys,
    )
    assert code == 0, err
    m = load(tmp_path / "o")
    assert m["max_c"] == pytest.approx(69304.71875)
    assert m["peaks"]["matched"] == 50


@pytest.mark.live_c
@needs_c
def test_memo_command_verbatim(tmp_path, capsys, monkeypatch):
    """The memo's acceptance command: C binary vs nanobragg."""
    monkeypatch.chdir(tmp_path)
    code, _, err = run(
        ["--resample", "--outdir", "OUT", "--threshold", "0.999", "--", *MEMO], capsys
    )
    m = load(tmp_path / "OUT")
    assert code == 0, err
    assert m["correlation"] >= 0.999 and m["rmse_rel_max"] < 1e-3
    assert m["peaks"]["max_distance_px"] <= 1.0


def test_golden_mode_nanobragg_one_case(tmp_path, capsys):
    """nanobragg itself in golden mode, on one small case (all cases: the heavy test below)."""
    code, _, err = run(
        ["--golden", GOLDEN_DIR / "mosflm_default", "--no-plots", "--outdir", tmp_path / "o"],
        capsys,
    )
    assert code == 0, err
    assert load(tmp_path / "o")["correlation"] >= 0.999


@pytest.mark.heavy
@pytest.mark.parametrize("gc", all_cases(), ids=lambda c: c.id)
def test_golden_mode_nanobragg_every_case(tmp_path, capsys, gc):
    code, _, err = run(["--golden", gc.path, "--no-plots", "--outdir", tmp_path / "o"], capsys)
    assert code == 0, err


def test_golden_mode_finds_inputs_in_the_working_directory(tmp_path, capsys, monkeypatch):
    """A case copied away from ``data/`` runs when the working directory holds ``data/``, as in
    the live mode (its arguments name ``data/A.mat`` and ``data/small_P1.hkl``)."""
    import shutil

    case_copy = tmp_path / "cases" / "amat_hkl_nearest"
    shutil.copytree(GOLDEN_DIR / "amat_hkl_nearest", case_copy)
    work = tmp_path / "work"
    work.mkdir()
    (work / "data").symlink_to(GOLDEN_DIR / "data", target_is_directory=True)
    monkeypatch.chdir(work)
    code, _, err = run(["--golden", str(case_copy), "--no-plots", "--outdir", "o"], capsys)
    assert code == 0, err
    assert load(work / "o")["correlation"] >= 0.999
