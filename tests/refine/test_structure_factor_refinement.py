"""F refinement: five noisy images of different orientations share one F table; starting from
a uniform F, the strong reflections' |F| come back close to the truth, with honest errors."""

from __future__ import annotations

import numpy as np
import pytest

from .cases import reflection_counts, structure_factor_experiment


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


def test_errors_are_each_reflections_counting_noise(experiment):
    """With nearest lookup every pixel's model is (F/F_true)² times its true intensity, so the
    Poisson likelihood's optimum is exactly F = F_true·√(observed/expected photons) of each
    reflection and its Fisher error F/(2√observed): the fit must reach that limit, so what is
    left of its error is the reflection's own counting noise (docs/refinement.md)."""
    folder, truth, photons, fit = experiment
    expected, observed = reflection_counts(folder, truth)
    lit = expected >= 1
    assert np.allclose(photons[lit], expected[lit], rtol=1e-5)
    strong = expected >= 100
    limit = truth[strong] * np.sqrt(observed[strong] / expected[strong])
    assert np.allclose(fit.f_values[strong], limit, rtol=1e-4)
    poisson = fit.f_values[strong] / (2.0 * np.sqrt(observed[strong]))
    assert np.allclose(fit.f_stderr[strong], poisson, rtol=1e-3)


def test_f_outputs(experiment):
    folder, truth, _photons, fit = experiment
    from nanobragg.structure_factors import read_hkl

    refined = read_hkl(folder / "fit" / "F_refined.hkl")
    assert len(refined) == len(truth)
    assert np.allclose(refined.amplitudes, fit.f_values, rtol=1e-9)
    entry = fit.parameters["F"]
    assert entry["file"] == "F_refined.hkl" and entry["reflections"] == len(truth)
    assert entry["start"] == pytest.approx(150.0)
