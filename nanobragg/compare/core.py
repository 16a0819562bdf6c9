"""The comparison itself: metrics, pass/fail checks and the verdict (no I/O)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from nanobragg.compare.images import check_finite
from nanobragg.compare.metrics import global_metrics, peak_metrics

EXIT_PASS = 0
EXIT_USAGE = 2
EXIT_BELOW_THRESHOLD = 3
EXIT_SHAPE_MISMATCH = 4
EXIT_SIDE_FAILED = 5


@dataclass(frozen=True)
class Limits:
    """Pass criteria; every one must hold for the verdict ``pass``."""

    correlation: float = 0.999  # correlation >= this (--threshold)
    rmse_rel_max: float = 1e-3  # RMSE / max|C| < this (--rmse-tol)
    sum_ratio_error: float = 1e-3  # |sum_py / sum_c - 1| <= this (--sum-tol)
    worst_spot_rel_diff: float = 1e-3  # worst spot's |I_py / I_c - 1| <= this (--spot-tol)
    peak_max_distance_px: float = 1.0  # max distance of matched peaks <= this (--peak-tol)
    peak_match_fraction: float = 0.8  # matched / min(n_c, n_py) >= this (--peak-match-min)
    n_peaks: int = 50  # top-N peaks per image (--peaks)
    peak_radius_px: float = 3.0  # matching radius (--peak-radius)


def crop_roi(image: np.ndarray, roi: tuple[int, int, int, int] | None) -> np.ndarray:
    """``roi = (x0, x1, y0, y1)``: fast x0..x1, slow y0..y1, inclusive (as nanoBragg -roi)."""
    if roi is None:
        return image
    x0, x1, y0, y1 = roi
    return image[y0 : y1 + 1, x0 : x1 + 1]


def _check(name: str, value, op: str, limit: float) -> dict:
    if value is None:
        passed = False
    elif op == ">=":
        passed = value >= limit
    elif op == "<":
        passed = value < limit
    else:
        passed = value <= limit
    return {"name": name, "value": value, "op": op, "limit": limit, "passed": bool(passed)}


def _sum_check(result: dict, limits: Limits) -> dict:
    """|sum_py / sum_c - 1|: a uniform scale error that correlation cannot see."""
    ratio = result["sum_ratio"]
    if ratio is None and result["max_abs_diff"] == 0.0:
        return {"name": "sum_ratio_error", "value": 0.0, "op": "<=",
                "limit": limits.sum_ratio_error, "passed": True}  # two all-zero images
    value = None if ratio is None else abs(ratio - 1.0)
    return _check("sum_ratio_error", value, "<=", limits.sum_ratio_error)


def evaluate(ref: np.ndarray, test: np.ndarray, limits: Limits) -> dict:
    """Metrics, peaks, checks and verdict for two same-shape images (ref = C, test = py)."""
    if ref.shape != test.shape:
        raise ValueError(f"shapes differ: {ref.shape} vs {test.shape}")
    problems = [m for m in (check_finite(ref, "C"), check_finite(test, "py")) if m]
    if problems:
        ref = np.where(np.isfinite(ref), ref, 0.0)
        test = np.where(np.isfinite(test), test, 0.0)
    result = global_metrics(ref, test)
    peaks = peak_metrics(ref, test, limits.n_peaks, limits.peak_radius_px)
    checks = [
        {
            "name": "finite",
            "value": not problems,
            "op": "==",
            "limit": True,
            "passed": not problems,
        },
        _check("correlation", result["correlation"], ">=", limits.correlation),
        _check("rmse_rel_max", result["rmse_rel_max"], "<", limits.rmse_rel_max),
        _sum_check(result, limits),
    ]
    if peaks["n_c"] == 0 and peaks["n_py"] == 0:
        checks.append(
            {
                "name": "peaks",
                "value": "no peaks in either image",
                "op": "n/a",
                "limit": None,
                "passed": True,
            }
        )
    else:
        checks.append(
            _check("peak_match_fraction", peaks["match_fraction"], ">=", limits.peak_match_fraction)
        )
        checks.append(
            _check(
                "peak_max_distance_px", peaks["max_distance_px"], "<=", limits.peak_max_distance_px
            )
        )
        checks.append(_check("worst_spot_rel_diff", peaks["worst_spot_rel_diff"], "<=",
                             limits.worst_spot_rel_diff))
    if result["rmse_rel_max"] is None and result["max_abs_diff"] == 0.0:
        checks[2]["passed"] = True  # two all-zero images agree exactly
    passed = all(c["passed"] for c in checks)
    result.update(
        worst_spot_rel_diff=peaks["worst_spot_rel_diff"], worst_spot_at=peaks["worst_spot_at"])
    result.update(
        peaks=peaks,
        checks=checks,
        nonfinite=problems,
        limits=asdict(limits),
        verdict="pass" if passed else "fail",
        exit_code=EXIT_PASS if passed else EXIT_BELOW_THRESHOLD,
    )
    return result
