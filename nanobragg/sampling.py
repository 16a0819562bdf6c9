"""How finely each pixel is sampled: C's automatic oversampling, and its warning when the
given ``-oversample`` is coarser than the crystal's spots need.

C compares the crystal's largest dimension with the "reciprocal pixel" (λ·distance/pixel, the
size of a real-space feature whose diffraction spot spans one pixel): a crystal three times
larger than that makes spots that vary within a pixel.
"""

from __future__ import annotations

import math

from nanobragg.crystal import Crystal, crystal_size
from nanobragg.detector import DetectorGeometry
from nanobragg.errors import ConfigError
from nanobragg.geometry3d import value

#: refuse an automatic oversampling above this (C would try to render it)
MAX_AUTO_OVERSAMPLE = 1000


def choose_oversample(chosen: int | None, crystal: Crystal, wavelength,
                      detector: DetectorGeometry) -> tuple[int, list[str]]:
    """(sub-pixels per pixel edge, C's messages): ``chosen`` if given (> 0), else C's
    recommendation."""
    sizes = crystal_size(crystal)
    reciprocal_pixel = value(wavelength) * value(detector.distance) / detector.pixel_size
    ratio = 3.0 * max(sizes) / reciprocal_pixel if reciprocal_pixel > 0 else math.inf
    if (chosen is None or chosen <= 0) and not ratio <= MAX_AUTO_OVERSAMPLE:
        raise ConfigError(template=(
            f"automatic oversampling would need {ratio:.3g}x{ratio:.3g} sub-pixels per pixel "
            f"(crystal {max(sizes) * 1e10:.3g} A, reciprocal pixel "
            f"{reciprocal_pixel * 1e10:.3g} A): check {{beam.wavelength}}, "
            "{detector.distance}, {detector.pixel_size} and N, or give {sampling.oversample}"))
    recommended = max(math.ceil(ratio), 1) if math.isfinite(ratio) else MAX_AUTO_OVERSAMPLE
    if chosen is None or chosen <= 0:
        return recommended, [f"auto-selected {recommended}-fold oversampling"]
    if chosen >= recommended:
        return chosen, []
    return chosen, [
        f"WARNING: maximum dimension of sample is {max(sizes) * 1e10:g} A",
        f"         but reciprocal pixel size is {reciprocal_pixel * 1e10:g} A",
        "         intensity may vary significantly across a pixel!",
        f"         recommend -oversample {recommended} to work around this",
    ]
