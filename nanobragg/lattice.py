"""Lattice transforms F_latt(h, k, l) of a finite crystal, for the four crystal shapes."""

from __future__ import annotations

import math

import torch

from nanobragg.config import CrystalShape
from nanobragg.geometry3d import sqrt

#: sqrt of the volume ratio between a cube and the inscribed sphere, as nanoBragg uses it
ROUND_XTAL_SCALE = 0.723601254558268
#: gauss/tophat spot-size constants of nanoBragg
GAUSS_WIDTH = 0.63
TOPHAT_RADIUS_SQR = 0.3969


def sincg(x: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """sin(N x)/sin(x), the grating function; N at x = 0 (C's ``sincg``)."""
    zero = x == 0
    safe = x + zero  # 1 where x = 0 keeps 0/0 (and its NaN gradient) out of the unused branch
    return torch.where(zero, n.to(x.dtype), torch.sin(safe * n) / torch.sin(safe))


def sincg_reduced(rest: torch.Tensor, frac: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
    """sin(N π h)/sin(π h) = sin(π rest)/sin(π frac), from arguments reduced in float64.

    For h = whole + frac (whole = ceil(h - 0.5)) and m = round(N h): sin(π h) =
    (-1)^whole sin(π frac) and sin(π N h) = (-1)^m sin(π (N h - m)); ``rest`` = ±(N h - m)
    carries the sign (-1)^(m + whole) (sine is odd). Both arguments are within π/2, where a low
    precision keeps the relative error of one rounding, so float32 loses nothing near the Bragg
    peaks at any N (an unreduced float32 argument is off by N·|h|·6e-8 rad, and one near π leaves
    the sine few correct digits). The value is C's ``sincg(M_PI*h, N)`` for any N, and so is its
    gradient. ``rest`` and ``frac`` come from :func:`nanobragg.miller.miller_split`.
    """
    zero = frac == 0
    safe = frac.masked_fill(zero, 1.0)
    ratio = torch.sin(rest * math.pi) / torch.sin(safe * math.pi)
    return torch.where(zero, n.to(frac.dtype), ratio)


def sinc3(x: torch.Tensor) -> torch.Tensor:
    """3 (sin x / x - cos x) / x², the sphere transform; 1 at x = 0."""
    zero = x == 0
    safe = x + zero
    return torch.where(zero, 1.0, 3.0 * (torch.sin(safe) / safe - torch.cos(safe)) / (safe * safe))


def lattice_factor(
    h: torch.Tensor,
    k: torch.Tensor,
    l: torch.Tensor,
    n_cells: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    shape: CrystalShape,
    fudge: float,
    reciprocal: torch.Tensor | None = None,
    active: tuple[bool, bool, bool] | None = None,
) -> torch.Tensor:
    """F_latt for fractional Miller indices h, k, l (same shape).

    ``active`` says which N exceed 1 (the square shape skips a factor for N <= 1, as C does);
    pass it precomputed to keep the function free of host synchronisation (torch.compile).

    ``reciprocal`` [3, 3] holds the set-up a*, b*, c* (rows, Å⁻¹) used by the gauss and tophat
    shapes (C measures those spots with the unrotated reciprocal vectors).
    """
    na, nb, nc = (n.to(h.dtype) for n in n_cells)
    if shape is CrystalShape.SQUARE:
        if active is None:
            active = tuple(float(n.detach()) > 1.0 for n in n_cells)
        f = None
        for idx, n, on in ((h, na, active[0]), (k, nb, active[1]), (l, nc, active[2])):
            if on:
                term = sincg(math.pi * idx, n)
                f = term if f is None else f * term
        return torch.ones_like(h) if f is None else f
    dh, dk, dl = h - torch.ceil(h - 0.5), k - torch.ceil(k - 0.5), l - torch.ceil(l - 0.5)
    if shape is CrystalShape.ROUND:
        hrad_sqr = dh * dh * na * na + dk * dk * nb * nb + dl * dl * nc * nc
        # sinc3 is even, so at hrad = 0 it is 1 with zero slope; keeping sqrt away from 0 keeps
        # the gradient finite there (sqrt'(0) = inf times a zero slope is NaN)
        arg = hrad_sqr * fudge
        zero = arg == 0
        shaped = torch.where(zero, 1.0, sinc3(math.pi * sqrt(torch.where(zero, 1.0, arg))))
        return na * nb * nc * ROUND_XTAL_SCALE * shaped
    rs = reciprocal.to(h.dtype)
    dx = dh * rs[0, 0] + dk * rs[1, 0] + dl * rs[2, 0]
    dy = dh * rs[0, 1] + dk * rs[1, 1] + dl * rs[2, 1]
    dz = dh * rs[0, 2] + dk * rs[1, 2] + dl * rs[2, 2]
    rad_star_sqr = (dx * dx + dy * dy + dz * dz) * na * na * nb * nb * nc * nc
    if shape is CrystalShape.GAUSS:
        return na * nb * nc * torch.exp(-(rad_star_sqr / GAUSS_WIDTH * fudge))
    return na * nb * nc * (rad_star_sqr * fudge < TOPHAT_RADIUS_SQR).to(h.dtype)
