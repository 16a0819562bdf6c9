"""The recovery case of the refinement tests and benchmarks: a 128x128 detector, a cubic
50 A cell of 5x5x5 round cells; the truth is rendered with Poisson noise (-noisefile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nanobragg.cli.main import run as run_nanobragg

COMMON = ("-default_F 300 -lambda 1.0 -detpixels 128 -pixel 0.1 -mosaic_dom 5 -oversample 1 "
          "-round_xtal").split()
TRUTH = {"distance": 100.0, "beam_x": 6.4, "beam_y": 6.4, "misset_x": 10.0, "misset_y": 20.0,
         "misset_z": 30.0, "cell_a": 50.0, "Na": 5.0, "Nb": 5.0, "Nc": 5.0, "mosaic": 0.5,
         "scale": 1.0}
#: the issue's perturbation: distance +2 mm, beam centre +3 pixels, misset +0.3 deg on each
#: axis, cell a +0.5 %, N -30 %, mosaic spread x2, scale x1.5
START = {"distance": 102.0, "beam_x": 6.7, "beam_y": 6.7, "misset_x": 10.3, "misset_y": 20.3,
         "misset_z": 30.3, "cell_a": 50.25, "Na": 3.5, "Nb": 3.5, "Nc": 3.5, "mosaic": 1.0,
         "scale": 1.5}
NAMES = list(TRUTH)


def model_args(values: dict[str, float]) -> list[str]:
    """nanobragg arguments of the model with these values (N as the nearest whole number;
    refinements pass the fractional start through ``start``)."""
    v = values
    return ["-cell", str(v["cell_a"]), "50", "50", "90", "90", "90",
            "-N", str(round(v["Na"])), "-distance", str(v["distance"]),
            "-Xbeam", str(v["beam_x"]), "-Ybeam", str(v["beam_y"]),
            "-misset", str(v["misset_x"]), str(v["misset_y"]), str(v["misset_z"]),
            "-mosaic", str(v["mosaic"]), *COMMON]


def simulate_observed(folder: Path, seed: int, name: str = "obs.img",
                      values: dict[str, float] | None = None) -> Path:
    """Render the truth with Poisson noise into ``folder/name`` (SMV, ADC offset 40); the
    noiseless float image goes to ``truth.bin`` (``truth_<stem>.bin`` for other names)."""
    floatfile = "truth.bin" if name == "obs.img" else f"truth_{Path(name).stem}.bin"
    argv = [*model_args(values or TRUTH), "-seed", str(seed), "-noisefile", name,
            "-floatfile", floatfile, "-intfile", "truth_int.img", "-nopgm"]
    run_nanobragg(argv, folder, log=lambda line: None)
    return folder / name


F_COMMON = ("-cell 50 50 50 90 90 90 -N 5 -round_xtal -lambda 1.0 -detpixels 128 -pixel 0.1 "
            "-distance 100 -oversample 1").split()
F_MISSETS = [(10, 20, 30), (40, 5, 60), (70, 80, 15), (25, 55, 85), (5, 35, 45)]
F_RANGE = 5
F_FIRST_SEED = 20
#: reflection r (0-based, in truth.hkl's order) of tagged.hkl has |F|² larger by 1 + (r+1) TAG
F_TAG = 1e-4


def _write_tables(folder: Path) -> np.ndarray:
    """truth.hkl (random F from 50 to 250 for -5..5 on each index) and flat.hkl (F = 150)."""
    rng = np.random.default_rng(11)
    span = range(-F_RANGE, F_RANGE + 1)
    hkl = [(h, k, l) for h in span for k in span for l in span]
    truth = rng.uniform(50, 250, len(hkl))
    (folder / "truth.hkl").write_text("".join(f"{h} {k} {l} {f:.4f}\n"
                                              for (h, k, l), f in zip(hkl, truth, strict=True)))
    (folder / "flat.hkl").write_text("".join(f"{h} {k} {l} 150\n" for h, k, l in hkl))
    return np.round(truth, 4)


def structure_factor_experiment(folder: Path, first_seed: int = F_FIRST_SEED):
    """Five noisy images of different orientations from truth.hkl; F refined from flat.hkl.
    Image i has the noise seed ``first_seed + i``.

    Returns (true F, photons of each reflection in the true model, the fit's result)."""
    import nanobragg

    truth = _write_tables(folder)
    images, truth_models, flat_models = [], [], []
    for i, misset in enumerate(F_MISSETS):
        model = [*F_COMMON, "-misset", *map(str, misset)]
        run_nanobragg([*model, "-hkl", "truth.hkl", "-seed", str(first_seed + i), "-noisefile",
                       f"obs{i}.img", "-floatfile", f"t{i}.bin", "-intfile", f"i{i}.img",
                       "-nopgm"], folder, log=lambda line: None)
        images.append(folder / f"obs{i}.img")
        truth_models.append([*model, "-hkl", "truth.hkl"])
        flat_models.append([*model, "-hkl", "flat.hkl"])
    # photons of each reflection in the true model (no iteration: the starting point)
    at_truth = nanobragg.refine(images, truth_models, ["F"], cwd=folder,
                                settings=nanobragg.refine.Settings(max_iter=0))
    fit = nanobragg.refine(images, flat_models, ["F"], cwd=folder, out=folder / "fit")
    return truth, at_truth.f_photons, fit


def reflection_counts(folder: Path, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(expected, observed) photons of each reflection of truth.hkl, summed over the five
    images of :func:`structure_factor_experiment` (run first, in ``folder``).

    Found without the refinement code: each image is rendered again from tagged.hkl, whose
    reflection r has |F|² multiplied by 1 + (r+1)·F_TAG; with nearest-neighbour lookup and one
    sample per pixel every pixel's intensity is F² of one reflection times a lattice factor,
    so the ratio of the two renderings names the reflection the pixel belongs to. Expected
    photons sum the noiseless image (``t<i>.bin``), observed ones the noise image's counts.
    """
    from nanobragg.io.smv import parse_smv_bytes

    tags = 1.0 + F_TAG * np.arange(1, truth.size + 1)
    span = range(-F_RANGE, F_RANGE + 1)
    hkl = [(h, k, l) for h in span for k in span for l in span]
    (folder / "tagged.hkl").write_text("".join(
        f"{h} {k} {l} {f:.12g}\n" for (h, k, l), f in zip(hkl, truth * np.sqrt(tags),
                                                          strict=True)))
    expected, observed = np.zeros(truth.size), np.zeros(truth.size)
    for i, misset in enumerate(F_MISSETS):
        run_nanobragg([*F_COMMON, "-misset", *map(str, misset), "-hkl", "tagged.hkl",
                       "-floatfile", f"tag{i}.bin", "-intfile", f"tag{i}.img", "-nonoise",
                       "-nopgm"], folder, log=lambda line: None)
        plain = np.fromfile(folder / f"t{i}.bin", dtype=np.float32).astype(np.float64)
        tagged = np.fromfile(folder / f"tag{i}.bin", dtype=np.float32).astype(np.float64)
        counts = parse_smv_bytes((folder / f"obs{i}.img").read_bytes()).data.reshape(-1)
        counts = counts.astype(np.float64) - 40.0  # the default ADC offset of -noisefile
        lit = plain > 1e-30  # float32 keeps ~7 digits here: the tags are 1e-4 apart
        position = (tagged[lit] / plain[lit] - 1.0) / F_TAG - 1.0
        member = np.rint(position).astype(np.int64)
        if np.abs(position - member).max() > 0.01 or not np.all(counts[~lit] == 0):
            raise AssertionError(f"image {i}: a pixel belongs to no single reflection")
        expected += np.bincount(member, weights=plain[lit], minlength=truth.size)
        observed += np.bincount(member, weights=counts[lit], minlength=truth.size)
    return expected, observed
