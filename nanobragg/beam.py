"""Beam model: sources (divergence x dispersion, or a source file), polarization, fluence.

Each source is a unit vector from the sample towards the source (the incident direction is its
negative) and a wavelength in metres. Intensities of all sources are equal: the C program
ignores the source file's intensity column and divides the pixel sum by the source count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from nanobragg.config import BeamConfig
from nanobragg.errors import WorkloadError
from nanobragg.geometry3d import as_tensor, cross, dot, rotate_axis, unitize, value
from nanobragg.units import AVOGADRO, R_E_SQR

SOURCE_DISTANCE = 10.0  # m, fixed in C
#: a larger divergence grid is refused before it is built (its tables alone take gigabytes)
MAX_DIVERGENCE_POINTS = 1 << 24


@dataclass
class Sources:
    """[S, 3] unit vectors sample -> source, and [S] wavelengths (m)."""

    directions: torch.Tensor
    wavelengths: torch.Tensor
    #: what C prints per source: raw position X Y Z, I and lambda
    table: list[tuple[float, float, float, float, float]]
    divergence_steps: int
    dispersion: float
    dispsteps: int
    hdivrange: float
    hdivstep: float
    vdivrange: float
    vdivstep: float
    divergence_grid: list[tuple[float, float]]
    dispstep: float = 0.0
    #: False when the sources came from a source file
    generated: bool = True


def _steps_rule(rng: float, step: float, steps: int, only_steps_range: float = 1.0):
    """C's shared rule for (range, step, count) of divergence/dispersion; -1 = unset."""
    if steps <= 0:
        if rng < 0:
            return (step, step, 2) if step > 0 else (0.0, 0.0, 1)
        if step <= 0:
            return rng, rng, 2
        return rng, step, math.ceil(rng / step)
    if rng < 0:
        if step <= 0:
            return only_steps_range, only_steps_range / steps, steps
        return step, step, 2
    if step <= 0:
        steps = max(steps, 2)
        return rng, rng / (steps - 1), steps
    return rng, step, steps


def _sane(rng: float, step: float, steps: int):
    if rng <= 0 or step <= 0 or steps <= 0:
        return 0.0, 0.0, 1
    return rng, step, steps


def _unset(x, default):
    return default if x is None else x


@dataclass(frozen=True)
class SourceSteps:
    """C's resolved (range, step, count) of the horizontal and vertical divergence and the
    dispersion."""

    h: tuple[float, float, int]
    v: tuple[float, float, int]
    disp: tuple[float, float, int]


def source_steps(cfg: BeamConfig) -> SourceSteps:
    return SourceSteps(
        h=_sane(*_steps_rule(_unset(cfg.hdivrange, -1.0), _unset(cfg.hdivstep, -1.0),
                             _unset(cfg.hdivsteps, -1))),
        v=_sane(*_steps_rule(_unset(cfg.vdivrange, -1.0), _unset(cfg.vdivstep, -1.0),
                             _unset(cfg.vdivsteps, -1))),
        disp=_sane(*_steps_rule(_unset(cfg.dispersion, 0.0), -1.0, _unset(cfg.dispsteps, -1))),
    )


def divergence_points(cfg: BeamConfig, steps: SourceSteps) -> list[tuple[float, float]]:
    """(hdiv, vdiv) of the divergence grid points C keeps, in C's order (h outer)."""
    (hrange, hstep, hsteps), (vrange, vstep, vsteps) = steps.h, steps.v
    if hsteps * vsteps > MAX_DIVERGENCE_POINTS:
        raise WorkloadError(
            f"the divergence grid would have {hsteps} x {vsteps} = {hsteps * vsteps:.3g} points, "
            f"above the limit of {MAX_DIVERGENCE_POINTS:.3g}: use fewer divergence steps",
            "beam.hdivsteps" if hsteps >= vsteps else "beam.vdivsteps",
            f"{hsteps} x {vsteps} divergence points exceed the limit of "
            f"{MAX_DIVERGENCE_POINTS:.3g}")
    hdiv, vdiv = np.meshgrid(hstep * np.arange(hsteps) - hrange / 2.0,
                             vstep * np.arange(vsteps) - vrange / 2.0, indexing="ij")
    hdiv, vdiv = hdiv.ravel(), vdiv.ravel()
    if cfg.round_div:
        keep = ~_outside_ellipse(hdiv, vdiv, hrange, hstep, hsteps, vrange, vstep, vsteps)
        hdiv, vdiv = hdiv[keep], vdiv[keep]
    return list(zip(hdiv.tolist(), vdiv.tolist(), strict=True))


def count_sources(cfg: BeamConfig) -> int:
    """How many sources :func:`build_sources` makes, without making them."""
    if cfg.sources is not None and len(cfg.sources) > 0:
        return len(cfg.sources)
    steps = source_steps(cfg)
    return len(divergence_points(cfg, steps)) * steps.disp[2]


def build_sources(cfg: BeamConfig, beam: torch.Tensor, polar: torch.Tensor) -> Sources:
    """Sources from ``cfg.sources`` (file rows) or the divergence/dispersion grid."""
    lam0 = value(cfg.wavelength)
    steps = source_steps(cfg)
    (hrange, hstep, _), (vrange, vstep, _), (disp, dstep, dsteps) = steps.h, steps.v, steps.disp
    grid: list[tuple[float, float]] = []
    from_file = cfg.sources is not None and len(cfg.sources) > 0
    if from_file:
        positions, lams, intensities = _file_sources(cfg, beam, lam0)
    else:
        grid = divergence_points(cfg, steps)
        positions, lams = _grid_sources(grid, dsteps, dstep, disp, lam0, beam, polar)
        intensities = torch.full_like(lams, 1.0 / len(lams)) if len(lams) else lams
    table = [tuple(row) for row in
             torch.cat([positions, intensities[:, None], lams[:, None]], dim=1).tolist()]
    return Sources(
        directions=unitize(positions), wavelengths=lams, table=table,
        divergence_steps=len(grid), dispersion=disp, dispsteps=dsteps,
        hdivrange=hrange, hdivstep=hstep, vdivrange=vrange, vdivstep=vstep, divergence_grid=grid,
        dispstep=dstep, generated=not from_file,
    )


def _grid_sources(grid: list[tuple[float, float]], dsteps: int, dstep: float, disp: float,
                  lam0: float, beam: torch.Tensor, polar: torch.Tensor):
    """Positions [G*D, 3] and wavelengths [G*D] of the divergence grid x dispersion sources,
    in C's loop order (grid point outer, wavelength inner), with C's expressions: the start
    point rotated about the polarisation axis by vdiv, then about beam x polar by hdiv."""
    vert = unitize(cross(beam, polar))
    start = -SOURCE_DISTANCE * beam
    angles = torch.tensor(grid, dtype=torch.float64).reshape(-1, 2)
    points = rotate_axis(rotate_axis(start[None, :], polar, angles[:, 1]), vert, angles[:, 0])
    offsets = dstep * torch.arange(dsteps, dtype=torch.float64)
    lams = lam0 * (1.0 + offsets - disp / 2.0)  # [D]
    return points.repeat_interleave(dsteps, dim=0), lams.repeat(len(grid))


def _outside_ellipse(hdiv: np.ndarray, vdiv: np.ndarray, hrange, hstep, hsteps, vrange, vstep,
                     vsteps) -> np.ndarray:
    """C's elliptical cut of the divergence grid (keep when 4*test <= 1.1; NaN keeps), with
    IEEE division as in C (x/0 = ±inf, 0/0 = NaN)."""
    h_num = hdiv * hdiv - hstep * hstep / 4.0 * (1 - hsteps % 2)
    v_num = vdiv * vdiv - vstep * vstep / 4.0 * (1 - vsteps % 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        test = h_num / np.float64(hrange) / np.float64(hrange)
        test = test + v_num / np.float64(vrange) / np.float64(vrange)
    return test * 4.0 > 1.1


def _file_sources(cfg: BeamConfig, beam: torch.Tensor, lam0: float):
    # np.asarray first: a table read from a file is parsed here, on first use
    rows = torch.from_numpy(np.asarray(cfg.sources, dtype=np.float64)).reshape(-1, 5)
    default_pos = -SOURCE_DISTANCE * beam
    pos = torch.where(torch.isnan(rows[:, :3]), default_pos[None, :], rows[:, :3])
    intensity = torch.where(torch.isnan(rows[:, 3]), torch.ones_like(rows[:, 3]), rows[:, 3])
    lam = torch.where(torch.isnan(rows[:, 4]), torch.full_like(rows[:, 4], lam0), rows[:, 4])
    return pos, lam, intensity


def fluence_from_config(cfg: BeamConfig) -> float:
    """C: fluence = flux * exposure / beamsize² when flux is given."""
    if cfg.flux != 0.0 and cfg.exposure > 0.0 and cfg.beamsize >= 0:
        return cfg.flux * cfg.exposure / cfg.beamsize / cfg.beamsize
    return cfg.fluence


def polarization_factor(
    kahn: float, incident: torch.Tensor, diffracted: torch.Tensor, axis: torch.Tensor
) -> torch.Tensor:
    """Kahn polarization factor for unit vectors [..., 3]; 0.5(1 + cos²2θ) when kahn = 0."""
    cos2t = dot(incident, diffracted)
    cos2t_sqr = cos2t * cos2t
    sin2t_sqr = 1 - cos2t_sqr
    if kahn == 0.0:
        return 0.5 * (1.0 + cos2t_sqr - 0.0 * sin2t_sqr)
    axis = axis.to(incident.dtype)
    b_in = unitize(cross(axis.expand_as(incident), incident))
    e_in = unitize(cross(incident, b_in))
    psi = -torch.atan2(dot(diffracted, b_in), dot(diffracted, e_in))
    return 0.5 * (1.0 + cos2t_sqr - kahn * torch.cos(2 * psi) * sin2t_sqr)


def wavelength_tensor(cfg: BeamConfig) -> torch.Tensor:
    return as_tensor(cfg.wavelength)


#: water: structure factor (e-) and molecular weight (g/mol) C uses for -water
WATER_F = 2.57
WATER_MW = 18.0


def water_background(cfg: BeamConfig, fluence: float) -> float:
    """The background term ``-water`` adds to every pixel term (C's formula and order):
    F² r_e² fluence size³ 10⁶ N_A / MW, for a cube of water ``water_size`` on a side."""
    return (WATER_F * WATER_F * R_E_SQR * fluence * cfg.water_size ** 3
            * 1e6 * AVOGADRO / WATER_MW)
