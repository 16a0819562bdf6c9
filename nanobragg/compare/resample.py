"""Bringing two images of different shape onto one grid (``nb-compare --resample``).

Rules, in order (documented in docs/nb-compare.md):

1. Same shape: nothing happens (``method = "none"``).
2. One shape is an exact integer multiple ``k`` of the other along *both* axes (same ``k``):
   the larger image is block-summed by ``k x k`` (``method = "block_sum"``). This conserves
   photons, as for a detector with ``k`` times smaller pixels covering the same area.
3. Otherwise both are cropped to their common top-left region ``[0:min_slow, 0:min_fast]``
   (``method = "crop"``): nanoBragg pixel grids start at pix0, so index ``(0, 0)`` is the same
   place in both when the pixel size is the same (e.g. an off-by-one pixel count).
"""

from __future__ import annotations

import numpy as np


def block_sum(image: np.ndarray, k: int) -> np.ndarray:
    s, f = image.shape
    return image.reshape(s // k, k, f // k, k).sum(axis=(1, 3))


def _factor(big: tuple[int, int], small: tuple[int, int]) -> int | None:
    if big[0] % small[0] or big[1] % small[1]:
        return None
    k0, k1 = big[0] // small[0], big[1] // small[1]
    return k0 if k0 == k1 and k0 > 1 else None


def resample_pair(ref: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict]:
    """Return ``(ref', test', info)`` with equal shapes; ``info`` says what was done."""
    info = {
        "method": "none",
        "shape_c": list(ref.shape),
        "shape_py": list(test.shape),
    }
    if ref.shape == test.shape:
        info["shape_compared"] = list(ref.shape)
        return ref, test, info
    k = _factor(ref.shape, test.shape)
    if k:
        ref = block_sum(ref, k)
        info.update(method="block_sum", factor=k, resampled="c")
    elif (k := _factor(test.shape, ref.shape)) is not None:
        test = block_sum(test, k)
        info.update(method="block_sum", factor=k, resampled="py")
    else:
        s = min(ref.shape[0], test.shape[0])
        f = min(ref.shape[1], test.shape[1])
        ref, test = ref[:s, :f], test[:s, :f]
        info.update(method="crop")
    info["shape_compared"] = list(ref.shape)
    return ref, test, info
