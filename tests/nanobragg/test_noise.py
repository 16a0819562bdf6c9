"""Poisson noise parity: every golden noise.img from the golden float.bin, byte for byte."""

from __future__ import annotations

import functools
import math
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from golden_cases import all_cases
from golden_cases import case as _golden_case

from nanobragg.io.smv import read_smv
from nanobragg.noise import (
    DEFAULT_ADC,
    compiled_available,
    gammln,
    gaussdev,
    new_cache,
    noise_image,
    poidev,
)
from nanobragg.rng import Ran1, mosaic_umats, random_misset

#: One parsed GoldenCase per id (case.yaml is parsed once per test module).
case = functools.cache(_golden_case)

NOISE_CASES = [c.id for c in all_cases() if c.has("noise") and c.has("float")]

requires_compiled = pytest.mark.skipif(
    not compiled_available(),
    reason="the compiled noise loop nanobragg._cnoise is not built (pip install -e . builds it)",
)


def _flag(args: list[str], flag: str, count: int = 1) -> list[str] | None:
    """Values of the last occurrence of an exact flag in argv, None if absent."""
    if flag not in args:
        return None
    i = len(args) - 1 - args[::-1].index(flag)
    return args[i + 1 : i + 1 + count]


def _noise_inputs(case_id: str) -> tuple[np.ndarray, int, float, tuple | None]:
    c = case(case_id)
    adc = _flag(c.args, "-adc")
    roi = _flag(c.args, "-roi", 4)
    return (
        c.float_image(),
        int(c.meta["seed"]),
        float(adc[0]) if adc else DEFAULT_ADC,
        tuple(int(v) for v in roi) if roi else None,
    )


def _stdout_noise_line(case_id: str) -> str:
    text = case(case_id).file("stdout").read_text()
    return re.search(r"^\S+ photons on noise image \(\d+ overloads\)$", text, re.M).group(0)


def test_all_noise_cases_collected() -> None:
    assert len(NOISE_CASES) == 51


@pytest.mark.parametrize("case_id", NOISE_CASES)
def test_noise_image_matches_golden(case_id: str) -> None:
    image, seed, adc, roi = _noise_inputs(case_id)
    result = noise_image(image, seed, adc, roi)
    _, golden = case(case_id).smv("noise")
    assert result.image.dtype == np.uint16
    diff = int(np.count_nonzero(result.image != golden))
    assert diff == 0, f"{diff} pixels differ"
    assert result.summary_line() == _stdout_noise_line(case_id)
    stats = case(case_id).meta["stats"]
    assert result.overloads == stats["overloads"]


# Small cases covering all three poidev branches (noise_gaussian/point_pixel: xm > 1e6) and a
# ROI; run through both the pure-Python kernels and the compiled loop.
BRANCH_CASES = ["point_pixel", "noise_gaussian", "roi"]


@pytest.mark.parametrize("case_id", BRANCH_CASES)
def test_pure_python_kernels_match_golden(case_id: str) -> None:
    image, seed, adc, roi = _noise_inputs(case_id)
    result = noise_image(image, seed, adc, roi, compiled=False)
    _, golden = case(case_id).smv("noise")
    assert np.array_equal(result.image, golden)
    assert result.summary_line() == _stdout_noise_line(case_id)


@requires_compiled
@pytest.mark.parametrize("case_id", BRANCH_CASES)
def test_compiled_loop_matches_golden(case_id: str) -> None:
    image, seed, adc, roi = _noise_inputs(case_id)
    result = noise_image(image, seed, adc, roi, compiled=True)
    _, golden = case(case_id).smv("noise")
    assert np.array_equal(result.image, golden)
    assert result.summary_line() == _stdout_noise_line(case_id)


def test_branch_cases_cover_gaussian_branch() -> None:
    branches = case("point_pixel").meta["image_stats"]["poidev_branch_pixels"]
    assert branches["gaussian_above_1e6"] > 0 and branches["rejection_12_to_1e6"] > 0


# ----------------------------------------------------------------------------------------------
# Semantics of the C routines
# ----------------------------------------------------------------------------------------------


def test_poidev_zero_mean_draws_once() -> None:
    rng = Ran1()
    stream = rng.stream(-3)
    reference = Ran1().stream(-3)
    assert poidev(0.0, stream, new_cache()) == 0.0
    reference.uniform()
    assert stream.uniform() == reference.uniform()


def test_gaussdev_keeps_spare_without_drawing() -> None:
    rng = Ran1()
    stream = rng.stream(-11)
    cache = new_cache()
    gaussdev(stream, cache)
    idum_before = int(stream.idum[0])
    gaussdev(stream, cache)  # the spare: no ran1 call
    assert int(stream.idum[0]) == idum_before
    gaussdev(stream, cache)
    assert int(stream.idum[0]) != idum_before


def test_gaussdev_moments() -> None:
    stream = Ran1().stream(-2024)
    cache = new_cache()
    values = np.array([gaussdev(stream, cache) for _ in range(20000)])
    assert abs(values.mean()) < 0.03
    assert abs(values.std() - 1.0) < 0.03


@pytest.mark.parametrize("x", [1.0, 2.5, 13.0, 150.0, 12345.0])
def test_gammln_close_to_lgamma_and_float32(x: float) -> None:
    value = gammln(x)
    assert value == float(np.float32(value))
    assert math.isclose(value, math.lgamma(x), rel_tol=1e-6, abs_tol=1e-6)


@pytest.mark.parametrize("mean", [3.0, 40.0])
def test_poidev_mean_and_variance(mean: float) -> None:
    stream = Ran1().stream(-77)
    cache = new_cache()
    values = np.array([poidev(mean, stream, cache) for _ in range(20000)])
    assert abs(values.mean() - mean) < 4 * math.sqrt(mean / values.size)
    assert abs(values.var() / mean - 1.0) < 0.06


def test_roi_pixels_outside_draw_nothing() -> None:
    image = case("roi").float_image()
    roi = (20, 90, 30, 100)
    full = noise_image(image, 5, 40.0, roi)
    crop = noise_image(image[30:101, 20:91], 5, 40.0, None)
    outside = np.ones(image.shape, dtype=bool)
    outside[30:101, 20:91] = False
    assert not full.image[outside].any()
    np.testing.assert_array_equal(full.image[30:101, 20:91], crop.image)
    assert full.photons == crop.photons


def test_seed_zero_equals_seed_one_and_overloads() -> None:
    image = np.full((4, 5), 3.0e6, dtype=np.float32)
    image[0, 0] = 0.0
    a = noise_image(image, 0, 40.0)
    b = noise_image(image, 1, 40.0)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.overloads == 19
    assert (a.image[image > 0] == 65535).all()
    assert a.photons > 19 * 2.9e6


def test_negative_cli_seed_continues_shared_table() -> None:
    image = np.full((8, 8), 5.0, dtype=np.float32)
    rng = Ran1()
    rng.stream(-9).uniforms(5)
    shared = noise_image(image, -3, rng=rng)
    fresh = noise_image(image, -3)
    assert not np.array_equal(shared.image, fresh.image)


@requires_compiled
def test_compiled_and_python_loops_agree_on_random_image() -> None:
    gen = np.random.default_rng(5)
    image = (gen.exponential(30.0, (40, 50)) ** 1.5).astype(np.float32)
    image[3, :5] = [0.0, 11.999999, 12.0, 1.5e6, 2.0e7]
    a = noise_image(image, 31, 10.0, compiled=False)
    b = noise_image(image, 31, 10.0, compiled=True)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.photons == b.photons and a.overloads == b.overloads


@requires_compiled
def test_compiled_loop_table_of_counts_matches_python_on_bright_pixels() -> None:
    """The compiled loop takes log_gamma(count + 1) of the rejection method's trial counts from
    a table that grows with the counts met; counts from 12 to ~1e6, each level met by several
    pixels, must give the Python kernels' bits."""
    gen = np.random.default_rng(11)
    levels = np.exp(gen.uniform(np.log(12.0), np.log(9.9e5), 300)).astype(np.float32)
    image = np.repeat(levels, 4).reshape(24, 50)
    gen.shuffle(image.reshape(-1))
    a = noise_image(image, 7, 40.0, compiled=False)
    b = noise_image(image, 7, 40.0, compiled=True)
    np.testing.assert_array_equal(a.image, b.image)
    assert a.photons == b.photons and a.overloads == b.overloads


# ----------------------------------------------------------------------------------------------
# Live check against the C binary (NB_C_BIN): streams sharing the ran1 table
# ----------------------------------------------------------------------------------------------

C_BIN = os.environ.get("NB_C_BIN")


@pytest.mark.live_c
@pytest.mark.skipif(not C_BIN, reason="NB_C_BIN not set: no C reference binary")
def test_shared_table_streams_match_c(tmp_path: Path) -> None:
    """Negative -seed/-mosaic_seed make C's streams continue the shared table (misset random ->
    mosaic -> noise); the model must reproduce C's noise image only with the shared state."""
    args = (
        "-cell 70 80 90 90 90 90 -default_F 100 -N 3 -detpixels 48 -pixel 0.1 -distance 60"
        " -seed -5 -mosaic 0.5 -mosaic_dom 3 -mosaic_seed -9 -misset_seed 4 -misset random"
        " -floatfile f.bin -intfile i.img -noisefile n.img -pgmfile p.pgm -noprogress"
    ).split()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([C_BIN, *args], cwd=tmp_path, env=env, check=True, capture_output=True)
    image = np.fromfile(tmp_path / "f.bin", dtype="<f4").reshape(48, 48)
    golden = read_smv(tmp_path / "n.img").data
    rng = Ran1()
    random_misset(4, rng)
    mosaic_umats(0.5 / (180.0 / math.pi), 3, -9, rng)
    shared = noise_image(image, -5, rng=rng)
    assert np.array_equal(shared.image, golden)
    assert not np.array_equal(noise_image(image, -5).image, golden)
