"""Image statistics and the integer/PGM scalings of the C program's outputs.

All functions take the float image [slow, fast] (float32 photons/pixel) and reproduce C's
arithmetic exactly, including its summation order (sequential, memory order) and its float32
steps:

* statistics pass 1 (rendered pixels = inside the ROI and not masked):
  ``sum += f`` and ``sumsqr += f*f`` with the product in float32, both accumulated in double;
  ``max_I`` is the first strictly largest value above 0;
* ``avg = sum/n``, ``rms = sqrt(sumsqr/(n-1))`` (n forced to >= 1, then >= 2);
* pass 2 (every ROI pixel, masked ones included): ``rmsd = sqrt(sum((f-avg)^2)/(m-1))``;
* int image: ``floorf((float)(clamp(f*scale + adc, 0, 65535) + 0.5))`` as uint16;
* PGM byte: ``(unsigned char)min(f*pgm_scale, 255)``.

Pixels outside the ROI are 0 in both the int and the PGM images.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nanobragg.io.smv import c_format_g

Roi = tuple[int, int, int, int]

#: Full-scale value of the default int-image scaling (``55000/max_I``).
INT_FULL_SCALE = 55000.0


def roi_mask(shape: tuple[int, int], roi: Roi | None) -> np.ndarray:
    """Boolean [slow, fast]: inside ``roi`` = (xmin, xmax, ymin, ymax), inclusive, fast first.

    None or negative entries mean "no limit" on that side (C's defaults).
    """
    slow, fast = shape
    xmin, xmax, ymin, ymax = roi if roi is not None else (-1, -1, -1, -1)
    f = np.arange(fast)
    s = np.arange(slow)
    in_f = (f >= max(xmin, 0)) & ((f <= xmax) if xmax >= 0 else True)
    in_s = (s >= max(ymin, 0)) & ((s <= ymax) if ymax >= 0 else True)
    return np.asarray(in_s[:, None] & in_f[None, :])


def rendered_mask(
    shape: tuple[int, int], roi: Roi | None = None, mask: np.ndarray | None = None
) -> np.ndarray:
    """Boolean [slow, fast] of the pixels C renders: in the ROI and not 0 in ``mask``."""
    rendered = roi_mask(shape, roi)
    if mask is not None:
        rendered &= np.asarray(mask).reshape(shape) != 0
    return rendered


_SUM_BLOCK = 1 << 15


def _sequential_sum(
    values: np.ndarray, term: Callable[[np.ndarray], np.ndarray] = lambda block: block
) -> float:
    """Left-to-right double sum of ``term(values)`` (C's loop order), 0.0 for no values.

    Block by block, each block's running sum starting from the previous total: the same
    additions in the same order as one long accumulation, without its full-size temporaries.
    """
    total = 0.0
    for start in range(0, values.size, _SUM_BLOCK):
        block = term(values[start : start + _SUM_BLOCK]).astype(np.float64)
        block[0] += total
        total = float(np.add.accumulate(block, out=block)[-1])
    return total


@dataclass(frozen=True)
class ImageStats:
    """C's post-render statistics.

    Attributes:
        max_I: largest rendered value (0.0 if none is > 0).
        max_index: (slow, fast) of its first occurrence, None if max_I stayed 0.
        mean: ``avg`` = sum/n over rendered pixels.
        rms: sqrt(sum f^2 / (n-1)) over rendered pixels.
        rmsd: sqrt(sum (f-avg)^2 / (m-1)) over all ROI pixels.
        rendered: n (pixels in pass 1).
        roi_pixels: m (pixels in pass 2).
    """

    max_I: float
    max_index: tuple[int, int] | None
    mean: float
    rms: float
    rmsd: float
    rendered: int
    roi_pixels: int

    def max_line(self, fdet_m: float, sdet_m: float) -> str:
        """``max_I = %g  at %g %g`` (C prints Fdet/Sdet in metres of the max pixel's last
        sub-pixel, or 0 0 when no pixel exceeded 0)."""
        return f"max_I = {c_format_g(self.max_I)}  at {c_format_g(fdet_m)} {c_format_g(sdet_m)}"

    def mean_line(self) -> str:
        """``mean= %g rms= %g rmsd= %g``."""
        g = c_format_g
        return f"mean= {g(self.mean)} rms= {g(self.rms)} rmsd= {g(self.rmsd)}"


def image_stats(
    float_image: np.ndarray, roi: Roi | None = None, mask: np.ndarray | None = None
) -> ImageStats:
    """C's ``max_I``, mean, rms and rmsd of a float image [slow, fast].

    Args:
        float_image: float32 [slow, fast].
        roi: (xmin, xmax, ymin, ymax) inclusive, fast first; None = whole image.
        mask: optional [slow, fast] mask; pixels equal to 0 are not rendered.
    """
    image = np.asarray(float_image, dtype=np.float32)
    rendered = rendered_mask(image.shape, roi, mask)
    every = bool(rendered.all())  # the whole frame: no copies of it, no index of the pixels
    values = image.ravel() if every else image[rendered]
    n = int(values.size)
    total = _sequential_sum(values)
    sumsqr = _sequential_sum(values, lambda v: v * v)  # float32 products, double accumulation

    max_i = 0.0
    max_index = None
    if n:
        k = int(np.argmax(values))  # the first maximum, or the first NaN
        if np.isnan(values[k]):
            k = int(np.argmax(np.where(np.isnan(values), -np.inf, values)))
        if float(values[k]) > 0.0:
            max_i = float(values[k])
            flat = k if every else np.flatnonzero(rendered.ravel())[k]
            max_index = (int(flat // image.shape[1]), int(flat % image.shape[1]))

    n1 = n if n > 0 else 1
    avg = total / n1
    if n1 <= 1:
        n1 = 2
    rms = math.sqrt(sumsqr / (n1 - 1))

    in_roi = values if every else image[roi_mask(image.shape, roi)]
    m = int(in_roi.size)
    sumsqr2 = _sequential_sum(in_roi, lambda v: np.square(v.astype(np.float64) - avg))
    m1 = m if m > 1 else 2
    rmsd = math.sqrt(sumsqr2 / (m1 - 1))
    return ImageStats(max_i, max_index, avg, rms, rmsd, n, m)


def intfile_scale(requested: float, max_i: float) -> float:
    """C's ``intfile_scale``: ``requested`` if > 0, else 55000/max_I (1 when max_I <= 0)."""
    if requested > 0.0:
        return float(requested)
    return INT_FULL_SCALE / max_i if max_i > 0.0 else 1.0


def pgm_scale(requested: float, rmsd: float, int_scale: float) -> float:
    """C's ``pgm_scale``: ``requested`` if > 0, else 250/(5*rmsd) (intfile_scale if rmsd <= 0)."""
    if requested > 0.0:
        return float(requested)
    return 250.0 / (5.0 * rmsd) if rmsd > 0.0 else float(int_scale)


def _c_cast_unsigned(values: np.ndarray, bits: int) -> np.ndarray:
    """C cast of doubles to an unsigned type on x86-64: truncate to int32, keep the low bits.

    NaN and values outside the int32 range become 0 (the "integer indefinite" 0x80000000).
    """
    ok = np.isfinite(values) & (values > -2147483649.0) & (values < 2147483648.0)
    as_int = np.trunc(np.where(ok, values, 0.0)).astype(np.int64)
    return as_int & ((1 << bits) - 1)


def int_image(
    float_image: np.ndarray, scale: float, adc: float = 40.0, roi: Roi | None = None
) -> np.ndarray:
    """C's ``-intfile`` pixels: uint16 [slow, fast].

    ``test = f*scale + adc`` (double), clamped to [0, 65535], then ``floorf(test + 0.5)``
    whose argument is rounded to float32.  Masked pixels (float 0) become ``floor(adc+0.5)``;
    pixels outside the ROI are 0.
    """
    image = np.asarray(float_image, dtype=np.float32)
    test = image.astype(np.float64)
    test *= float(scale)
    test += float(adc)
    test = np.where(test > 65535.0, 65535.0, test)
    test = np.where(test < 0.0, 0.0, test)
    test += 0.5
    rounded = np.floor(test.astype(np.float32))
    # in [0, 65535] or NaN after the clamps: the C cast is the plain conversion, NaN gives 0
    nan = np.isnan(rounded)
    if nan.any():
        rounded[nan] = 0.0
    out = rounded.astype(np.uint16)
    inside = roi_mask(image.shape, roi)
    if not inside.all():
        out[~inside] = 0
    return out


def pgm_image(float_image: np.ndarray, scale: float, roi: Roi | None = None) -> np.ndarray:
    """C's ``-pgmfile`` pixels: uint8 [slow, fast] = ``(unsigned char)min(f*scale, 255)``.

    Truncated toward zero with no lower clamp (C's cast); pixels outside the ROI are 0.
    """
    image = np.asarray(float_image, dtype=np.float32)
    test = image.astype(np.float64) * float(scale)
    test = np.where(test > 255.0, 255.0, test)
    out = _c_cast_unsigned(test, 8).astype(np.uint8)
    out[~roi_mask(image.shape, roi)] = 0
    return out


def scale_lines(int_scale: float, pgm: float | None = None) -> list[str]:
    """C's ``intfile_scale = %g`` and (when a PGM is written) ``pgm_scale = %g`` lines."""
    lines = [f"intfile_scale = {c_format_g(int_scale)}"]
    if pgm is not None:
        lines.append(f"pgm_scale = {c_format_g(pgm)}")
    return lines
