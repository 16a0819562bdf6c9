"""Image-comparison metrics: global statistics and one-to-one peak matching.

``ref`` is the reference image (the C program or a golden file), ``test`` the image under test
(nanobragg). Both are ``[slow, fast]`` arrays of the same shape; pixel coordinates are reported
as ``[slow, fast]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Peak:
    slow: float
    fast: float
    value: float
    pixel: tuple[int, int]


def correlation(ref: np.ndarray, test: np.ndarray) -> float | None:
    """Pearson correlation; 1.0 for identical images, ``None`` if undefined (a flat image)."""
    a = ref.astype(np.float64).ravel()
    b = test.astype(np.float64).ravel()
    if np.array_equal(a, b):
        return 1.0
    a = a - a.mean()
    b = b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denom == 0.0:
        return None
    return float((a * b).sum() / denom)


def global_metrics(ref: np.ndarray, test: np.ndarray) -> dict:
    """Correlation, RMSE, max |diff|, relative L2 and sums (all in float64)."""
    ref = ref.astype(np.float64)
    test = test.astype(np.float64)
    diff = test - ref
    rmse = float(np.sqrt(np.mean(diff * diff)))
    max_ref = float(np.abs(ref).max()) if ref.size else 0.0
    norm_ref = float(np.linalg.norm(ref))
    idx = np.unravel_index(int(np.argmax(np.abs(diff))), diff.shape)
    sum_ref = float(ref.sum())
    sum_test = float(test.sum())
    return {
        "correlation": correlation(ref, test),
        "rmse": rmse,
        "rmse_rel_max": rmse / max_ref if max_ref > 0 else None,
        "max_abs_diff": float(np.abs(diff).max()),
        "max_abs_diff_at": [int(idx[0]), int(idx[1])],
        "rel_l2": float(np.linalg.norm(diff)) / norm_ref if norm_ref > 0 else None,
        "sum_c": sum_ref,
        "sum_py": sum_test,
        "sum_ratio": sum_test / sum_ref if sum_ref != 0 else None,
        "max_c": float(ref.max()),
        "max_py": float(test.max()),
        "mean_c": float(ref.mean()),
        "mean_py": float(test.mean()),
    }


def _local_maxima(image: np.ndarray) -> np.ndarray:
    """Boolean mask of pixels >= all 8 neighbours and > 0."""
    padded = np.pad(image, 1, mode="constant", constant_values=-np.inf)
    mask = image > 0
    rows, cols = image.shape
    for ds in (-1, 0, 1):
        for df in (-1, 0, 1):
            if ds == 0 and df == 0:
                continue
            mask &= image >= padded[1 + ds : 1 + ds + rows, 1 + df : 1 + df + cols]
    return mask


def _centroid(image: np.ndarray, s: int, f: int, half: int) -> tuple[float, float]:
    """Intensity-weighted centroid in a (2*half+1)^2 window (clipped to the image)."""
    s0, s1 = max(s - half, 0), min(s + half + 1, image.shape[0])
    f0, f1 = max(f - half, 0), min(f + half + 1, image.shape[1])
    win = np.clip(image[s0:s1, f0:f1], 0.0, None)
    total = float(win.sum())
    if total <= 0:
        return float(s), float(f)
    ss, ff = np.mgrid[s0:s1, f0:f1]
    return float((ss * win).sum() / total), float((ff * win).sum() / total)


def find_peaks(
    image: np.ndarray, n: int = 50, min_separation: float = 3.0, centroid_half: int = 1
) -> list[Peak]:
    """The ``n`` brightest local maxima, at least ``min_separation`` px apart (greedy).

    Positions are refined with an intensity-weighted centroid over a 3x3 window
    (``centroid_half=1``), so they are sub-pixel.
    """
    image = np.where(np.isfinite(image), image, 0.0).astype(np.float64)
    cand = np.argwhere(_local_maxima(image))
    if cand.size == 0 or n <= 0:
        return []
    values = image[cand[:, 0], cand[:, 1]]
    order = np.lexsort((cand[:, 1], cand[:, 0], -values))  # brightest first, ties by position
    chosen: list[tuple[int, int]] = []
    min_sep2 = min_separation**2
    for k in order:
        s, f = int(cand[k, 0]), int(cand[k, 1])
        if any((s - cs) ** 2 + (f - cf) ** 2 < min_sep2 for cs, cf in chosen):
            continue
        chosen.append((s, f))
        if len(chosen) == n:
            break
    peaks = []
    for s, f in chosen:
        cs, cf = _centroid(image, s, f, centroid_half)
        peaks.append(Peak(slow=cs, fast=cf, value=float(image[s, f]), pixel=(s, f)))
    return peaks


def match_peaks(
    ref: list[Peak], test: list[Peak], radius: float = 3.0
) -> list[tuple[int, int, float]]:
    """One-to-one matching: all pairs within ``radius``, shortest distance first (greedy).

    Returns ``(ref_index, test_index, distance_px)`` triples.
    """
    if not ref or not test:
        return []
    a = np.array([[p.slow, p.fast] for p in ref])
    b = np.array([[p.slow, p.fast] for p in test])
    dist = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))
    pairs = np.argwhere(dist <= radius)
    pairs = sorted(pairs.tolist(), key=lambda ij: (dist[ij[0], ij[1]], ij[0], ij[1]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    matches = []
    for i, j in pairs:
        if i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matches.append((i, j, float(dist[i, j])))
    return matches


def spot_metrics(ref: np.ndarray, test: np.ndarray, spots: list[Peak], half: int = 1) -> dict:
    """Integrated intensity of each reference spot in both images, over the (2·half + 1)²
    window around its brightest pixel: the worst relative difference |test/ref - 1|.

    A correlation near 1 says nothing about scale, and a sum hides errors that cancel; this
    names the spot whose intensity is most wrong. Spots with no intensity in ``ref`` are
    skipped.
    """
    worst, worst_at, counted = None, None, 0
    for spot in spots:
        s, f = spot.pixel
        window = (slice(max(s - half, 0), s + half + 1), slice(max(f - half, 0), f + half + 1))
        ref_sum = float(ref[window].sum())
        if ref_sum <= 0:
            continue
        counted += 1
        rel = abs(float(test[window].sum()) / ref_sum - 1.0)
        if worst is None or rel > worst:
            worst, worst_at = rel, [s, f]
    return {"spots": counted, "worst_spot_rel_diff": worst, "worst_spot_at": worst_at}


def peak_metrics(
    ref: np.ndarray, test: np.ndarray, n: int = 50, radius: float = 3.0, min_separation: float = 3.0
) -> dict:
    """Top-``n`` peaks of each image matched one-to-one within ``radius`` pixels, and the
    intensity of the reference's peaks in both images (:func:`spot_metrics`)."""
    pr = find_peaks(ref, n, min_separation)
    pt = find_peaks(test, n, min_separation)
    matches = match_peaks(pr, pt, radius)
    dists = [d for _, _, d in matches]
    n_possible = min(len(pr), len(pt))
    return {
        "n_requested": n,
        "radius_px": radius,
        "n_c": len(pr),
        "n_py": len(pt),
        "matched": len(matches),
        "match_fraction": len(matches) / n_possible if n_possible else None,
        "mean_distance_px": float(np.mean(dists)) if dists else None,
        "max_distance_px": float(np.max(dists)) if dists else None,
        "peaks_c": [[round(p.slow, 3), round(p.fast, 3), p.value] for p in pr],
        "peaks_py": [[round(p.slow, 3), round(p.fast, 3), p.value] for p in pt],
        "matches": [[i, j, round(d, 4)] for i, j, d in matches],
        **spot_metrics(ref.astype(np.float64), test.astype(np.float64), pr),
    }
