"""Poisson noise image, bit-exact with the C program (NR ``poidev``/``gaussdev``/``gammln``).

C evaluates these routines with ``float`` variables and double library calls (glibc ``exp``,
``log``, ``tan``, ``sqrt``), keeps static caches across calls (``oldm, g, sq, alxm`` in poidev,
the Box-Muller spare in gaussdev) and visits the pixels sequentially in memory order.  The
kernels below reproduce every float32 rounding explicitly with :func:`nanobragg.rng.f32` on
double values, which is exact for single +, -, * and / of float32 operands.

The kernels here are the readable reference. The same loop, compiled from
``nanobragg/_cnoise.c`` with C's own float and double types and no FMA contraction, is what
:func:`noise_image` runs when the extension is built (about 200x faster); tests check that both
give identical bits.

Static cache layout (float64 array of shape [6], see :func:`new_cache`):
``[oldm, g, sq, alxm, iset, gset]``, initialised as in C to ``[-1, 0, 0, 0, 0, 0]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from nanobragg.rng import Ran1, Ran1Stream, f32, ran1_kernel

try:  # the compiled noise loop (built by `pip install`); the Python kernels are the fallback
    from nanobragg._cnoise import noise_loop as _compiled_noise_loop
except ImportError:  # pragma: no cover - depends on the build
    _compiled_noise_loop = None

OLDM, G, SQ, ALXM, ISET, GSET = range(6)

_GAMMLN_COF = (
    76.18009172947146,
    -86.50532032941677,
    24.01409824083091,
    -1.231739572450155,
    0.1208650973866179e-2,
    -0.5395239384953e-5,
)

#: C's default ``-adc`` offset.
DEFAULT_ADC = 40.0


def new_cache() -> np.ndarray:
    """Fresh poidev/gaussdev static state, as at C program start: float64 [6]."""
    cache = np.zeros(6, dtype=np.float64)
    cache[OLDM] = -1.0
    return cache


# ----------------------------------------------------------------------------------------------
# Reference kernels (pure Python).  Every variable holding a C ``float`` is a
# double whose value is float32-representable.
# ----------------------------------------------------------------------------------------------


def c_exp(x: float) -> float:
    """C ``exp``: like math.exp but overflowing to +inf instead of raising."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def c_log(x: float) -> float:
    """C ``log``: -inf at 0 and NaN below 0 instead of raising."""
    if x > 0.0 or x != x:
        return math.log(x)
    if x == 0.0:
        return -math.inf
    return math.nan


def c_sqrt(x: float) -> float:
    """C ``sqrt``: NaN below 0 instead of raising."""
    if x >= 0.0 or x != x:
        return math.sqrt(x)
    return math.nan


def gammln_kernel(xx: float) -> float:
    """NR ``gammln(float xx)``: ln Gamma(xx) computed in double, returned as float32."""
    x = xx
    y = xx
    tmp = x + 5.5
    tmp -= (x + 0.5) * c_log(tmp)
    ser = 1.000000000190015
    for j in range(6):
        y += 1.0
        ser += _GAMMLN_COF[j] / y
    return f32(-tmp + c_log(2.5066282746310005 * ser / x))


def gaussdev_kernel(idum: np.ndarray, state: np.ndarray, cache: np.ndarray) -> float:
    """NR polar Box-Muller ``gaussdev`` in float32, keeping the spare deviate in ``cache``."""
    if cache[ISET] != 0.0:
        cache[ISET] = 0.0
        return cache[GSET]
    while True:
        v1 = f32(2.0 * ran1_kernel(idum, state) - 1.0)
        v2 = f32(2.0 * ran1_kernel(idum, state) - 1.0)
        rsq = f32(f32(v1 * v1) + f32(v2 * v2))
        if not (rsq >= 1.0 or rsq == 0.0):
            break
    fac = f32(c_sqrt(-2.0 * c_log(rsq) / rsq))
    cache[GSET] = f32(v1 * fac)
    cache[ISET] = 1.0
    return f32(v2 * fac)


def poidev_kernel(xm: float, idum: np.ndarray, state: np.ndarray, cache: np.ndarray) -> float:
    """NR ``poidev(float xm)`` with C's float32 arithmetic and static caches.

    Three regimes: xm > 1e6 Gaussian approximation; xm < 12 product of uniforms compared with
    exp(-xm) (at least one draw, even for xm = 0); otherwise rejection from a Lorentzian.
    """
    if xm > 1.0e6:
        return f32(xm + c_sqrt(xm) * gaussdev_kernel(idum, state, cache))
    if xm < 12.0:
        if xm != cache[OLDM]:
            cache[OLDM] = xm
            cache[G] = f32(c_exp(-xm))
        em = -1.0
        t = 1.0
        while True:
            em += 1.0
            t = f32(t * ran1_kernel(idum, state))
            if not (t > cache[G]):
                break
        return em
    if xm != cache[OLDM]:
        cache[OLDM] = xm
        cache[SQ] = f32(c_sqrt(2.0 * xm))
        cache[ALXM] = f32(c_log(xm))
        cache[G] = f32(f32(xm * cache[ALXM]) - gammln_kernel(f32(xm + 1.0)))
    sq = cache[SQ]
    alxm = cache[ALXM]
    g = cache[G]
    while True:
        while True:
            y = f32(math.tan(math.pi * ran1_kernel(idum, state)))
            em = f32(f32(sq * y) + xm)
            if not (em < 0.0):
                break
        em = float(np.floor(em))
        arg = f32(f32(f32(em * alxm) - gammln_kernel(f32(em + 1.0))) - g)
        t = f32(0.9 * (1.0 + f32(y * y)) * c_exp(arg))
        if not (ran1_kernel(idum, state) > t):
            break
    return em


def to_uint16_kernel(value: float) -> int:
    """C's ``(unsigned short)`` of a double on x86-64 (truncate to int32, keep the low 16 bits)."""
    if value != value or value <= -2147483649.0 or value >= 2147483648.0:
        return 0
    return int(value) & 0xFFFF


def noise_loop_kernel(
    image: np.ndarray,
    xmin: int,
    xmax: int,
    ymin: int,
    ymax: int,
    adc: float,
    idum: np.ndarray,
    state: np.ndarray,
    cache: np.ndarray,
    out: np.ndarray,
) -> tuple[float, int]:
    """Sequential noise loop over ``image`` (float64 [slow, fast] of float32 values).

    Pixels with fast index outside [xmin, xmax] or slow index outside [ymin, ymax] are skipped
    (no draws, ``out`` untouched).  Returns (sum of photons in double, overload count).
    """
    total = 0.0
    overloads = 0
    for s in range(image.shape[0]):
        for f in range(image.shape[1]):
            if f < xmin or f > xmax or s < ymin or s > ymax:
                continue
            photons = poidev_kernel(image[s, f], idum, state, cache)
            total += photons
            value = photons + adc
            if value > 65535.0:
                value = 65535.0
                overloads += 1
            out[s, f] = to_uint16_kernel(value)
    return total, overloads


def compiled_available() -> bool:
    """True when the compiled noise loop (``nanobragg._cnoise``) is importable."""
    return _compiled_noise_loop is not None


# ----------------------------------------------------------------------------------------------
# Public scalar API
# ----------------------------------------------------------------------------------------------


def gammln(xx: float) -> float:
    """ln Gamma(xx) as C's ``gammln`` (float32 argument and result)."""
    return gammln_kernel(f32(xx))


def gaussdev(stream: Ran1Stream, cache: np.ndarray) -> float:
    """One standard normal deviate from C's ``gaussdev`` (float32 value).

    Args:
        stream: ran1 stream to draw from.
        cache: static state from :func:`new_cache` (holds the Box-Muller spare).
    """
    return gaussdev_kernel(stream.idum, stream.rng.state, cache)


def poidev(xm: float, stream: Ran1Stream, cache: np.ndarray) -> float:
    """One Poisson deviate of mean ``xm`` (rounded to float32 like C's parameter).

    Args:
        xm: mean photon count.
        stream: ran1 stream to draw from.
        cache: static state from :func:`new_cache`, shared by all calls of one C process.
    """
    return poidev_kernel(f32(xm), stream.idum, stream.rng.state, cache)


# ----------------------------------------------------------------------------------------------
# Noise image
# ----------------------------------------------------------------------------------------------

Roi = tuple[int, int, int, int]


def roi_bounds(roi: Roi | None, shape: tuple[int, int]) -> Roi:
    """C's ROI bounds (xmin, xmax, ymin, ymax), inclusive, fast then slow.

    None, or negative entries, take C's defaults: 0 for the minima and ``fpixels``/``spixels``
    (one past the last pixel, harmless) for the maxima.
    """
    slow, fast = shape
    xmin, xmax, ymin, ymax = roi if roi is not None else (-1, -1, -1, -1)
    return (
        xmin if xmin >= 0 else 0,
        xmax if xmax >= 0 else fast,
        ymin if ymin >= 0 else 0,
        ymax if ymax >= 0 else slow,
    )


@dataclass(frozen=True)
class NoiseResult:
    """Output of :func:`noise_image`.

    Attributes:
        image: uint16 [slow, fast] noise image (0 outside the ROI).
        photons: sum of the Poisson deviates over the ROI (double, before ADC and clipping);
            C prints it with ``%.0f``.
        overloads: number of pixels clipped at 65535.
    """

    image: np.ndarray
    photons: float
    overloads: int

    def summary_line(self) -> str:
        """C's stdout line ``<photons> photons on noise image (<n> overloads)``."""
        return f"{self.photons:.0f} photons on noise image ({self.overloads} overloads)"


def noise_image(
    float_image: np.ndarray,
    seed: int,
    adc: float = DEFAULT_ADC,
    roi: Roi | None = None,
    rng: Ran1 | None = None,
    cache: np.ndarray | None = None,
    compiled: bool | None = None,
) -> NoiseResult:
    """Poisson noise image exactly as C's ``-noisefile`` output.

    Pixel value = ``(uint16)min(poidev(float) + adc, 65535)``; pixels are visited in memory
    order; pixels outside the ROI draw nothing and are 0; masked pixels inside the ROI still
    draw (their float value is 0).

    Args:
        float_image: float32 [slow, fast] photons/pixel (the ``-floatfile`` image).
        seed: the command-line ``-seed`` value; C uses ``idum = -seed`` (so seeds 0 and 1 give
            the same image, and a negative seed continues the shared ran1 table).
        adc: ADC offset added to every pixel (C default 40).
        roi: (xmin, xmax, ymin, ymax) inclusive, fast then slow; None = whole image.
        rng: shared ran1 state of the process (fresh when None); updated in place.
        cache: poidev/gaussdev static state (fresh when None); updated in place.
        compiled: use the compiled loop (True), the Python kernels (False), or the compiled
            loop when it is built (None).

    Returns:
        :class:`NoiseResult`.
    """
    image = np.ascontiguousarray(np.asarray(float_image, dtype=np.float32), dtype=np.float64)
    if image.ndim != 2:
        raise ValueError(f"float_image must be 2-D [slow, fast], got shape {image.shape}")
    xmin, xmax, ymin, ymax = roi_bounds(roi, image.shape)
    stream = (rng if rng is not None else Ran1()).stream_from_cli(seed)
    state_cache = new_cache() if cache is None else cache
    out = np.zeros(image.shape, dtype=np.uint16)
    if compiled and _compiled_noise_loop is None:
        raise RuntimeError("the compiled noise loop nanobragg._cnoise is not built")
    use_compiled = _compiled_noise_loop is not None if compiled is None else compiled
    bounds = (int(xmin), int(xmax), int(ymin), int(ymax), float(adc))
    state = (stream.idum, stream.rng.state, state_cache, out)
    if use_compiled:
        total, overloads = _compiled_noise_loop(image, *image.shape, *bounds, *state)
    else:
        total, overloads = noise_loop_kernel(image, *bounds, *state)
    return NoiseResult(out, float(total), int(overloads))
