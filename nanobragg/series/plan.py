"""The frames of a series: per-frame seeds, rotation ranges, still orientations and shot
parameters, and the per-frame :class:`~nanobragg.config.SimulationConfig`.

Seeds (documented in ``docs/series.md``): frame ``i`` of a series with base seed ``S`` has
``seed_i = 1 + (first 8 bytes of sha256("nanobragg-series/S/i"), big-endian) mod (2^31 - 2)``.
It is the frame's noise seed (``-seed``), and for stills it also seeds the frame's draws: each
quantity ``k`` (orientation 0, N 1, mosaic 2, fluence 3, beam centre 4) draws from
``numpy.random.default_rng([seed_i, k])``, so switching one distribution on or off leaves the
others unchanged. A frame depends on nothing but ``S``, ``i`` and the command line: not on the
executor, the number of workers or the order of completion.

Every frame is also an ordinary ``nanobragg`` run: :meth:`FrameSpec.flags` gives the flags
that, appended to the frame arguments, reproduce it (the manifest records them).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

import numpy as np

from nanobragg.config import Pivot, SimulationConfig
from nanobragg.units import RTD

_SEED_RANGE = 2**31 - 2
_ORIENTATION, _N, _MOSAIC, _FLUENCE, _BEAM = range(5)


def frame_seed(base_seed: int, index: int) -> int:
    """The seed of frame ``index`` (in [1, 2^31 - 2], a valid C ``-seed``)."""
    digest = hashlib.sha256(f"nanobragg-series/{int(base_seed)}/{int(index)}".encode()).digest()
    return 1 + int.from_bytes(digest[:8], "big") % _SEED_RANGE


@dataclass(frozen=True)
class StillsDistributions:
    """Optional shot-to-shot variation of stills (None = as in the frame arguments)."""

    #: unit cells per edge, uniform integer in [lo, hi] (-N)
    n_range: tuple[int, int] | None = None
    #: mosaic spread, uniform in [lo, hi] degrees (-mosaic)
    mosaic_range: tuple[float, float] | None = None
    #: fluence factor exp(sigma * z), z ~ N(0, 1) (scales -fluence, or -flux when given)
    fluence_sigma: float | None = None
    #: beam centre shift, N(0, sigma) mm in X and Y (-Xbeam/-Ybeam)
    beam_sigma_mm: float | None = None


@dataclass(frozen=True)
class FrameSpec:
    """One frame: its index, seed and what distinguishes it from the frame arguments."""

    index: int
    seed: int
    phi_start_deg: float | None = None
    osc_deg: float | None = None
    quaternion: tuple[float, float, float, float] | None = None
    misset_deg: tuple[float, float, float] | None = None
    n_cells: int | None = None
    mosaic_deg: float | None = None
    fluence_factor: float | None = None
    beam_mm: tuple[float, float] | None = None

    def flags(self, base: SimulationConfig) -> list[str]:
        """``nanobragg`` flags that, added to the frame arguments, render this frame."""
        out = ["-seed", str(self.seed)]
        if base.crystal.misset_random and base.crystal.misset_seed is not None:
            out += ["-misset_seed", str(base.crystal.misset_seed)]
        if self.phi_start_deg is not None:
            out += ["-phi", repr(self.phi_start_deg), "-osc", repr(self.osc_deg)]
        if self.misset_deg is not None:
            out += ["-misset", *(repr(a) for a in self.misset_deg)]
        if self.n_cells is not None:
            out += ["-N", str(self.n_cells)]
        if self.mosaic_deg is not None:
            out += ["-mosaic", repr(self.mosaic_deg)]
        if self.fluence_factor is not None:
            flag, value = _fluence_flag(base, self.fluence_factor)
            out += [flag, repr(value)]
        if self.beam_mm is not None:
            out += ["-Xbeam", repr(self.beam_mm[0]), "-Ybeam", repr(self.beam_mm[1])]
        return out

    def manifest_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {"seed": self.seed}
        if self.phi_start_deg is not None:
            fields.update(phi_start=self.phi_start_deg, osc=self.osc_deg)
        if self.quaternion is not None:
            fields.update(orientation={"quaternion_wxyz": list(self.quaternion),
                                       "misset_deg": list(self.misset_deg)})
        for key, value in (("N", self.n_cells), ("mosaic_deg", self.mosaic_deg),
                           ("fluence_factor", self.fluence_factor),
                           ("beam_center_mm", self.beam_mm)):
            if value is not None:
                fields[key] = list(value) if isinstance(value, tuple) else value
        return fields


def rotation_frames(count: int, phi0_deg: float, osc_deg: float, base_seed: int
                    ) -> list[FrameSpec]:
    """Frame i integrates phi0 + i*osc ... phi0 + (i+1)*osc."""
    return [FrameSpec(i, frame_seed(base_seed, i), phi_start_deg=phi0_deg + i * osc_deg,
                      osc_deg=osc_deg) for i in range(count)]


def still_frames(count: int, base_seed: int, dist: StillsDistributions,
                 beam_mm: tuple[float, float]) -> list[FrameSpec]:
    """Stills: a uniform random orientation per shot, plus the optional distributions.
    ``beam_mm`` is the resolved beam centre (Xbeam, Ybeam) of the frame arguments."""
    return [_still(i, frame_seed(base_seed, i), dist, beam_mm) for i in range(count)]


def _still(index: int, seed: int, dist: StillsDistributions, beam_mm) -> FrameSpec:
    def draw(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, k])

    q = draw(_ORIENTATION).standard_normal(4)
    q = q / np.linalg.norm(q)
    if q[0] < 0:  # q and -q are the same rotation: keep w >= 0
        q = -q
    n = mosaic = fluence = beam = None
    if dist.n_range is not None:
        n = int(draw(_N).integers(dist.n_range[0], dist.n_range[1], endpoint=True))
    if dist.mosaic_range is not None:
        mosaic = float(draw(_MOSAIC).uniform(*dist.mosaic_range))
    if dist.fluence_sigma is not None:
        fluence = float(math.exp(dist.fluence_sigma * draw(_FLUENCE).standard_normal()))
    if dist.beam_sigma_mm is not None:
        dx, dy = draw(_BEAM).normal(0.0, dist.beam_sigma_mm, 2)
        beam = (float(beam_mm[0] + dx), float(beam_mm[1] + dy))
    quaternion = tuple(float(c) for c in q)
    return FrameSpec(index, seed, quaternion=quaternion,
                     misset_deg=misset_angles(quaternion_matrix(quaternion)),
                     n_cells=n, mosaic_deg=mosaic, fluence_factor=fluence, beam_mm=beam)


def quaternion_matrix(q: tuple[float, float, float, float]) -> np.ndarray:
    """Rotation matrix of the unit quaternion (w, x, y, z)."""
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])


def misset_angles(matrix: np.ndarray) -> tuple[float, float, float]:
    """``-misset`` angles (deg) of a rotation: C rotates about x, then y, then z, so
    R = Rz(c) Ry(b) Rx(a)."""
    m = np.asarray(matrix)
    a = math.atan2(m[2, 1], m[2, 2])
    b = math.atan2(-m[2, 0], math.hypot(m[2, 1], m[2, 2]))
    c = math.atan2(m[1, 0], m[0, 0])
    return (a * RTD, b * RTD, c * RTD)


def _fluence_flag(base: SimulationConfig, factor: float) -> tuple[str, float]:
    """A fluence factor acts on -flux when the frame arguments give one (it then defines the
    fluence), else on -fluence."""
    if base.beam.flux != 0.0:
        return "-flux", base.beam.flux * factor
    return "-fluence", base.beam.fluence * factor


def frame_config(base: SimulationConfig, frame: FrameSpec) -> SimulationConfig:
    """The frame's config: ``base`` with the frame's flags applied, converted as the
    ``nanobragg`` parser converts them (degrees / RTD, mm / 1000). Untouched sections are
    shared with ``base`` (the Simulator then re-resolves only what changed)."""
    crystal, beam, detector = base.crystal, base.beam, base.detector
    if frame.phi_start_deg is not None:
        crystal = replace(crystal, phi0=frame.phi_start_deg / RTD, osc=frame.osc_deg / RTD)
    if frame.misset_deg is not None:
        crystal = replace(crystal, misset=tuple(a / RTD for a in frame.misset_deg),
                          misset_random=False)
    if frame.n_cells is not None:
        n = float(frame.n_cells)
        crystal = replace(crystal, Na=n, Nb=n, Nc=n)
    if frame.mosaic_deg is not None:
        crystal = replace(crystal, mosaic_spread=frame.mosaic_deg / RTD)
    if frame.fluence_factor is not None:
        flag, value = _fluence_flag(base, frame.fluence_factor)
        beam = replace(beam, **{"flux" if flag == "-flux" else "fluence": value})
    if frame.beam_mm is not None:
        detector = replace(detector, beam_x=frame.beam_mm[0] / 1000.0,
                           beam_y=frame.beam_mm[1] / 1000.0, pivot=Pivot.BEAM)
    return replace(base, crystal=crystal, beam=beam, detector=detector, seed=frame.seed)
