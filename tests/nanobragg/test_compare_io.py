"""nb-compare image readers and nanoBragg-argument helpers."""

from __future__ import annotations

import numpy as np
import pytest
from golden_cases import GOLDEN_DIR, all_cases, case

from nanobragg.compare.images import ImageError, read_image, smv_shape
from nanobragg.compare.nbargs import absolutize_inputs, args_shape, replace_flag, roi_from_args


@pytest.mark.parametrize("gc", all_cases(), ids=lambda c: c.id)
def test_args_shape_matches_every_golden_case(gc):
    assert args_shape(gc.args, cwd=GOLDEN_DIR) == gc.shape


@pytest.mark.parametrize(
    ("args", "shape"),
    [
        ([], (1024, 1024)),
        (["-detpixels", "512"], (512, 512)),
        (["-detpixels_x", "300", "-detpixels_y", "200"], (200, 300)),
        (["-detsize", "50", "-pixel", "0.1"], (500, 500)),
        (["-detsize", "10.04", "-pixel", "0.1"], (100, 100)),  # ceil(100.4 - 0.5)
        (["-detsize", "10.06", "-pixel", "0.1"], (101, 101)),
        (["-pixel", "0.2"], (512, 512)),
    ],
)
def test_args_shape_rules(args, shape):
    assert args_shape(args) == shape


def test_smv_shape_and_raw_float_from_golden():
    gc = case("rect_detpixels")
    assert smv_shape(gc.file("int")) == gc.shape
    img = read_image(gc.file("float"), gc.shape)
    np.testing.assert_array_equal(img, gc.float_image())
    smv = read_image(gc.file("int"))
    np.testing.assert_array_equal(smv, gc.smv("int")[1])
    np.testing.assert_array_equal(read_image(gc.file("int"), gc.shape), smv)
    with pytest.raises(ImageError, match="SMV shape .* differs from the expected"):
        read_image(gc.file("int"), (gc.shape[0] + 1, gc.shape[1]))


def test_raw_float_wrong_size_is_named(tmp_path):
    path = tmp_path / "img.bin"
    np.zeros(10, dtype="<f4").tofile(path)
    with pytest.raises(ImageError, match=r"img.bin has 40 bytes but shape 4x4 .* needs 64"):
        read_image(path, (4, 4))
    with pytest.raises(ImageError, match="needs a shape"):
        read_image(path)


def test_missing_and_bad_npy_are_named(tmp_path):
    with pytest.raises(ImageError, match="nope.npy does not exist"):
        read_image(tmp_path / "nope.npy")
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    with pytest.raises(ImageError, match="cannot read .npy image .*bad.npy"):
        read_image(bad)
    np.save(tmp_path / "three.npy", np.zeros((2, 2, 2)))
    with pytest.raises(ImageError, match="expected a 2-D array"):
        read_image(tmp_path / "three.npy")


def test_replace_flag_and_roi():
    args = ["-N", "5", "-floatfile", "a.bin", "-floatimage", "b.bin", "-roi", "1", "2", "3", "4"]
    assert replace_flag(args, ("-floatfile", "-floatimage"), "x.bin") == [
        "-N",
        "5",
        "-roi",
        "1",
        "2",
        "3",
        "4",
        "-floatfile",
        "x.bin",
    ]
    assert roi_from_args(args) == (1, 2, 3, 4)
    assert roi_from_args(["-N", "1"]) is None


def test_absolutize_inputs_only_touches_existing_input_files(tmp_path):
    (tmp_path / "P1.hkl").write_text("0 0 0 1\n")
    out = absolutize_inputs(["-hkl", "P1.hkl", "-mat", "missing.mat", "-N", "P1.hkl"], tmp_path)
    assert out == [
        "-hkl",
        str((tmp_path / "P1.hkl").resolve()),
        "-mat",
        "missing.mat",
        "-N",
        "P1.hkl",
    ]
