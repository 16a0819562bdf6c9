"""F refinement: five noisy images of different orientations share one F table; starting from
a uniform F, the strong reflections' |F| come back close to the truth, with honest errors."""

from __future__ import annotations

import numpy as np
import pytest

from .cases import structure_factor_experiment


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fref")
    truth, photons, fit = structure_factor_experiment(folder)
    return folder, truth, photons, fit


def test_strong_reflections_recovered(experiment):
    folder, truth, photons, fit = experiment
    assert fit.converged, fit.message
    strong = photons >= 100
    assert strong.sum() >= 50
    relative = np.abs(fit.f_values[strong] - truth[strong]) / truth[strong]
    assert np.median(relative) < 0.02
    # at 100 photons the Poisson limit on |F| is 5 % (one standard error): every strong
    # reflection is within 5 % or within 3 of its standard errors
    z = (fit.f_values[strong] - truth[strong]) / fit.f_stderr[strong]
    assert np.all((relative < 0.05) | (np.abs(z) < 3))
    assert 0.7 < np.std(z) < 1.4
    assert np.all(relative[photons[strong] >= 1000] < 0.05)


def test_f_outputs(experiment):
    folder, truth, _photons, fit = experiment
    from nanobragg.structure_factors import read_hkl

    refined = read_hkl(folder / "fit" / "F_refined.hkl")
    assert len(refined) == len(truth)
    assert np.allclose(refined.amplitudes, fit.f_values, rtol=1e-9)
    entry = fit.parameters["F"]
    assert entry["file"] == "F_refined.hkl" and entry["reflections"] == len(truth)
    assert entry["start"] == pytest.approx(150.0)
