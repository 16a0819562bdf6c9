"""nb-compare metrics against hand-made image pairs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nanobragg.compare.core import Limits, evaluate
from nanobragg.compare.images import check_finite
from nanobragg.compare.metrics import correlation, find_peaks, global_metrics, match_peaks
from nanobragg.compare.resample import block_sum, resample_pair


def gaussian(shape, centre, sigma=2.0, height=1000.0):
    ss, ff = np.mgrid[0 : shape[0], 0 : shape[1]]
    r2 = (ss - centre[0]) ** 2 + (ff - centre[1]) ** 2
    return height * np.exp(-r2 / (2 * sigma**2))


def test_identical_images_pass_with_zero_differences():
    img = gaussian((64, 80), (20, 30)) + gaussian((64, 80), (40, 60), height=500)
    res = evaluate(img, img.copy(), Limits())
    assert res["verdict"] == "pass" and res["exit_code"] == 0
    assert res["correlation"] == 1.0
    assert res["rmse"] == 0.0 and res["max_abs_diff"] == 0.0 and res["rel_l2"] == 0.0
    assert res["sum_ratio"] == 1.0
    assert res["peaks"]["matched"] == 2 and res["peaks"]["max_distance_px"] == 0.0


def test_shifted_spot_distance_and_correlation():
    sigma, shape = 2.0, (100, 100)
    ref = gaussian(shape, (30, 40), sigma)
    test = gaussian(shape, (32, 41), sigma)  # shifted by (2, 1) px
    res = evaluate(ref, test, Limits())
    peaks = res["peaks"]
    assert peaks["n_c"] == 1 and peaks["n_py"] == 1 and peaks["matched"] == 1
    assert peaks["max_distance_px"] == pytest.approx(math.sqrt(5), abs=1e-9)
    # correlation of two equal Gaussians a distance d apart: exp(-d^2 / (4 sigma^2))
    assert res["correlation"] == pytest.approx(math.exp(-5 / (4 * sigma**2)), abs=2e-3)
    assert res["sum_ratio"] == pytest.approx(1.0, abs=1e-9)
    failed = {c["name"] for c in res["checks"] if not c["passed"]}
    # the 3x3 window of the C spot holds another share of the shifted spot
    assert failed == {"correlation", "rmse_rel_max", "peak_max_distance_px",
                      "worst_spot_rel_diff"}
    assert res["exit_code"] == 3


def test_shift_beyond_radius_is_unmatched():
    ref = gaussian((100, 100), (30, 40))
    test = gaussian((100, 100), (30, 50))  # 10 px away, radius 3
    res = evaluate(ref, test, Limits())
    assert res["peaks"]["matched"] == 0
    assert res["peaks"]["match_fraction"] == 0.0
    assert res["peaks"]["max_distance_px"] is None


def test_scaled_image_known_answers():
    ref = gaussian((50, 60), (10, 10)) + gaussian((50, 60), (35, 45), height=300)
    test = 2.0 * ref
    res = global_metrics(ref, test)
    assert res["correlation"] == pytest.approx(1.0, abs=1e-12)
    assert res["sum_ratio"] == pytest.approx(2.0, rel=1e-12)
    assert res["rel_l2"] == pytest.approx(1.0, rel=1e-12)
    assert res["max_abs_diff"] == pytest.approx(ref.max(), rel=1e-12)
    assert res["max_abs_diff_at"] == [10, 10]
    assert res["rmse"] == pytest.approx(np.sqrt(np.mean(ref**2)), rel=1e-12)
    assert res["rmse_rel_max"] == pytest.approx(np.sqrt(np.mean(ref**2)) / ref.max(), rel=1e-12)
    verdict = evaluate(ref, test, Limits())
    assert verdict["verdict"] == "fail"  # perfectly correlated but twice as bright
    assert [c["name"] for c in verdict["checks"] if not c["passed"]] == [
        "rmse_rel_max", "sum_ratio_error", "worst_spot_rel_diff"]
    assert verdict["worst_spot_rel_diff"] == pytest.approx(1.0, rel=1e-12)


def test_swapped_pair_is_symmetric_or_reciprocal():
    a = gaussian((60, 60), (20, 20)) + gaussian((60, 60), (40, 45), height=200)
    b = 1.5 * gaussian((60, 60), (21, 20)) + gaussian((60, 60), (40, 45), height=100)
    ab, ba = evaluate(a, b, Limits()), evaluate(b, a, Limits())
    assert ab["correlation"] == pytest.approx(ba["correlation"], rel=1e-12)
    assert ab["rmse"] == pytest.approx(ba["rmse"], rel=1e-12)
    assert ab["max_abs_diff"] == pytest.approx(ba["max_abs_diff"], rel=1e-12)
    assert ab["sum_ratio"] * ba["sum_ratio"] == pytest.approx(1.0, rel=1e-12)
    assert ab["sum_c"] == ba["sum_py"] and ab["sum_py"] == ba["sum_c"]
    assert ab["peaks"]["peaks_c"] == ba["peaks"]["peaks_py"]
    assert ab["peaks"]["mean_distance_px"] == pytest.approx(ba["peaks"]["mean_distance_px"])


def test_nan_image_is_named_and_fails():
    ref = gaussian((40, 40), (20, 20))
    test = ref.copy()
    test[3, 5] = np.nan
    test[7, 1] = np.inf
    msg = check_finite(test, "py")
    assert msg == ("py image has 2 non-finite pixel(s) (1 NaN, 1 inf); first at slow=3 fast=5")
    assert check_finite(ref, "C") is None
    res = evaluate(ref, test, Limits())
    assert res["nonfinite"] == [msg]
    assert res["verdict"] == "fail"
    assert res["checks"][0] == {
        "name": "finite",
        "value": False,
        "op": "==",
        "limit": True,
        "passed": False,
    }
    assert math.isfinite(res["rmse"])  # computed with the bad pixels set to 0


def test_flat_images_make_correlation_undefined():
    assert correlation(np.ones((4, 4)), np.full((4, 4), 2.0)) is None
    assert correlation(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0
    res = evaluate(np.ones((8, 8)), np.full((8, 8), 2.0), Limits())
    assert res["verdict"] == "fail"


def test_all_zero_images_pass():
    res = evaluate(np.zeros((8, 8)), np.zeros((8, 8)), Limits())
    assert res["verdict"] == "pass"
    assert res["peaks"]["n_c"] == 0


def test_peak_centroid_is_subpixel():
    img = np.zeros((20, 20))
    img[10, 10] = img[10, 11] = 5.0
    (peak,) = find_peaks(img, n=5)
    assert (peak.slow, peak.fast) == (10.0, 10.5)
    assert peak.value == 5.0


def test_peaks_are_sorted_and_separated():
    img = np.zeros((30, 30))
    img[5, 5], img[5, 6], img[20, 20], img[25, 3] = 9.0, 8.0, 7.0, 3.0
    peaks = find_peaks(img, n=10, min_separation=3.0, centroid_half=0)
    assert [p.pixel for p in peaks] == [(5, 5), (20, 20), (25, 3)]  # (5, 6) is not a maximum
    assert [p.value for p in find_peaks(img, n=2)] == [9.0, 7.0]


def test_matching_is_one_to_one_nearest_first():
    img_a = np.zeros((30, 30))
    img_a[10, 10] = img_a[10, 14] = 1.0
    img_b = np.zeros((30, 30))
    img_b[10, 13] = 1.0
    pa = find_peaks(img_a, centroid_half=0)
    pb = find_peaks(img_b, centroid_half=0)
    matches = match_peaks(pa, pb, radius=3.0)
    assert len(matches) == 1
    i, j, d = matches[0]
    assert pa[i].pixel == (10, 14) and d == 1.0


def test_block_sum_and_resample_rules():
    big = np.arange(16, dtype=float).reshape(4, 4)
    assert block_sum(big, 2).tolist() == [[10.0, 18.0], [42.0, 50.0]]
    ref, test, info = resample_pair(big, np.ones((2, 2)))
    assert info["method"] == "block_sum" and info["factor"] == 2 and info["resampled"] == "c"
    assert ref.sum() == big.sum()
    ref, test, info = resample_pair(np.ones((5, 7)), np.ones((6, 6)))
    assert info["method"] == "crop" and ref.shape == test.shape == (5, 6)
    assert info["shape_c"] == [5, 7] and info["shape_py"] == [6, 6]
    _, _, info = resample_pair(np.ones((3, 3)), np.ones((3, 3)))
    assert info["method"] == "none"


def _golden_memo_image() -> np.ndarray:
    from golden_cases import all_cases

    case = next(c for c in all_cases() if c.id == "mosaic")
    return case.float_image().astype(np.float64)


def test_one_percent_too_bright_cannot_pass():
    """A uniform 1 % scale error: correlation 1, RMSE 1e-3 of the max would let it through."""
    ref = _golden_memo_image()
    res = evaluate(ref, 1.01 * ref, Limits())
    assert res["correlation"] == pytest.approx(1.0, abs=1e-12)
    assert res["verdict"] == "fail"
    failed = {c["name"] for c in res["checks"] if not c["passed"]}
    assert {"sum_ratio_error", "worst_spot_rel_diff"} <= failed
    assert res["worst_spot_rel_diff"] == pytest.approx(0.01, rel=1e-9)


def test_one_spot_one_percent_off_cannot_pass():
    """1 % on the brightest spot alone: every global check passes, the worst spot does not."""
    ref = _golden_memo_image()
    s, f = np.unravel_index(int(np.argmax(ref)), ref.shape)
    test = ref.copy()
    test[s - 1:s + 2, f - 1:f + 2] *= 1.01
    res = evaluate(ref, test, Limits())
    failed = [c["name"] for c in res["checks"] if not c["passed"]]
    assert failed == ["worst_spot_rel_diff"]
    assert res["worst_spot_at"] == [int(s), int(f)]
    assert res["worst_spot_rel_diff"] == pytest.approx(0.01, rel=1e-9)


def test_float32_rounding_passes_the_new_checks():
    ref = _golden_memo_image()
    res = evaluate(ref, ref.astype(np.float32).astype(np.float64) * (1 + 2e-7), Limits())
    assert res["verdict"] == "pass"
