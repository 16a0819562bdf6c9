"""The intensity kernel: photons per pixel for a chunk of pixels, fully vectorised.

For every pixel the C program loops over detector layers, sub-pixels (slow, fast), sources,
phi steps and mosaic domains, in that order. Here one chunk of pixels is one tensor of shape
``[P, T, Sub, Src, Phi, Mos]`` whose row-major flattening is exactly C's loop order, so order-
dependent behaviours (the phi carry-over, the running-sum quirks and the one-time interpolation
fallback) are reproduced without loops.

Per sub-pixel position ``pos`` (m): ``d = pos/|pos|``; per source with incident direction ``i``
and wavelength λ: ``S = (d - i)/λ``; per orientation: ``h = a·S``, ``k = b·S``, ``l = c·S``;
the term is ``F_cell² F_latt²``. The pixel is ``r_e² fluence ΣI / steps · capture · P · ω``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from nanobragg.beam import polarization_factor
from nanobragg.config import Quirks
from nanobragg.detector import DetectorGeometry, subpixel_positions
from nanobragg.geometry3d import dot
from nanobragg.lattice import lattice_factor
from nanobragg.units import R_E_SQR


@dataclass
class KernelInputs:
    """Everything the kernel needs, already on the device in the kernel dtype."""

    geometry: DetectorGeometry
    oversample: int
    #: incident unit vectors [Src, 3] and wavelengths [Src] (m)
    incident: torch.Tensor
    wavelengths: torch.Tensor
    #: real-space (a, b, c) per phi step and domain [Phi, Mos, 3, 3] (m, float64); ``first`` is
    #: the table for the very first evaluated sweep (differs only with the phi carry-over quirk)
    orientations: torch.Tensor
    orientations_first: torch.Tensor
    n_cells: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    shape: object
    fudge: float
    reciprocal: torch.Tensor
    structure_factors: object
    default_F: float
    #: F_cell² F_latt² as one function of (h, k, l), possibly compiled; None = general path
    term_function: object
    interpolate: bool
    kahn_factor: float
    nopolar: bool
    polar_vector: torch.Tensor
    fluence: float
    water_background: float
    dmin: float
    steps: int
    oversample_thick: bool
    oversample_polar: bool
    oversample_omega: bool
    quirks: Quirks
    dtype: torch.dtype
    device: torch.device


@dataclass
class KernelState:
    """What carries over from one chunk to the next, in pixel order."""

    first_sweep_done: bool = False
    interpolation_on: bool = True
    fallback_at: tuple[int, ...] | None = None
    omega_sum: float = 0.0
    extra: dict = field(default_factory=dict)


def render_chunk(
    inp: KernelInputs, slow: torch.Tensor, fast: torch.Tensor, state: KernelState,
    record: dict | None = None,
) -> torch.Tensor:
    """Photons for the pixels (slow[P], fast[P]), in memory order. Returns [P].

    ``record`` (a dict) receives the intermediate tensors, for traces.
    """
    geom, os_ = inp.geometry, inp.oversample
    # The per-pixel stage ([P, T, Sub, Src], K times smaller than the term stage) always runs
    # in float64: a float32 scattering vector alone would put ~1e-7·|h| into every index.
    fine = torch.float64
    layers = [
        subpixel_positions(geom, slow, fast, os_, t, fine).reshape(len(slow), os_ * os_, 3)
        for t in range(geom.thicksteps)
    ]
    pos = torch.stack(layers, dim=1)  # [P, T, Sub, 3]
    airpath = torch.sqrt(dot(pos, pos))
    diffracted = pos / airpath[..., None]
    omega = _solid_angle(inp, airpath)  # [P, T, Sub]
    capture_fraction = _capture_fraction(inp, diffracted)  # [P, T, Sub]
    incident = inp.incident.to(fine)[None, None, None]  # [1, 1, 1, Src, 3]
    scattering = (diffracted[:, :, :, None, :] - incident) / inp.wavelengths.to(fine)[:, None]
    evaluated = _dmin_mask(inp, scattering)  # [P, T, Sub, Src]
    general = record is not None or inp.term_function is None
    polar = _polarization(inp, incident, diffracted, full=general or inp.dmin > 0)
    per_pixel = _pixel_factors(inp, omega, capture_fraction, polar, evaluated)
    state.omega_sum += float(_omega_sum(inp, omega).sum().detach())
    if general:
        total = _general_total(inp, scattering, evaluated, omega, capture_fraction, polar, state,
                               record)
    else:
        total = _layer_total(inp, _fast_layer_sums(inp, scattering, evaluated, state),
                             capture_fraction)
    pixels = _finish(inp, total, per_pixel).to(inp.dtype)
    if record is not None:
        record.update(pos=pos, airpath=airpath, diffracted=diffracted, omega=omega,
                      capture_fraction=capture_fraction, scattering=scattering, polar=polar,
                      evaluated=evaluated, total=total, pixel_factors=per_pixel, pixels=pixels)
    return pixels


def _fast_layer_sums(inp: KernelInputs, scattering, evaluated, state: KernelState):
    """Σ F_cell² F_latt² per (pixel, layer): [P, T], with [K, N]-contiguous term tensors.

    N counts (pixel, layer, sub-pixel, source) evaluations and K (phi, mosaic) orientations;
    keeping K outermost makes h, k, l contiguous rows of one matrix product.
    """
    lead = scattering.shape[:-1]
    s = scattering.reshape(-1, 3)
    table = inp.orientations.permute(2, 0, 1, 3).to(s.dtype)  # [3 (abc), Phi, Mos, 3]
    first = _first_sweep(evaluated, state)
    first_table = inp.orientations_first.permute(2, 0, 1, 3).to(s.dtype)
    fracs, wholes = [], []
    for axis in range(3):  # one Miller index at a time keeps the float64 temporaries small
        index = table[axis].reshape(-1, 3) @ s.T  # [K, N]
        if first is not None:
            index[:, first] = first_table[axis].reshape(-1, 3) @ s[first]
        if inp.dtype == index.dtype:
            fracs.append(index)
            wholes.append(index)
            continue
        # Nearest integer and fractional part in float64, then the low-precision terms: the
        # lattice factor needs only the fractional part (periodic in h for whole N), F_cell only
        # the integer part, so float32 loses no accuracy near the Bragg peaks.
        whole = (index - 0.5).ceil_()
        fracs.append(index.sub_(whole).to(inp.dtype))
        wholes.append(whole.to(inp.dtype) if inp.structure_factors is not None else None)
        del index, whole
    terms = inp.term_function(*fracs, *wholes)
    if inp.dmin > 0:
        terms = terms * evaluated.reshape(1, -1)
    return terms.sum(dim=0).reshape(lead).sum(dim=(2, 3))


def _first_sweep(evaluated: torch.Tensor, state: KernelState) -> int | None:
    """Flat index of the run's first evaluated (pixel, layer, sub-pixel, source), once.

    It sees the set-up orientation at phi = 0: C's carry-over has nothing to carry yet.
    """
    if state.first_sweep_done or not bool(evaluated.any()):
        return None
    state.first_sweep_done = True
    return int(torch.nonzero(evaluated.reshape(-1))[0])


def _general_total(inp, scattering, evaluated, omega, capture_fraction, polar, state, record):
    """Every term kept in C's loop order [P, T, Sub, Src, Phi, Mos], for the order-dependent
    quirks (interpolation fallback, running sums), water and traces."""
    h, k, l = _miller_indices(inp, scattering, evaluated, state, record)
    f_latt = lattice_factor(h, k, l, inp.n_cells, inp.shape, inp.fudge, inp.reciprocal)
    live = evaluated[..., None, None] & ((f_latt != 0) | (inp.water_background != 0))
    f_cell = _structure_factor(inp, h, k, l, live, state)
    terms = f_cell * f_cell * f_latt * f_latt
    if inp.dmin > 0:
        terms = torch.where(evaluated[..., None, None], terms, 0.0)
    if record is not None:
        record.update(hkl=torch.stack([h, k, l], dim=-1), f_latt=f_latt, f_cell=f_cell)
    if inp.oversample_thick or inp.oversample_polar or inp.oversample_omega:
        return _running_sum(inp, terms, live, omega, capture_fraction, polar)
    return _layer_total(inp, terms.sum(dim=(2, 3, 4, 5)), capture_fraction)


def bragg_terms(inp: KernelInputs):
    """F_cell² F_latt² as a pure function of (h, k, l), for the fast path.

    Valid when no order-dependent quirk needs per-term masks: no interpolation fallback, no
    running-sum oversampling, no water (see :func:`fast_path_allowed`).
    """
    n_cells, shape, fudge, rec = inp.n_cells, inp.shape, inp.fudge, inp.reciprocal
    sf, default_F = inp.structure_factors, inp.default_F
    active = tuple(float(n.detach()) > 1.0 for n in n_cells)

    def terms(h, k, l, h0, k0, l0) -> torch.Tensor:
        """(h, k, l) for the lattice factor, (h0, k0, l0) for the F lookup: either the same
        full indices, or fractional and integer parts (exact for whole N)."""
        f_latt = lattice_factor(h, k, l, n_cells, shape, fudge, rec, active)
        if sf is None:
            return default_F * default_F * f_latt * f_latt
        f_cell = sf(h0, k0, l0, None, None)
        return f_cell * f_cell * f_latt * f_latt

    return terms


def fast_path_allowed(inp: KernelInputs) -> bool:
    """No order-dependent quirk, no water, and whole numbers of cells (the fast path may
    reduce h, k, l to their fractional parts, which needs an integer N)."""
    whole_n = all(float(n.detach()).is_integer() for n in inp.n_cells)
    return whole_n and not (inp.interpolate or inp.water_background or inp.oversample_thick
                            or inp.oversample_polar or inp.oversample_omega)


def _solid_angle(inp: KernelInputs, airpath: torch.Tensor) -> torch.Tensor:
    geom = inp.geometry
    if geom.point_pixel:
        return 1.0 / airpath / airpath
    close = geom.close_distance.to(airpath.dtype)
    return geom.pixel_size * geom.pixel_size / airpath / airpath * close / airpath


def _omega_sum(inp: KernelInputs, omega: torch.Tensor) -> torch.Tensor:
    """C's running Σω over sub-pixels and layers (ω of the first sub-pixel unless oversampled)."""
    if inp.oversample_omega:
        return omega.to(torch.float64).sum(dim=(1, 2))
    return omega[:, 0, 0].to(torch.float64) * (omega.shape[1] * omega.shape[2])


def _capture_fraction(inp: KernelInputs, diffracted: torch.Tensor) -> torch.Tensor:
    geom = inp.geometry
    if geom.thickness == 0.0:
        return torch.ones(diffracted.shape[:-1], dtype=diffracted.dtype, device=diffracted.device)
    parallax = dot(diffracted, geom.odet.to(diffracted.dtype))
    tic = torch.arange(geom.thicksteps, dtype=diffracted.dtype, device=diffracted.device)
    tic = tic[None, :, None]
    return (torch.exp(-tic * geom.thickstep * geom.mu / parallax)
            - torch.exp(-(tic + 1) * geom.thickstep * geom.mu / parallax))


def _dmin_mask(inp: KernelInputs, scattering: torch.Tensor) -> torch.Tensor:
    shape = scattering.shape[:-1]
    if inp.dmin <= 0:
        return torch.ones(shape, dtype=torch.bool, device=scattering.device)
    stol = 0.5 * torch.sqrt(dot(scattering, scattering))
    safe = torch.where(stol > 0, stol, torch.ones_like(stol))
    return ~((stol > 0) & (inp.dmin > 0.5 / safe))


def _polarization(inp: KernelInputs, incident, diffracted, full: bool) -> torch.Tensor:
    """Polarization factor [P, T, Sub, Src]; without ``full`` only where C evaluates it once
    per pixel (first sub-pixel, first source: shape [P, 1, 1, 1])."""
    if not full:
        diffracted = diffracted[:, :1, :1]
        incident = incident[..., :1, :]
    shape = diffracted.shape[:-1] + (incident.shape[-2],)
    if inp.nopolar:
        return torch.ones(shape, dtype=diffracted.dtype, device=diffracted.device)
    return polarization_factor(
        inp.kahn_factor, incident.expand(*shape, 3), diffracted[:, :, :, None, :].expand(*shape, 3),
        inp.polar_vector,
    )


def _miller_indices(inp: KernelInputs, scattering, evaluated, state: KernelState,
                    record: dict | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """h, k, l for every (P, T, Sub, Src, Phi, Mos), each [P, T, Sub, Src, Phi, Mos].

    One matrix product: S [N, 3] @ (a, b, c of every orientation) [3, 3K].
    """
    cell = inp.orientations  # [Phi, Mos, 3 (abc), 3 (xyz)]
    n_phi, n_mos = cell.shape[:2]
    lead = scattering.shape[:-1]
    table = cell.permute(3, 2, 0, 1).reshape(3, 3 * n_phi * n_mos).to(scattering.dtype)
    hkl = (scattering.reshape(-1, 3) @ table).reshape(*lead, 3, n_phi, n_mos)
    first = _first_sweep(evaluated, state)
    if first is not None:
        idx = tuple(int(i) for i in torch.unravel_index(torch.tensor(first), lead))
        first_table = inp.orientations_first.permute(3, 2, 0, 1).reshape(3, -1)
        first_table = first_table.to(scattering.dtype)
        hkl[idx] = (scattering[idx][None, :] @ first_table).reshape(3, n_phi, n_mos)
        if record is not None:
            record["first_sweep"] = idx
    hkl = hkl.to(inp.dtype)
    return hkl[..., 0, :, :], hkl[..., 1, :, :], hkl[..., 2, :, :]


def _structure_factor(inp: KernelInputs, h, k, l, live, state: KernelState) -> torch.Tensor:
    sf = inp.structure_factors
    if sf is None:
        return torch.full_like(h, inp.default_F)
    return sf(h, k, l, live, state)


def _pixel_factors(inp: KernelInputs, omega, capture_fraction, polar, evaluated):
    """ω, capture fraction and P as C applies them once per pixel: [P] each.

    P is that of the first evaluated (layer, sub-pixel, source); 0 if dmin skipped them all.
    """
    omega_px = omega[:, 0, 0]
    capture_px = capture_fraction[:, -1, 0]
    flat_polar = polar.reshape(len(omega_px), -1)
    if flat_polar.shape[1] == 1:
        return omega_px, capture_px, flat_polar[:, 0]
    flat_eval = evaluated.reshape(len(omega_px), -1)
    first = torch.argmax(flat_eval.to(torch.int8), dim=1)
    polar_px = torch.gather(flat_polar, 1, first[:, None])[:, 0]
    polar_px = torch.where(flat_eval.any(dim=1), polar_px, torch.zeros_like(polar_px))
    return omega_px, capture_px, polar_px


def _layer_total(inp: KernelInputs, per_layer, capture_fraction) -> torch.Tensor:
    """Σ over layers of [P, T] sums; per-layer capture weights in corrected mode."""
    if inp.quirks.last_layer_capture or inp.geometry.thickness == 0.0:
        return per_layer.sum(dim=1)
    weights = capture_fraction[:, :, 0] / capture_fraction[:, -1:, 0]
    return (per_layer * weights).sum(dim=1)


def _running_sum(inp: KernelInputs, terms, live, omega, capture_fraction, polar):
    """-oversample_thick/_polar/_omega: per-term factors, applied C's way or correctly."""
    factor = torch.ones_like(terms)
    if inp.oversample_thick:
        factor = factor * capture_fraction[..., None, None, None]
    if inp.oversample_polar:
        factor = factor * polar[..., None, None]
    if inp.oversample_omega:
        factor = factor * omega[..., None, None, None]
    p = terms.shape[0]
    terms64 = terms.reshape(p, -1).to(torch.float64)
    factor64 = torch.where(live, factor, 1.0).reshape(p, -1).to(torch.float64)
    if not inp.quirks.running_sum_oversample:
        return (terms64 * factor64).sum(dim=1).to(terms.dtype)
    # I_final = I_bg Π m + Σ_j t_j Π_{k>=j} m_k: every later factor rescales the running sum.
    suffix = torch.flip(torch.cumprod(torch.flip(factor64, [1]), dim=1), [1])
    total = (terms64 * suffix).sum(dim=1)
    inp_bg = inp.water_background
    if inp_bg:
        total = total + inp_bg * suffix[:, 0] - inp_bg  # _finish adds I_bg once more
    return total.to(terms.dtype)


def _finish(inp: KernelInputs, total, per_pixel) -> torch.Tensor:
    omega_px, capture_px, polar_px = per_pixel
    water = inp.water_background
    if water and not inp.quirks.water_double_scaling:
        bragg = R_E_SQR * inp.fluence * total / inp.steps
        background = water * capture_px * polar_px * omega_px
    else:
        bragg = R_E_SQR * inp.fluence * (total + water) / inp.steps
        background = 0.0
    if not inp.oversample_thick:
        bragg = bragg * capture_px
    if not inp.oversample_polar:
        bragg = bragg * polar_px
    if not inp.oversample_omega:
        bragg = bragg * omega_px
    return bragg + background
