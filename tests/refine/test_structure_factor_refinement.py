"""F refinement: five noisy images of different orientations share one F table; starting from
a uniform F, the strong reflections' |F| come back close to the truth, with honest errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nanobragg
from nanobragg.cli.main import run as run_nanobragg

COMMON = ("-cell 50 50 50 90 90 90 -N 5 -round_xtal -lambda 1.0 -detpixels 128 -pixel 0.1 "
          "-distance 100 -oversample 1").split()
MISSETS = [(10, 20, 30), (40, 5, 60), (70, 80, 15), (25, 55, 85), (5, 35, 45)]
H = 5


def _write_tables(folder: Path) -> np.ndarray:
    rng = np.random.default_rng(11)
    hkl = [(h, k, l) for h in range(-H, H + 1) for k in range(-H, H + 1) for l in range(-H, H + 1)]
    truth = rng.uniform(50, 250, len(hkl))
    (folder / "truth.hkl").write_text("".join(f"{h} {k} {l} {f:.4f}\n"
                                              for (h, k, l), f in zip(hkl, truth, strict=True)))
    (folder / "flat.hkl").write_text("".join(f"{h} {k} {l} 150\n" for h, k, l in hkl))
    return np.round(truth, 4)


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fref")
    truth = _write_tables(folder)
    images, truth_models, flat_models = [], [], []
    for i, misset in enumerate(MISSETS):
        model = [*COMMON, "-misset", *map(str, misset)]
        run_nanobragg([*model, "-hkl", "truth.hkl", "-seed", str(20 + i), "-noisefile",
                       f"obs{i}.img", "-floatfile", f"t{i}.bin", "-intfile", f"i{i}.img",
                       "-nopgm"], folder, log=lambda line: None)
        images.append(folder / f"obs{i}.img")
        truth_models.append([*model, "-hkl", "truth.hkl"])
        flat_models.append([*model, "-hkl", "flat.hkl"])
    # photons of each reflection in the true model (no iteration: the starting point)
    at_truth = nanobragg.refine(images, truth_models, ["F"], cwd=folder,
                                settings=nanobragg.refine.Settings(max_iter=0))
    fit = nanobragg.refine(images, flat_models, ["F"], cwd=folder, out=folder / "fit")
    return folder, truth, at_truth.f_photons, fit


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
