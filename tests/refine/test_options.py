"""Options of the fit: several images with shared and per-image parameters, pixel selections,
least squares on a raw float image, masks, CBF and HDF5 inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nanobragg
from nanobragg.io.raw import read_float_image
from nanobragg.io.smv import read_smv
from nanobragg.refine.cli import main as refine_main

from .cases import TRUTH, model_args, simulate_observed

NEAR = {**TRUTH, "distance": 100.6, "beam_x": 6.45, "beam_y": 6.36}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("options")
    simulate_observed(path, seed=5)
    simulate_observed(path, seed=6, name="obs2.img",
                      values={**TRUTH, "misset_x": 40.0, "misset_y": 5.0, "misset_z": 60.0})
    return path


def _within(result, name, truth, sigmas=3.0):
    entry = result.parameters[name]
    assert abs(entry["value"] - truth) < sigmas * entry["stderr"], (name, entry)


def test_joint_fit_with_per_image_orientation_and_scale(folder, tmp_path, capsys):
    second = {**NEAR, "misset_x": 40.1, "misset_y": 4.9, "misset_z": 60.1}
    first = {**NEAR, "misset_x": 10.1, "misset_y": 19.9, "misset_z": 30.1}
    out = tmp_path / "joint"
    argv = ["--image", str(folder / "obs.img"), "--image", str(folder / "obs2.img"),
            "--refine", "distance,beam_x,beam_y,misset_x,misset_y,misset_z,scale",
            "--per-image", "misset_x,misset_y,misset_z,scale", "--out", str(out), "--quiet",
            "--", *model_args(first), "--", *model_args(second)]
    assert refine_main(argv) == 0, capsys.readouterr().err
    doc = json.loads((out / "refined.json").read_text())
    assert doc["converged"]
    params = doc["parameters"]
    assert "misset_x@1" in params and "misset_x@2" in params and "distance" in params
    assert "misset_x" not in params
    truth = {"distance": 100.0, "beam_x": 6.4, "beam_y": 6.4, "misset_x@1": 10.0,
             "misset_y@1": 20.0, "misset_z@1": 30.0, "misset_x@2": 40.0, "misset_y@2": 5.0,
             "misset_z@2": 60.0, "scale@1": 1.0, "scale@2": 1.0}
    for label, value in truth.items():
        assert abs(params[label]["value"] - value) < 3 * params[label]["stderr"], label
    commands = (out / "commands.txt").read_text().splitlines()
    assert len(commands) == 2 and "-misset 40" in commands[1]
    assert (out / "observed_model_residual_2.png").is_file()
    assert (out / "refined_image_2.bin").is_file()


def test_spot_shoeboxes_use_fewer_pixels_and_agree(folder):
    names = ["distance", "beam_x", "beam_y", "scale"]
    everything = nanobragg.refine([folder / "obs.img"], model_args(NEAR), names)
    spots = nanobragg.refine([folder / "obs.img"], model_args(NEAR), names, pixels="spots")
    assert spots.converged
    for name in ("distance", "beam_x", "beam_y"):
        _within(spots, name, TRUTH[name])
        assert spots.parameters[name]["stderr"] >= everything.parameters[name]["stderr"] * 0.99


def test_random_pixels_with_adam_move_towards_the_truth(folder):
    result = nanobragg.refine([folder / "obs.img"], model_args(NEAR), ["distance"],
                              pixels="random:4000",
                              settings=nanobragg.refine.Settings(method="adam", max_iter=60,
                                                                 learning_rate=10.0))
    assert abs(result.parameters["distance"]["value"] - 100.0) < 0.4  # from 0.6 mm off
    assert result.history and all(np.isfinite(r["loss"]) for r in result.history)


def test_least_squares_on_a_raw_float_image(folder, tmp_path, capsys):
    out = tmp_path / "ls"
    argv = ["--image", str(folder / "truth.bin"), "--shape", "128", "128", "--loss",
            "gaussian", "--refine", "distance,beam_x", "--out", str(out), "--quiet", "--",
            *model_args({**TRUTH, "distance": 100.4, "beam_x": 6.43})]
    assert refine_main(argv) == 0, capsys.readouterr().err
    doc = json.loads((out / "refined.json").read_text())
    # the noiseless image is the model at the truth (float32 file): exact recovery
    assert doc["converged"] is True
    assert doc["parameters"]["distance"]["value"] == pytest.approx(100.0, abs=1e-3)
    assert doc["parameters"]["beam_x"]["value"] == pytest.approx(6.4, abs=1e-5)
    model = read_float_image(out / "refined_image.bin", (128, 128))
    truth = read_float_image(folder / "truth.bin", (128, 128))
    assert np.allclose(model, truth, rtol=1e-3, atol=1e-3)


def test_mask_leaves_pixels_out(folder, tmp_path):
    from nanobragg.io.smv import SMVHeaderValues, write_smv

    obs = read_smv(folder / "obs.img")
    mask = np.ones((128, 128), dtype=np.uint16)
    mask[:, :64] = 0
    header = SMVHeaderValues.from_header(obs.header)
    write_smv(tmp_path / "mask.img", header, mask)
    # corrupt the masked half: a fit that used it would be pulled far off
    corrupted = obs.data.astype(np.float64)
    corrupted[:, :64] = 5000
    masked = nanobragg.refine([corrupted], model_args(NEAR),
                              ["distance", "beam_x", "beam_y", "scale"], adc=40,
                              mask=tmp_path / "mask.img")
    _within(masked, "distance", 100.0)
    _within(masked, "scale", 1.0)


@pytest.mark.parametrize("kind", ["cbf", "hdf5"])
def test_cbf_and_hdf5_images(folder, tmp_path, kind):
    counts = read_smv(folder / "obs.img").data.astype(np.int32) - 40
    if kind == "cbf":
        cbfimage = pytest.importorskip("fabio.cbfimage", reason="fabio is needed for CBF")
        path = tmp_path / "obs.cbf"
        cbfimage.CbfImage(data=counts).write(str(path))
    else:
        h5py = pytest.importorskip("h5py", reason="h5py is needed for HDF5")
        path = tmp_path / "obs.h5"
        with h5py.File(path, "w") as handle:
            handle.create_dataset("entry/data/data", data=counts[None])
    from_file = nanobragg.refine([path], model_args(NEAR), ["distance"], adc=0)
    from_array = nanobragg.refine([counts.astype(float)], model_args(NEAR), ["distance"])
    assert from_file.parameters["distance"]["value"] == pytest.approx(
        from_array.parameters["distance"]["value"], rel=1e-12)


def test_prior_and_bounds(folder):
    names = ["distance", "beam_x", "beam_y", "scale"]
    tight = nanobragg.refine([folder / "obs.img"], model_args(NEAR), names,
                             priors={"distance": (100.3, 1e-4)})
    entry = tight.parameters["distance"]
    assert entry["value"] == pytest.approx(100.3, abs=5e-4)
    assert entry["stderr"] < 1e-4
    bounded = nanobragg.refine([folder / "obs.img"], model_args(NEAR), names,
                               bounds={"distance": (100.5, 103.0)})
    assert 100.5 < bounded.parameters["distance"]["value"] < 100.5 + 1e-3
    assert any("distance" in w and "bound" in w for w in bounded.warnings)


def test_help_and_progress(folder, tmp_path, capsys):
    assert refine_main(["--help"]) == 0
    text = capsys.readouterr().out
    for word in ("--image", "--refine", "--per-image", "misset_x", "F_refined.hkl"):
        assert word in text
    argv = ["--image", str(folder / "obs.img"), "--refine", "distance", "--max-iter", "2",
            "--out", str(tmp_path / "p"), "--", *model_args(TRUTH)]
    assert refine_main(argv) == 0
    err = capsys.readouterr().err
    assert "iter    1/2" in err and "loss" in err


def test_background_polynomial(folder):
    # the truth plus a tilted background 3 + 1.5 x - 0.8 y (x, y from -1 to 1 across the image)
    counts = read_smv(folder / "obs.img").data.astype(np.float64) - 40
    rng = np.random.default_rng(2)
    y, x = np.meshgrid((np.arange(128) + 0.5) / 64 - 1, (np.arange(128) + 0.5) / 64 - 1,
                       indexing="ij")
    counts = counts + rng.poisson(3 + 1.5 * x - 0.8 * y)
    result = nanobragg.refine([counts], model_args(TRUTH),
                              ["background", "background_x", "background_y", "scale"])
    assert result.converged
    for name, value in (("background", 3.0), ("background_x", 1.5), ("background_y", -0.8)):
        _within(result, name, value)
