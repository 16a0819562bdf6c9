"""Lattice transforms F_latt(h, k, l) of a finite crystal, for the four crystal shapes."""

from __future__ import annotations

import math

import torch

from nanobragg.config import CrystalShape

#: sqrt of the volume ratio between a cube and the inscribed sphere, as nanoBragg uses it
ROUND_XTAL_SCALE = 0.723601254558268
#: gauss/tophat spot-size constants of nanoBragg
GAUSS_WIDTH = 0.63
TOPHAT_RADIUS_SQR = 0.3969


def sincg(x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """sin(N x)/sin(x), the grating function; N at x = 0 (C's ``sincg``)."""
    safe = torch.where(x == 0, torch.ones_like(x), x)
    return torch.where(x == 0, n.expand_as(x).to(x.dtype), torch.sin(safe * n) / torch.sin(safe))


def sinc3(x: torch.Tensor) -> torch.Tensor:
    """3 (sin x / x - cos x) / x², the sphere transform; 1 at x = 0."""
    safe = torch.where(x == 0, torch.ones_like(x), x)
    return torch.where(
        x == 0, torch.ones_like(x), 3.0 * (torch.sin(safe) / safe - torch.cos(safe)) / (safe * safe)
    )


def lattice_factor(
    hkl: torch.Tensor,
    n_cells: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    shape: CrystalShape,
    fudge: float,
    reciprocal: torch.Tensor | None = None,
) -> torch.Tensor:
    """F_latt for fractional Miller indices ``hkl`` [..., 3].

    ``reciprocal`` [3, 3] holds the set-up a*, b*, c* (rows, Å⁻¹) used by the gauss and tophat
    shapes (C measures those spots with the unrotated reciprocal vectors).
    """
    na, nb, nc = (n.to(hkl.dtype) for n in n_cells)
    h, k, l = hkl[..., 0], hkl[..., 1], hkl[..., 2]
    if shape is CrystalShape.SQUARE:
        f = torch.ones_like(h)
        for idx, n in ((h, na), (k, nb), (l, nc)):
            if float(n) > 1.0:
                f = f * sincg(math.pi * idx, n)
        return f
    dh = hkl - torch.ceil(hkl - 0.5)
    if shape is CrystalShape.ROUND:
        hrad_sqr = (dh[..., 0] * dh[..., 0] * na * na + dh[..., 1] * dh[..., 1] * nb * nb
                    + dh[..., 2] * dh[..., 2] * nc * nc)
        return na * nb * nc * ROUND_XTAL_SCALE * sinc3(math.pi * torch.sqrt(hrad_sqr * fudge))
    rs = reciprocal.to(hkl.dtype)
    d_star = dh[..., 0, None] * rs[0] + dh[..., 1, None] * rs[1] + dh[..., 2, None] * rs[2]
    rad_star_sqr = (
        d_star[..., 0] * d_star[..., 0] + d_star[..., 1] * d_star[..., 1]
        + d_star[..., 2] * d_star[..., 2]
    ) * na * na * nb * nb * nc * nc
    if shape is CrystalShape.GAUSS:
        return na * nb * nc * torch.exp(-(rad_star_sqr / GAUSS_WIDTH * fudge))
    return na * nb * nc * (rad_star_sqr * fudge < TOPHAT_RADIUS_SQR).to(hkl.dtype)
