"""Bit-exact model of the C program's random numbers (Numerical Recipes ``ran1``).

The C program draws every random number from one ``ran1`` routine: a Park-Miller minimal
standard generator (Schrage's method) feeding a 32-entry Bays-Durham shuffle table.  The
shuffle table and its output register ``iy`` are *static*, so they are shared by every caller,
while each caller passes its own seed variable ``idum``:

* ``-misset random`` draws 3 numbers from the misset seed,
* the mosaic domains draw 3 numbers per domain (domain 0 included) from the mosaic seed,
* the noise image draws from the noise seed.

A negative ``idum`` (the usual case, since the command line value is negated) re-initialises
the shared table; a positive one continues whatever table the previous stream left behind.
This module models that with one :class:`Ran1` object (the shared table) and one
:class:`Ran1Stream` per seed variable.

The low-level kernel :func:`ran1_kernel` works on small numpy arrays (the seed variable and the
shared table) so that the compiled noise loop (``nanobragg/_cnoise.c``) can share its state.
"""

from __future__ import annotations

import functools
import math
import struct
from collections.abc import Callable

import numpy as np

# Park-Miller / Bays-Durham constants of NR ran1.
NTAB = 32
IA = 16807
IM = 2147483647
AM = 1.0 / IM
IQ = 127773
IR = 2836
NDIV = 1 + (IM - 1) // NTAB
RNMX = 1.0 - 1.2e-7
#: ``(float)RNMX``: what ran1 returns when the deviate would exceed RNMX.
RNMX_F32 = float(np.float32(RNMX))
#: Index of ``iy`` in the shared state array (``iv`` occupies 0..NTAB-1).
IY = NTAB

#: C default of the mosaic seed variable (``mosaic_seed = -12345678``), as a command-line value.
DEFAULT_MOSAIC_SEED = 12345678

_F32 = struct.Struct("f")

try:  # the compiled draws and powf (built by `pip install`); the Python kernels are the fallback
    from nanobragg import _cnoise
except ImportError:  # pragma: no cover - depends on the build
    _cnoise = None


def _use_compiled(compiled: bool | None) -> bool:
    if compiled and _cnoise is None:
        raise RuntimeError("the compiled random-number loops nanobragg._cnoise are not built")
    return _cnoise is not None if compiled is None else compiled


@functools.cache
def _load_powf() -> Callable[[float, float], float] | None:
    """The C library's ``powf`` through ctypes, or None when no libm can be loaded; looked up
    on first use (``find_library`` runs ``ldconfig``: milliseconds every process would pay)."""
    import ctypes.util

    name = ctypes.util.find_library("m")
    if name is None:
        return None
    try:
        func = ctypes.CDLL(name).powf
    except (OSError, AttributeError):
        return None
    func.restype = ctypes.c_float
    func.argtypes = [ctypes.c_float, ctypes.c_float]
    return func


def powf(x: float, y: float) -> float:
    """C's ``powf(x, y)`` for float32 arguments (held in doubles), returning a float32 value.

    Calls the C library's ``powf`` when available: rounding a double ``pow`` to float32 differs
    from glibc's ``powf`` in about 1 of 2000 mosaic domains.  Without a loadable libm it falls
    back to that double-rounded value.
    """
    libm_powf = _load_powf()
    if libm_powf is not None:
        return float(libm_powf(x, y))
    return f32(math.pow(x, y))


# ----------------------------------------------------------------------------------------------
# Scalar kernels
# ----------------------------------------------------------------------------------------------


def f32(x: float) -> float:
    """Round a double to the nearest float32 and return it as a Python float (C's ``(float)x``).

    Overflow gives a signed infinity, as the C conversion does.
    """
    try:
        return _F32.unpack(_F32.pack(x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def ran1_kernel(idum: np.ndarray, state: np.ndarray) -> float:
    """One NR ``ran1`` deviate in (0, 1), as the float32 value C returns (held in a double).

    Args:
        idum: int64 array of shape [1]: the caller's seed variable, updated in place.
        state: int64 array of shape [NTAB + 1]: the shared shuffle table ``iv[0..31]`` followed
            by ``iy`` (index :data:`IY`); 0 for ``iy`` means "never initialised".
    """
    if idum[0] <= 0 or state[IY] == 0:
        # (Re)load the shuffle table; a seed of 0 or a positive seed becomes 1.
        if -idum[0] < 1:
            idum[0] = 1
        else:
            idum[0] = -idum[0]
        for j in range(NTAB + 7, -1, -1):
            k = idum[0] // IQ
            idum[0] = IA * (idum[0] - k * IQ) - IR * k
            if idum[0] < 0:
                idum[0] += IM
            if j < NTAB:
                state[j] = idum[0]
        state[IY] = state[0]
    k = idum[0] // IQ
    idum[0] = IA * (idum[0] - k * IQ) - IR * k
    if idum[0] < 0:
        idum[0] += IM
    j = state[IY] // NDIV
    state[IY] = state[j]
    state[j] = idum[0]
    temp = f32(AM * state[IY])
    if temp > RNMX:
        return RNMX_F32
    return temp


# ----------------------------------------------------------------------------------------------
# Generator objects
# ----------------------------------------------------------------------------------------------


class Ran1:
    """The shared static state of C's ``ran1``: shuffle table ``iv[32]`` and ``iy``.

    One object models one C process.  Create a :class:`Ran1Stream` per seed variable with
    :meth:`stream`; all streams of one object share (and disturb) the same table.
    """

    def __init__(self) -> None:
        self.state = np.zeros(NTAB + 1, dtype=np.int64)

    def stream(self, idum: int) -> Ran1Stream:
        """A stream whose C seed variable starts at ``idum`` (the *internal* value).

        The command line negates seeds (``-seed N`` -> ``idum = -N``); use
        :meth:`stream_from_cli` for that.
        """
        return Ran1Stream(self, idum)

    def stream_from_cli(self, seed: int) -> Ran1Stream:
        """A stream for a command-line seed ``seed`` (``idum = -seed``, as C's ``-atoi``)."""
        return Ran1Stream(self, -int(seed))


class Ran1Stream:
    """One C seed variable (``long idum``) drawing from a shared :class:`Ran1` table."""

    def __init__(self, rng: Ran1, idum: int) -> None:
        self.rng = rng
        self.idum = np.array([idum], dtype=np.int64)

    def uniform(self) -> float:
        """Next ``ran1`` deviate (a float32 value in (0, 1) returned as a Python float)."""
        return ran1_kernel(self.idum, self.rng.state)

    def uniforms(self, n: int, compiled: bool | None = None) -> np.ndarray:
        """The next ``n`` deviates, float64 array of shape [n]: drawn by the compiled loop
        (``compiled`` None or True, when it is built) or by :func:`ran1_kernel` in turn."""
        if _use_compiled(compiled):
            out = np.empty(max(n, 0), dtype=np.float64)
            _cnoise.uniforms(self.idum, self.rng.state, out)
            return out
        return np.array([self.uniform() for _ in range(n)], dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# Random rotations
# ----------------------------------------------------------------------------------------------


def mosaic_rotation_umat(mosaicity: float, stream: Ran1Stream) -> np.ndarray:
    """Random rotation on a spherical cap, exactly as C's ``mosaic_rotation_umat``.

    Draws three deviates r1, r2, r3 (mapped to [-1, 1] in double), picks the axis
    ``(xyrad sin(pi r1), xyrad cos(pi r1), r2)`` with ``xyrad = sqrt(1 - r2^2)`` and the angle
    ``mosaicity * (1 - r3^2)^(1/3)``.  The C parameter is a ``float`` and the cube root is
    ``powf``, so the angle is computed in float32 (``mosaicity`` rounded to float32 first).

    Args:
        mosaicity: cap "diameter" in radians (90.0 -- i.e. radians, not degrees -- for
            ``-misset random``).
        stream: the ran1 stream to draw from (3 draws).

    Returns:
        float64 array [3, 3], row-major ``umat[0..8]`` of C (rows act on column vectors).
    """
    r1 = 2.0 * stream.uniform() - 1.0
    r2 = 2.0 * stream.uniform() - 1.0
    r3 = 2.0 * stream.uniform() - 1.0
    xyrad = math.sqrt(1.0 - r2 * r2)
    # powf((float)(1 - r3^2), (float)(1/3)), times the float parameter, in float32.
    cube_root = powf(f32(1.0 - r3 * r3), f32(1.0 / 3.0))
    rot = f32(f32(mosaicity) * cube_root)
    v1 = xyrad * math.sin(math.pi * r1)
    v2 = xyrad * math.cos(math.pi * r1)
    v3 = r2
    return _axis_angle_matrix(v1, v2, v3, rot)


def _axis_angle_matrix(v1: float, v2: float, v3: float, rot: float) -> np.ndarray:
    """Rodrigues matrix for unit axis (v1, v2, v3) and angle ``rot`` [rad], in C's op order."""
    c = math.cos(rot)
    omc = 1.0 - c
    s = math.sin(rot)
    omc_v1 = omc * v1
    omc_v1_v2 = omc_v1 * v2
    omc_v1_v3 = omc_v1 * v3
    omc_v2_v3 = omc * v2 * v3
    s_v1 = s * v1
    s_v2 = s * v2
    s_v3 = s * v3
    return np.array(
        [
            [c + omc * (v1 * v1), omc_v1_v2 - s_v3, omc_v1_v3 + s_v2],
            [omc_v1_v2 + s_v3, c + omc * (v2 * v2), omc_v2_v3 - s_v1],
            [omc_v1_v3 - s_v2, omc_v2_v3 + s_v1, c + omc * (v3 * v3)],
        ],
        dtype=np.float64,
    )


def mosaic_umats(
    spread_rad: float,
    domains: int,
    seed: int = DEFAULT_MOSAIC_SEED,
    rng: Ran1 | None = None,
    compiled: bool | None = None,
) -> np.ndarray:
    """All mosaic-domain rotation matrices, as C builds them.

    Every domain draws its 3 deviates (domain 0 included); domain 0 is then replaced by the
    identity.

    Args:
        spread_rad: mosaic spread in radians (``-mosaic`` degrees / RTD); rounded to float32
            inside, like C's float parameter.
        domains: number of domains (>= 0).
        seed: the command-line ``-mosaic_seed`` value (internal ``idum = -seed``).
        rng: shared ran1 state (a fresh one when None).
        compiled: all domains at once with the compiled draws and powf (None: when built;
            the tests hold both equal) or C's calls one domain after the other (False).

    Returns:
        float64 array [domains, 3, 3].
    """
    stream = (rng if rng is not None else Ran1()).stream_from_cli(seed)
    n = max(domains, 0)
    if _use_compiled(compiled):
        umats = _cap_rotations(spread_rad, stream.uniforms(3 * n).reshape(n, 3))
    else:  # the reference: C's calls in turn
        umats = np.empty((n, 3, 3), dtype=np.float64)
        for i in range(n):
            umats[i] = mosaic_rotation_umat(spread_rad, stream)
    if n > 0:
        umats[0] = np.eye(3)
    return umats


def _cap_rotations(mosaicity: float, deviates: np.ndarray) -> np.ndarray:
    """:func:`mosaic_rotation_umat` of every row of ``deviates`` [n, 3] at once: [n, 3, 3].

    The same expressions elementwise: numpy's float64 sqrt, sin and cos are the C library's,
    float32 roundings are ``astype(float32)``, and powf is the C library's (compiled loop)."""
    r1, r2, r3 = (2.0 * deviates[:, i] - 1.0 for i in range(3))
    xyrad = np.sqrt(1.0 - r2 * r2)
    cube_root = np.empty(len(r3), dtype=np.float32)
    _cnoise.powf_array((1.0 - r3 * r3).astype(np.float32), f32(1.0 / 3.0), cube_root)
    rot = (np.float64(np.float32(mosaicity)) * cube_root).astype(np.float32).astype(np.float64)
    v1, v2, v3 = xyrad * np.sin(math.pi * r1), xyrad * np.cos(math.pi * r1), r2
    c, s = np.cos(rot), np.sin(rot)
    omc = 1.0 - c
    omc_v1 = omc * v1
    omc_v1_v2, omc_v1_v3, omc_v2_v3 = omc_v1 * v2, omc_v1 * v3, omc * v2 * v3
    s_v1, s_v2, s_v3 = s * v1, s * v2, s * v3
    rows = [
        [c + omc * (v1 * v1), omc_v1_v2 - s_v3, omc_v1_v3 + s_v2],
        [omc_v1_v2 + s_v3, c + omc * (v2 * v2), omc_v2_v3 - s_v1],
        [omc_v1_v3 - s_v2, omc_v2_v3 + s_v1, c + omc * (v3 * v3)],
    ]
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def _normalise_rows(u: list[list[float]]) -> tuple[float, float, float]:
    """Normalise the three rows of ``u`` in place where their norm is > 0; return the norms."""
    norms = []
    for row in u:
        m = math.sqrt(row[0] * row[0] + row[1] * row[1] + row[2] * row[2])
        if m > 0:
            row[0] /= m
            row[1] /= m
            row[2] /= m
        norms.append(m)
    return norms[0], norms[1], norms[2]


def _unit_cross(a: list[float], b: list[float]) -> list[float]:
    """a x b, normalised when its norm is > 0 (C's ``xcy``/``ycz``/``zcx`` helpers)."""
    x = a[1] * b[2] - a[2] * b[1]
    y = a[2] * b[0] - a[0] * b[2]
    z = a[0] * b[1] - a[1] * b[0]
    m = math.sqrt(x * x + y * y + z * z)
    if m > 0:
        x /= m
        y /= m
        z /= m
    return [x, y, z]


def _fill_empty_rows(u: list[list[float]], mx: float, my: float, mz: float) -> None:
    """Replace rows with zero norm by the cross product of the other two (C's fallback)."""
    xcy = _unit_cross(u[0], u[1])
    ycz = _unit_cross(u[1], u[2])
    zcx = _unit_cross(u[2], u[0])
    if mx <= 0:
        u[0] = ycz
    if my <= 0:
        u[1] = zcx
    if mz <= 0:
        u[2] = xcy


def umat2misset(umat: np.ndarray) -> tuple[float, float, float]:
    """XYZ misset angles (radians) of a rotation matrix, as C's ``umat2misset``.

    The matrix is re-normalised row by row (degenerate rows are rebuilt from cross products,
    twice, as in C) before ``rotx = atan2(uzy, uzz)``, ``roty = atan2(-uzx, hypot(uzy, uzz))``,
    ``rotz = atan2(uyx, uxx)``; at gimbal lock (``uzx^2 >= 1``) C returns (pi, pi/2,
    atan2(uxy, -uyy)).

    Args:
        umat: [3, 3] (or 9 values) row-major rotation matrix.

    Returns:
        (rotx, roty, rotz) in radians.
    """
    flat = [float(v) for v in np.asarray(umat, dtype=np.float64).reshape(9)]
    u = [flat[0:3], flat[3:6], flat[6:9]]
    mx, my, mz = _normalise_rows(u)
    # Lone non-empty rows: complete the other two with unit axes.
    if mx >= 0 and my <= 0 and mz <= 0:
        u[1] = [0.0, 1.0, 0.0]
        u[2] = [0.0, 0.0, 1.0]
    if mx <= 0 and my >= 0 and mz <= 0:
        u[0] = [1.0, 0.0, 0.0]
        u[2] = [0.0, 0.0, 1.0]
    if mx <= 0 and my <= 0 and mz >= 0:
        u[0] = [1.0, 0.0, 0.0]
        u[1] = [0.0, 1.0, 0.0]
    _fill_empty_rows(u, mx, my, mz)
    _fill_empty_rows(u, mx, my, mz)
    _normalise_rows(u)
    (uxx, uxy, _), (uyx, uyy, _), (uzx, uzy, uzz) = u
    if uzx * uzx < 1.0:
        rotx = math.atan2(uzy, uzz)
        roty = math.atan2(-uzx, math.sqrt(uzy * uzy + uzz * uzz))
        rotz = math.atan2(uyx, uxx)
    else:
        rotx = math.atan2(1, 1) * 4
        roty = math.atan2(1, 1) * 2
        rotz = math.atan2(uxy, -uyy)
    return rotx, roty, rotz


def random_misset(seed: int, rng: Ran1 | None = None) -> tuple[np.ndarray, tuple[float, ...]]:
    """``-misset random``: a random orientation and its misset angles.

    C calls ``mosaic_rotation_umat(90.0, ...)`` -- 90 *radians* -- on the misset seed stream
    and converts the matrix with ``umat2misset``.  Note that C's ``misset_seed`` defaults to the
    time-based noise seed (it is not updated by ``-seed``); pass the ``-misset_seed`` value.

    Args:
        seed: command-line ``-misset_seed`` value (internal ``idum = -seed``).
        rng: shared ran1 state (a fresh one when None).

    Returns:
        (umat [3, 3] float64, (rotx, roty, rotz) radians).  C prints the angles in degrees as
        ``random orientation misset angles: %f %f %f deg`` (angle * 180/pi).
    """
    stream = (rng if rng is not None else Ran1()).stream_from_cli(seed)
    umat = mosaic_rotation_umat(90.0, stream)
    return umat, umat2misset(umat)
