"""Crystal model: unit cell, orientation, size, lattice shape, spindle and mosaic domains.

Vectors a, b, c (real space) are in metres in the lab frame; a*, b*, c* in Å⁻¹. The set-up
follows the C program's order exactly (``docs/geometry.md``): reciprocal vectors from ``-cell``
(standard orientation: a* along x, b* in the xy-plane) or from a MOSFLM A matrix divided by λ,
then the misset rotation, then real-space vectors from cross products, then reciprocal vectors
regenerated from those.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch

from nanobragg import rng
from nanobragg.config import CrystalConfig, CrystalShape
from nanobragg.geometry3d import (
    as_tensor,
    cross,
    dot,
    norm,
    rotate_axis,
    rotate_umat,
    rotate_xyz,
    sqrt,
    value,
)
from nanobragg.units import RTD

DBL_MIN = 2.2250738585072014e-308


@dataclass
class Crystal:
    """A resolved crystal (float64 tensors)."""

    #: real-space cell vectors at phi = 0, mosaic domain 0 (m), [3] each
    a0: torch.Tensor
    b0: torch.Tensor
    c0: torch.Tensor
    #: reciprocal vectors of the set-up orientation (Å⁻¹), used by the round/gauss/tophat shapes
    a_star: torch.Tensor
    b_star: torch.Tensor
    c_star: torch.Tensor
    #: cell lengths (Å) and angles (rad), reciprocal lengths (Å⁻¹) and angles, volume (Å³)
    cell: tuple[float, float, float, float, float, float]
    reciprocal_cell: tuple[float, float, float, float, float, float]
    volume: float
    Na: torch.Tensor
    Nb: torch.Tensor
    Nc: torch.Tensor
    shape: CrystalShape
    fudge: float
    #: misset actually applied (rad), e.g. from -misset random
    misset: tuple[float, float, float] | None


def _reciprocal_from_cell(cell) -> tuple[torch.Tensor, ...]:
    """(a*, b*, c*) in Å⁻¹ for a cell in the standard orientation, plus (a, b, c, V) scalars."""
    a, b, c, al, be, ga = (as_tensor(x) for x in cell)
    s = (al + be + ga) / 2
    skew = torch.abs(torch.sin(s) * torch.sin(s - al) * torch.sin(s - be) * torch.sin(s - ga))
    volume = 2.0 * a * b * c * sqrt(skew)
    if float(volume.detach()) <= 0.0:
        volume = torch.full_like(volume, DBL_MIN)
    v_star = 1.0 / volume
    as_len = b * c * torch.sin(al) * v_star
    bs_len = c * a * torch.sin(be) * v_star
    cs_len = a * b * torch.sin(ga) * v_star
    cos_als = (torch.cos(be) * torch.cos(ga) - torch.cos(al)) / (torch.sin(be) * torch.sin(ga))
    cos_bes = (torch.cos(ga) * torch.cos(al) - torch.cos(be)) / (torch.sin(ga) * torch.sin(al))
    cos_gas = (torch.cos(al) * torch.cos(be) - torch.cos(ga)) / (torch.sin(al) * torch.sin(be))
    sin_gas = torch.clamp(c * v_star / as_len / bs_len, max=1.0)
    zero = torch.zeros_like(a)
    a_star = torch.stack([as_len, zero, zero])
    b_star = torch.stack([bs_len * cos_gas, bs_len * sin_gas, zero])
    c_star = torch.stack([
        cs_len * cos_bes,
        cs_len * (cos_als - cos_bes * cos_gas) / sin_gas,
        cs_len * volume / (a * b * c * sin_gas),
    ])
    return a_star, b_star, c_star, a, b, c, volume


def _rescale(v: torch.Tensor, magnitude: torch.Tensor) -> torch.Tensor:
    old = norm(v)
    old = torch.where(old <= 0, torch.ones_like(old), old)
    return (magnitude / old) * v


def build_crystal(cfg: CrystalConfig, wavelength, misset: tuple | None) -> Crystal:
    """Resolve the cell and orientation. ``misset`` is the (possibly random) misset to apply."""
    user_cell = cfg.cell is not None
    if user_cell:
        a_star, b_star, c_star, a_len, b_len, c_len, v_cell = _reciprocal_from_cell(cfg.cell)
    if cfg.amatrix is not None:
        m = as_tensor(cfg.amatrix) * (1e-10 / as_tensor(wavelength))
        a_star, b_star, c_star = m[:, 0], m[:, 1], m[:, 2]
    if misset is not None:
        a_star, b_star, c_star = (rotate_xyz(v, *misset) for v in (a_star, b_star, c_star))

    axb, bxc, cxa = cross(a_star, b_star), cross(b_star, c_star), cross(c_star, a_star)
    v_star = dot(a_star, bxc)
    if user_cell:
        # The user's cell lengths win, also when -mat gave the orientation.
        bxc = _rescale(bxc, a_len / v_cell)
        cxa = _rescale(cxa, b_len / v_cell)
        axb = _rescale(axb, c_len / v_cell)
        v_star = 1.0 / v_cell
    v_cell = 1.0 / v_star
    a, b, c = bxc * v_cell, cxa * v_cell, axb * v_cell
    a_star, b_star, c_star = cross(b, c) * v_star, cross(c, a) * v_star, cross(a, b) * v_star

    n_abc = [as_tensor(cfg.Na), as_tensor(cfg.Nb), as_tensor(cfg.Nc)]
    sizes = (cfg.sample_x, cfg.sample_y, cfg.sample_z)
    for i, (size, vec) in enumerate(zip(sizes, (a, b, c), strict=True)):
        if size > 0:
            n_abc[i] = torch.ceil(as_tensor(size) / norm(vec * 1e-10))
    n_abc = [torch.where(n <= 1.0, torch.ones_like(n), n) for n in n_abc]

    return Crystal(
        a0=a * 1e-10, b0=b * 1e-10, c0=c * 1e-10,
        a_star=a_star, b_star=b_star, c_star=c_star,
        cell=_cell_parameters((a, b, c), (a_star, b_star, c_star), v_cell),
        reciprocal_cell=_cell_parameters((a_star, b_star, c_star), (a, b, c), v_star),
        volume=value(v_cell),
        Na=n_abc[0], Nb=n_abc[1], Nc=n_abc[2],
        shape=cfg.shape, fudge=cfg.fudge,
        misset=None if misset is None else tuple(value(x) for x in misset),
    )


def crystal_size(crystal: Crystal) -> tuple[float, float, float]:
    """Crystal extent along a, b and c: N_i·|a_i| (m)."""
    return tuple(value(norm(v)) * value(n) for v, n in (
        (crystal.a0, crystal.Na), (crystal.b0, crystal.Nb), (crystal.c0, crystal.Nc)))


def _cell_parameters(vectors, duals, dual_volume) -> tuple[float, ...]:
    """Lengths and angles as C prints them: sin from the dual vectors and the volume,
    cos from dot products, angle = atan2(sin, cos) (so a slightly inconsistent cell prints
    C's numbers, not the exact angles)."""
    a, b, c = vectors
    la, lb, lc = (value(norm(v)) for v in vectors)
    da, db, dc = (value(norm(v)) for v in duals)
    vol = value(dual_volume)

    def angle(sin_x: float, u, v, lu, lv) -> float:
        cos_x = value(dot(u, v)) / lu / lv
        sin_x = max(-1.0, min(1.0, sin_x))
        if cos_x * cos_x > 1.0:
            cos_x = 1.0
        return math.atan2(sin_x, cos_x)

    return (la, lb, lc,
            angle(da * vol / lb / lc, b, c, lb, lc),
            angle(db * vol / la / lc, a, c, la, lc),
            angle(dc * vol / la / lb, a, b, la, lb))


@dataclass
class PhiSweep:
    """Spindle rotation: phi_i = phi0 + i*step for i < steps (rad)."""

    phi0: torch.Tensor
    step: float
    steps: int
    osc: float

    def angles(self) -> torch.Tensor:
        return self.phi0 + self.step * torch.arange(self.steps, dtype=torch.float64)


def resolve_phi(cfg: CrystalConfig) -> PhiSweep:
    """C's rules relating -osc, -phistep and -phisteps."""
    osc = -1.0 if cfg.osc is None else cfg.osc
    step = -1.0 if cfg.phistep is None else cfg.phistep
    steps = -1 if cfg.phisteps is None else cfg.phisteps
    if steps < 0:
        if osc < 0:
            steps, osc, step = (2, step, step) if step > 0 else (1, 0.0, 0.0)
        elif step <= 0:
            steps, step = 2, osc / 2.0
        else:
            steps = math.ceil(osc / step)
    else:
        steps = max(steps, 1)
        if osc < 0:
            if step <= 0:
                osc = 1.0 / RTD
                step = osc / steps
            else:
                osc, steps = step, 2
        elif step < 0:
            step = osc / steps
    return PhiSweep(phi0=as_tensor(cfg.phi0), step=step, steps=steps, osc=osc)


def resolve_mosaic(cfg: CrystalConfig) -> tuple[float, int, list[str]]:
    """(spread rad, domain count, warnings) with C's defaults."""
    spread = -1.0 if cfg.mosaic_spread is None else value(cfg.mosaic_spread)
    domains = -1 if cfg.mosaic_domains is None else cfg.mosaic_domains
    warnings: list[str] = []
    if domains <= 0:
        if spread < 0:
            domains, spread = 1, 0.0
        elif spread == 0:
            domains = 1
        else:
            warnings.append(
                "WARNING: finite mosaicity with only one domain! upping to 10 mosaic domains")
            domains = 10
    elif spread < 0:
        warnings.append("WARNING: no mosaic spread specified.  setting mosaic_domains = 1")
        spread, domains = 0.0, 1
    elif spread == 0:
        warnings.append("WARNING: zero mosaic spread specified.  setting mosaic_domains = 1")
        domains = 1
    return spread, domains, warnings


def orientations(
    crystal: Crystal,
    spindle: torch.Tensor,
    phi: torch.Tensor,
    umats: torch.Tensor,
) -> torch.Tensor:
    """Real-space vectors for every (phi, mosaic domain): [phi, mos, 3 (a,b,c), 3 (xyz)] in m.

    a = U_mos · R(spindle, phi) · a0, with C's operation order (rotate_axis then rotate_umat).
    """
    cell0 = torch.stack([crystal.a0, crystal.b0, crystal.c0])  # [3, 3]
    rotated = rotate_axis(cell0[None, :, :], spindle, phi[:, None])  # [phi, 3, 3]
    return rotate_umat(rotated[:, None, :, :], umats[None, :, None, :, :])


def scale_rotation(umats: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Rotations about the same axes by ``factor`` times their angles: [N, 3, 3].

    Used to make mosaic domains differentiable in the spread: the C program draws each domain's
    axis and relative angle from the RNG, so d(angle)/d(spread) = angle/spread.
    """
    w = torch.stack([
        umats[:, 2, 1] - umats[:, 1, 2],
        umats[:, 0, 2] - umats[:, 2, 0],
        umats[:, 1, 0] - umats[:, 0, 1],
    ], dim=-1) / 2.0
    sin_t = torch.linalg.vector_norm(w, dim=-1)
    cos_t = (umats[:, 0, 0] + umats[:, 1, 1] + umats[:, 2, 2] - 1.0) / 2.0
    theta = torch.atan2(sin_t, cos_t) * factor
    axis = w / torch.where(sin_t > 0, sin_t, torch.ones_like(sin_t))[:, None]
    rebuilt = rotate_axis(torch.eye(3, dtype=umats.dtype)[None, :, :], axis[:, None, :],
                          theta[:, None])  # rows: rotated unit vectors = columns of U
    rebuilt = rebuilt.transpose(-1, -2)
    return torch.where((sin_t > 0)[:, None, None], rebuilt, umats)


def resolve_misset(cfg: CrystalConfig, noise_seed: int | None, shared_rng: rng.Ran1
                   ) -> tuple[tuple[torch.Tensor, ...] | None, list[str]]:
    """The misset angles (rad; None: no misset) and C's note for ``-misset random``, which
    draws from ``-misset_seed`` or else the noise seed (else the time, as C)."""
    if cfg.misset_random:
        seed = cfg.misset_seed if cfg.misset_seed is not None else noise_seed
        if seed is None:
            seed = int(time.time())
        _, angles = rng.random_misset(seed, shared_rng)
        note = ("random orientation misset angles: "
                + " ".join(f"{a * RTD:f}" for a in angles) + " deg")
        return tuple(torch.tensor(a, dtype=torch.float64) for a in angles), [note]
    if cfg.misset is None:
        return None, []
    return tuple(as_tensor(a) for a in cfg.misset), []


def mosaic_domains(cfg: CrystalConfig, spread: float, domains: int, shared_rng: rng.Ran1
                   ) -> torch.Tensor:
    """[domains, 3, 3] rotations of the mosaic domains, drawn as C draws them (after
    :func:`resolve_mosaic`); smooth in the spread when the config's spread is a tensor."""
    umats = torch.from_numpy(rng.mosaic_umats(spread, domains, cfg.mosaic_seed, shared_rng))
    if isinstance(cfg.mosaic_spread, torch.Tensor) and spread > 0:
        umats = scale_rotation(umats, cfg.mosaic_spread / spread)
    return umats


def orientation_tables(crystal: Crystal, spindle: torch.Tensor, phi: torch.Tensor,
                       umats: torch.Tensor, carryover: bool
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """[Phi, Mos, 3, 3] real-space vectors used for each phi step, and those of the first
    pixel; with ``carryover`` (quirk ``phi_carryover``) C's phi = 0 steps reuse the last
    nonzero step's orientation, except at the very first pixel."""
    true_table = orientations(crystal, spindle, phi, umats)
    if not carryover:
        return true_table, true_table
    zero = (phi == 0).tolist()
    nonzero = [i for i, z in enumerate(zero) if not z]
    if not any(zero) or not nonzero:
        return true_table, true_table
    eff_src, first_src = [], []
    for i, z in enumerate(zero):
        if not z:
            eff_src.append(i)
            first_src.append(i)
            continue
        earlier = [j for j in nonzero if j < i]
        eff_src.append(earlier[-1] if earlier else nonzero[-1])
        first_src.append(earlier[-1] if earlier else -1)
    eff = true_table[eff_src]
    identity = orientations(crystal, spindle, torch.zeros(1, dtype=phi.dtype), umats)[0]
    first = torch.stack([true_table[j] if j >= 0 else identity for j in first_src])
    return eff, first
