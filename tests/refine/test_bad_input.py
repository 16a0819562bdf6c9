"""Bad input ends in one line on stderr (status 2) or a warning in refined.json, never a
traceback."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nanobragg.io.raw import write_float_image
from nanobragg.io.smv import read_smv
from nanobragg.refine.cli import main as refine_main

from .cases import TRUTH, model_args, simulate_observed


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    return simulate_observed(tmp_path_factory.mktemp("bad"), seed=3)


def _run(capsys, argv):
    status = refine_main(argv)
    err = capsys.readouterr().err
    return status, err


def _one_line_error(err: str, *words: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nanobragg-refine: error: ")
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0]


def test_unknown_parameter_name(observed, tmp_path, capsys):
    status, err = _run(capsys, ["--image", str(observed), "--refine", "distance,cel_a",
                                "--out", str(tmp_path / "o"), "--", *model_args(TRUTH)])
    assert status == 2
    _one_line_error(err, "cel_a", "--refine")
    assert not (tmp_path / "o").exists()


def test_image_shape_differs_from_detector(tmp_path, capsys):
    raw = tmp_path / "small.bin"
    write_float_image(raw, np.zeros((64, 64), dtype=np.float32))
    status, err = _run(capsys, ["--image", str(raw), "--shape", "64", "64", "--refine",
                                "distance", "--out", str(tmp_path / "o"), "--",
                                *model_args(TRUTH)])
    assert status == 2
    _one_line_error(err, "64x64", "128x128")


def test_raw_image_without_shape(tmp_path, capsys):
    raw = tmp_path / "img.bin"
    write_float_image(raw, np.zeros((128, 128), dtype=np.float32))
    status, err = _run(capsys, ["--image", str(raw), "--refine", "distance", "--out",
                                str(tmp_path / "o"), "--", *model_args(TRUTH)])
    assert status == 2
    _one_line_error(err, "--shape")


def test_bad_model_argument(observed, tmp_path, capsys):
    status, err = _run(capsys, ["--image", str(observed), "--refine", "distance", "--out",
                                str(tmp_path / "o"), "--", *model_args(TRUTH), "-distance", "abc"])
    assert status == 2
    _one_line_error(err, "-distance", "abc")


def test_n_of_the_square_lattice_is_refused(observed, tmp_path, capsys):
    args = [a for a in model_args(TRUTH) if a != "-round_xtal"]
    status, err = _run(capsys, ["--image", str(observed), "--refine", "Na", "--out",
                                str(tmp_path / "o"), "--", *args])
    assert status == 2
    _one_line_error(err, "Na", "-round_xtal")


def test_zero_gradient_parameter_is_a_warning(observed, tmp_path, capsys):
    # the only reflection of the table lies far off this detector and default_F is 0, so the
    # Bragg signal is 0 on every pixel: only the background explains the image and the
    # distance has no effect on any pixel
    (tmp_path / "one.hkl").write_text("20 20 20 300\n")
    out = tmp_path / "o"
    args = [a for a in model_args(TRUTH)]
    args[args.index("-default_F") + 1] = "0"
    status, err = _run(capsys, ["--image", str(observed), "--refine", "distance,background",
                                "--out", str(out), "--quiet", "--", *args,
                                "-hkl", str(tmp_path / "one.hkl")])
    assert status == 0, err
    assert "zero gradient" in err
    doc = json.loads((out / "refined.json").read_text())
    assert any("distance" in w and "zero gradient" in w for w in doc["warnings"])
    assert doc["parameters"]["distance"]["stderr"] is None
    assert doc["parameters"]["distance"]["value"] == doc["parameters"]["distance"]["start"]
    # a constant background's maximum likelihood is the mean count per pixel
    counts = read_smv(observed).data.astype(float) - 40
    assert doc["parameters"]["background"]["value"] == pytest.approx(counts.mean(), rel=1e-6)


def test_diverging_fit_is_a_warning(observed, tmp_path, capsys):
    out = tmp_path / "o"
    status, err = _run(capsys, ["--image", str(observed), "--refine", "distance,scale",
                                "--method", "adam", "--learning-rate", "1e6", "--max-iter",
                                "5", "--out", str(out), "--quiet", "--", *model_args(TRUTH)])
    assert status == 0, err
    assert "Traceback" not in err
    doc = json.loads((out / "refined.json").read_text())
    assert doc["converged"] is False
    assert any("diverged" in w for w in doc["warnings"])
    assert np.isfinite(doc["parameters"]["distance"]["value"])


def test_per_image_structure_factors_refused(observed, tmp_path, capsys):
    status, err = _run(capsys, ["--image", str(observed), "--refine", "F", "--per-image", "F",
                                "--out", str(tmp_path / "o"), "--", *model_args(TRUTH)])
    assert status == 2
    _one_line_error(err, "--per-image", "F")


def test_f_without_a_table(observed, tmp_path, capsys):
    status, err = _run(capsys, ["--image", str(observed), "--refine", "F", "--out",
                                str(tmp_path / "o"), "--", *model_args(TRUTH)])
    assert status == 2
    _one_line_error(err, "-hkl")


@pytest.mark.parametrize(("extra", "words"), [
    (["-lambda", "0"], ["-lambda must be positive, got 0 A"]),
    (["-flux", "1e12", "-beamsize", "0"], ["-flux needs a non-zero -beamsize"]),
    (["-default_F", "0"], ["no structure factors: give -hkl FILE or -default_F F"]),
])
def test_the_simulators_refusals_in_the_flags_words(observed, tmp_path, monkeypatch, capsys,
                                                     extra, words):
    # the library refuses these configs (nanobragg.validation); refine names the flags as
    # nanobragg does
    monkeypatch.chdir(tmp_path)  # no Fdump.bin cache here
    status, err = _run(capsys, ["--image", str(observed), "--refine", "distance", "--out",
                                str(tmp_path / "o"), "--", *model_args(TRUTH), *extra])
    assert status == 2
    _one_line_error(err, *words)
    assert not (tmp_path / "o").exists()
