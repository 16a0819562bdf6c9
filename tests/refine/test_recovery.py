"""Recovery: from the issue's perturbed start, every parameter ends within 3 standard errors
of the truth it was simulated with (Poisson noise, seeded)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import nanobragg
from nanobragg.refine.cli import main as refine_main

from .cases import NAMES, START, TRUTH, model_args, simulate_observed


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recovery")
    return simulate_observed(folder, seed=7)


def test_every_parameter_within_three_standard_errors(observed, tmp_path):
    start = {k: START[k] for k in ("Na", "Nb", "Nc", "scale")}
    result = nanobragg.refine([observed], model_args(START), NAMES, out=tmp_path / "fit",
                              start=start)
    assert result.converged, result.message
    assert result.warnings == []
    for name, truth in TRUTH.items():
        entry = result.parameters[name]
        assert entry["start"] == pytest.approx(START[name])
        z = (entry["value"] - truth) / entry["stderr"]
        assert abs(z) < 3.0, (name, entry, z)
    # the refined command carries the refined cell and misset
    from nanobragg.cli.args import parse_args

    crystal = parse_args(result.command).simulation.crystal
    assert crystal.cell[0] == pytest.approx(result.parameters["cell_a"]["value"], rel=1e-9)
    assert np.degrees(crystal.misset[2]) == pytest.approx(
        result.parameters["misset_z"]["value"], rel=1e-9)
    assert crystal.Na == round(result.parameters["Na"]["value"])


def test_cli_writes_the_documented_outputs(observed, tmp_path):
    out = tmp_path / "fit"
    argv = ["--image", str(observed), "--refine", "distance,beam_x,beam_y,scale", "--out",
            str(out), "--quiet", "--start", "scale=1.5", "--",
            *model_args({**TRUTH, "distance": 100.5, "beam_x": 6.45, "beam_y": 6.35})]
    assert refine_main(argv) == 0
    doc = json.loads((out / "refined.json").read_text())
    assert set(doc) == {"converged", "iterations", "loss", "parameters", "command"}
    assert doc["converged"] is True and isinstance(doc["iterations"], int)
    assert set(doc["parameters"]) == {"distance", "beam_x", "beam_y", "scale"}
    for entry in doc["parameters"].values():
        assert set(entry) == {"start", "value", "stderr"} and entry["stderr"] > 0
    # the refined command is a nanobragg command line carrying the refined values
    from nanobragg.cli.args import parse_args

    config = parse_args(doc["command"].split()).simulation
    assert config.detector.distance * 1e3 == pytest.approx(doc["parameters"]["distance"]["value"])
    assert config.detector.beam_x * 1e3 == pytest.approx(doc["parameters"]["beam_x"]["value"])
    history = (out / "history.jsonl").read_text().splitlines()
    assert len(history) == doc["iterations"]
    assert json.loads(history[-1])["loss"] == pytest.approx(doc["loss"])
    assert (out / "observed_model_residual.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "refined_image.bin").stat().st_size == 4 * 128 * 128
    cov = json.loads((out / "covariance.json").read_text())
    assert cov["labels"] == ["distance", "beam_x", "beam_y", "scale"]
    assert cov["correlation"][0][0] == pytest.approx(1.0)
