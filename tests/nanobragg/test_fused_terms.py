"""The fused term stage (nanobragg/_cterms.c) against its reference, the torch path.

* on every public golden case that it renders, the image with the compiled loop equals the
  torch path's: float64 to 1e-12 relative per pixel (and C's float image: the golden tests),
  float32 to 2e-6 of the maximum;
* its float64 sine is within one ulp of libm's, its float32 sin(π x) within 3 ulp of sin(π x);
* the sums are C's expressions (h left to right, sin((π h) N)/sin(π h), F² F_latt² summed over
  the orientations in order), checked against numpy, also where the sine's argument is beyond
  the vectorised reduction; the thread count does not change a bit.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from golden_cases import DATA_DIR, all_cases
from test_term_stage import of_max, render

from nanobragg import fused_terms
from nanobragg.cli.args import parse_args
from nanobragg.simulator import Simulator

pytestmark = pytest.mark.skipif(not fused_terms.fused_available(),
                                reason="nanobragg._cterms is not built (optional extension)")

RUNNING_SUM_FLAGS = ("-oversample_thick", "-oversample_polar", "-oversample_omega")


def fused_applies(args: list[str], workdir) -> bool:
    """The compiled loop renders the case (plain sums, square shape, nearest F, CPU)."""
    if any(f in args for f in RUNNING_SUM_FLAGS):
        return False
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        sim = Simulator(parse_args(args, cwd=workdir).simulation, cwd=workdir)
        return fused_terms.fused_terms(sim.kernel_inputs(), sim.structure_factors) is not None
    finally:
        os.chdir(cwd)


CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_fused_image_equals_the_torch_path(case, tmp_path, monkeypatch):
    (tmp_path / "data").symlink_to(DATA_DIR, target_is_directory=True)
    if not fused_applies(case.args, tmp_path):
        pytest.skip("the compiled loop does not render this case (torch path only)")
    images = {}
    for fused in ("1", "0"):
        monkeypatch.setenv("NB_FUSED", fused)
        for dtype in (torch.float64, torch.float32):
            images[fused, dtype] = render(case.args, dtype, tmp_path)
    np.testing.assert_allclose(images["1", torch.float64], images["0", torch.float64],
                               rtol=1e-12, atol=0)
    assert of_max(images["1", torch.float32], images["0", torch.float32]) <= 2e-6


def ulps(ours: np.ndarray, reference: np.ndarray, dtype) -> np.ndarray:
    spacing = np.spacing(np.abs(reference).astype(dtype)).astype(np.float64)
    return np.abs(ours.astype(np.float64) - reference) / spacing


def test_sines_are_within_an_ulp_or_three():
    generator = np.random.default_rng(5)
    x = np.concatenate([generator.uniform(-s, s, 200_000) for s in (0.7, 3.0, 300.0, 7e5, 3e6)])
    out = np.empty_like(x)
    xf = generator.uniform(-0.5, 0.5, 400_000).astype(np.float32)
    outf = np.empty_like(xf)
    fused_terms._cterms.sines(x, out, xf, outf)
    libm = np.array([math.sin(v) for v in x])
    assert ulps(out, libm, np.float64).max() <= 1.0
    exact = np.sin(math.pi * xf.astype(np.float64))
    assert ulps(outf, exact, np.float32).max() <= 3.0


def synthetic(precision: int, cells=(10.0, 2564.0, 7.5), k: int = 7, n: int = 1001):
    """FusedTerms over random orientations and scattering vectors, no F table (default_F)."""
    generator = torch.Generator().manual_seed(11)
    rows = torch.randn(k, 9, dtype=torch.float64, generator=generator) * 60
    s = torch.randn(n, 3, dtype=torch.float64, generator=generator)
    s[0] = 0.0  # h = k = l = 0: the grating functions' N
    terms = fused_terms.FusedTerms(
        rows=rows, rows_first=rows.flip(0).contiguous(), cells=cells,
        active=tuple(int(c > 1) for c in cells), grid=None, lo=(0, 0, 0), sizes=(0, 0, 0),
        default_F=300.0, precision=precision, masked=False)
    return terms, rows, s


def numpy_sums(rows: torch.Tensor, s: torch.Tensor, cells, default_F: float) -> np.ndarray:
    """C's expressions in numpy: h = a_x S_x + a_y S_y + a_z S_z, F_latt = Π sin((π h) N) /
    sin(π h), the terms F² F_latt² summed over the orientations one after the other."""
    r, v = rows.numpy(), s.numpy()
    total = np.zeros(len(v))
    for row in r:
        latt = np.ones(len(v))
        for axis, n in enumerate(cells):
            a = row[3 * axis:3 * axis + 3]
            x = math.pi * ((a[0] * v[:, 0] + a[1] * v[:, 1]) + a[2] * v[:, 2])
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio = np.where(x == 0, n, np.sin(x * n) / np.sin(x))
            latt = latt * ratio if n > 1 else latt
        total += default_F * default_F * latt * latt
    return total


def test_float64_sums_are_c_expressions_beyond_the_vectorised_reduction():
    terms, rows, s = synthetic(64)
    evaluated = torch.ones(len(s), dtype=torch.bool)
    big = (rows[:, 3:6] @ s.T).abs().max() * math.pi * 2564
    assert big > 8e5  # some sines take libm's path
    ours = terms(s, None, evaluated).numpy()
    np.testing.assert_allclose(ours, numpy_sums(rows, s, terms.cells, 300.0), rtol=1e-12)
    first = terms(s, 5, evaluated).numpy()
    assert np.array_equal(np.delete(first, 5), np.delete(ours, 5))
    flipped = numpy_sums(rows.flip(0), s[5:6], terms.cells, 300.0)
    np.testing.assert_allclose(first[5], flipped[0], rtol=1e-12)
    masked = fused_terms.FusedTerms(**{**terms.__dict__, "masked": True})
    mask = torch.arange(len(s)) % 3 != 0
    assert np.array_equal(masked(s, None, mask).numpy(), np.where(mask.numpy(), ours, 0.0))


def test_float32_sums_follow_float64():
    terms64, rows, s = synthetic(64, cells=(10.0, 12.0, 7.5))
    terms32 = fused_terms.FusedTerms(**{**terms64.__dict__, "precision": 32})
    evaluated = torch.ones(len(s), dtype=torch.bool)
    wide, narrow = terms64(s, None, evaluated).numpy(), terms32(s, None, evaluated).numpy()
    assert np.abs(narrow - wide).max() <= 1e-5 * wide.max()
    peak = (300.0 * 10 * 12 * 7.5) ** 2  # at h = k = l = 0, for each of the 7 orientations
    assert wide[0] == 7 * peak and narrow[0] == 7 * float(np.float32(peak))


@pytest.mark.parametrize("precision", [32, 64])
def test_thread_count_changes_no_bit(precision):
    terms, _, s = synthetic(precision, n=4099)
    evaluated = torch.ones(len(s), dtype=torch.bool)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            results.append(terms(s, None, evaluated))
    finally:
        torch.set_num_threads(before)
    assert all(torch.equal(r, results[0]) for r in results[1:])
