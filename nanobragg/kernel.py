"""The intensity kernel: photons per pixel for a chunk of pixels, fully vectorised.

For every pixel the C program loops over detector layers, sub-pixels (slow, fast), sources,
phi steps and mosaic domains, in that order. Here a chunk of pixels is evaluated in two stages:
the per-pixel stage ``[P, T, Sub, Src]`` (N evaluations, float64) and the term stage ``[K, N]``
(K = phi steps x mosaic domains, :func:`term_stage`), whose transpose is exactly C's loop order,
so order-dependent behaviours (the phi carry-over, the running-sum quirks and the one-time
interpolation fallback) are reproduced without loops. One term stage serves every reduction:
plain sums, or C's running sum (:func:`running_sum_needed` makes the choice), and traces record
its values.

Per sub-pixel position ``pos`` (m): ``d = pos/|pos|``; per source with incident direction ``i``
and wavelength λ: ``S = (d - i)/λ``; per orientation: ``h = a·S``, ``k = b·S``, ``l = c·S``;
the term is ``F_cell² F_latt²``. The pixel is ``r_e² fluence ΣI / steps · capture · P · ω``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from nanobragg.beam import polarization_factor
from nanobragg.config import CrystalShape, Quirks
from nanobragg.detector import DetectorGeometry, subpixel_components
from nanobragg.geometry3d import dot, sqrt
from nanobragg.lattice import lattice_factor, sincg_reduced
from nanobragg.miller import miller_index, miller_split
from nanobragg.units import R_E_SQR


@dataclass(frozen=True, eq=False)
class KernelInputs:
    """Everything the kernel needs for one render, already on the device: the frozen hand-off
    from the resolved models (built by :func:`nanobragg.kernel_inputs.build_kernel_inputs`).

    Shapes: Src sources, Phi phi steps, Mos mosaic domains; vectors are float64 unless said.
    """

    #: the detector's frame and sensor layers (nanobragg.detector)
    geometry: DetectorGeometry
    oversample: int
    #: incident unit vectors [Src, 3] and wavelengths [Src] (m)
    incident: torch.Tensor
    wavelengths: torch.Tensor
    #: real-space (a, b, c) per phi step and domain [Phi, Mos, 3, 3] (m, float64); ``first`` is
    #: the table for the very first evaluated sweep (differs only with the phi carry-over quirk)
    orientations: torch.Tensor
    orientations_first: torch.Tensor
    #: Na, Nb, Nc: 0-d tensors (possibly fractional, possibly with a gradient)
    n_cells: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    #: config.CrystalShape and C's fudge factor of the lattice function
    shape: object
    fudge: float
    #: a*, b*, c* as rows [3, 3] (kernel dtype)
    reciprocal: torch.Tensor
    #: F at fractional hkl (structure_factors.FLookup), None when every F is ``default_F``
    structure_factors: object
    default_F: float
    #: F_cell² F_latt² for plain sums (kernel.bragg_terms, possibly compiled)
    term_function: object
    interpolate: bool
    kahn_factor: float
    nopolar: bool
    #: the polarization axis [3]
    polar_vector: torch.Tensor
    fluence: float
    water_background: float
    dmin: float
    steps: int
    oversample_thick: bool
    oversample_polar: bool
    oversample_omega: bool
    quirks: Quirks
    #: the term stage's dtype (the image's); the per-pixel stage is always float64
    dtype: torch.dtype
    device: torch.device
    #: reduce by C's running sum even where plain sums are equal (tests of the reductions)
    force_running_sum: bool = False
    #: the compiled term sums of plain sums (nanobragg.fused_terms), None for the torch path
    fused: object = None


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

    ``record`` (a dict) receives the intermediate tensors, for traces; it never changes the
    values computed.
    """
    # The per-pixel stage ([P, T, Sub, Src], K times smaller than the term stage) always runs
    # in float64: a float32 scattering vector alone would put ~1e-7·|h| into every index. Its
    # vectors are held component first ([3, ...], contiguous rows); ``pos``, ``diffracted`` and
    # ``scattering`` are [..., 3] views of them, and the term stage reads the scattering
    # vectors as the [3, N] rows it needs without a copy.
    fine = torch.float64
    pos_c = subpixel_components(inp.geometry, slow, fast, inp.oversample)  # [3, P, T, Sub]
    x, y, z = pos_c
    airpath = sqrt(x * x + y * y + z * z)  # geometry3d.dot's order
    diffracted_c = pos_c / airpath
    pos, diffracted = pos_c.permute(1, 2, 3, 0), diffracted_c.permute(1, 2, 3, 0)
    omega = _solid_angle(inp, airpath)  # [P, T, Sub]
    capture_fraction = _capture_fraction(inp, diffracted)  # [P, T, Sub]
    incident = inp.incident.to(fine)[None, None, None]  # [1, 1, 1, Src, 3]
    scattering = ((diffracted_c[..., None] - incident.permute(4, 0, 1, 2, 3))
                  / inp.wavelengths.to(fine)).permute(1, 2, 3, 4, 0)  # [P, T, Sub, Src, 3]
    evaluated = _dmin_mask(inp, scattering)  # [P, T, Sub, Src]
    running = running_sum_needed(inp)
    full_polar = record is not None or running or inp.dmin > 0
    polar = _polarization(inp, incident, diffracted, full=full_polar)
    per_pixel = _pixel_factors(inp, omega, capture_fraction, polar, evaluated)
    state.omega_sum += float(_omega_sum(inp, omega).sum().detach())
    values = term_stage(inp, scattering, evaluated, state, separate=record is not None or running)
    if running:
        total = _running_sum(inp, values, omega, capture_fraction, polar)
    else:
        total = _layer_total(inp, _layer_sums(values, evaluated.shape), capture_fraction)
    pixels = _finish(inp, total, per_pixel).to(inp.dtype)
    if record is not None:
        record.update(pos=pos, airpath=airpath, diffracted=diffracted, omega=omega,
                      capture_fraction=capture_fraction, scattering=scattering, polar=polar,
                      evaluated=evaluated, total=total, pixel_factors=per_pixel, pixels=pixels,
                      **values.in_c_order(evaluated.shape, inp.orientations.shape[:2]))
    return pixels


def running_sum_needed(inp: KernelInputs) -> bool:
    """The one choice of reduction: C's running sum over the terms in loop order
    (-oversample_thick/_polar/_omega rescale it term by term), else plain sums per layer."""
    return inp.force_running_sum or inp.oversample_thick or inp.oversample_polar \
        or inp.oversample_omega


@dataclass
class TermValues:
    """The per-term values of one chunk, laid out [K, N]: K = (phi, mosaic) orientations,
    N = (pixel, layer, sub-pixel, source) evaluations, each in C's order (C's loop order is
    the transpose, [N, K])."""

    terms: torch.Tensor
    #: float64 h, k, l and F_latt, F_cell (kernel dtype); only with ``separate``
    index: tuple[torch.Tensor, ...] | None = None
    f_latt: torch.Tensor | None = None
    f_cell: torch.Tensor | None = None
    #: where C looks F up and keeps the term (F_latt != 0 or water)
    live: torch.Tensor | None = None
    first_sweep: int | None = None

    def in_c_order(self, lead: torch.Size, orientations: torch.Size) -> dict:
        """The recorded values as [P, T, Sub, Src, Phi, Mos] tensors (hkl with a last axis 3)."""
        def c_order(x: torch.Tensor) -> torch.Tensor:
            return x.T.reshape(*lead, *orientations)

        out = {"hkl": torch.stack([c_order(x) for x in self.index], dim=-1),
               "f_latt": c_order(self.f_latt), "f_cell": c_order(self.f_cell)}
        if self.first_sweep is not None:
            out["first_sweep"] = tuple(int(i) for i in torch.unravel_index(
                torch.tensor(self.first_sweep), lead))
        return out


def term_stage(inp: KernelInputs, scattering: torch.Tensor, evaluated: torch.Tensor,
               state: KernelState, separate: bool) -> TermValues:
    """F_cell² F_latt² of every term of the chunk, for every reduction: [K, N].

    h, k, l are formed in float64 with C's operation order (:func:`split_indices`); the
    lattice factor and the F lookup take what they need of them (:func:`term_arguments`). With
    ``separate``, F_latt, F_cell, the indices and the live mask are kept too (running sums,
    traces); the terms are the same either way. Plain sums on the CPU take the compiled loop
    where it applies (``inp.fused``, :mod:`nanobragg.fused_terms`): the terms come back
    already summed over the orientations, [1, N] in float64, the same sums to rounding; a
    trace then records the torch path's parts beside those sums, so it never changes the image.
    """
    first = _first_sweep(evaluated, state)
    if _fused_applies(inp, scattering):
        sums = inp.fused(scattering.reshape(-1, 3), first, evaluated)[None, :]
        if not separate:
            return TermValues(sums, first_sweep=first)
        # a trace: the record from the torch path, the image from the same sums as without it
        values = _separate_terms(inp, scattering, evaluated, state, first, separate)
        values.terms = sums
        return values
    return _separate_terms(inp, scattering, evaluated, state, first, separate)


def _fused_applies(inp: KernelInputs, scattering: torch.Tensor) -> bool:
    return (inp.fused is not None and not running_sum_needed(inp)
            and inp.fused.applies(scattering))


def _separate_terms(inp: KernelInputs, scattering: torch.Tensor, evaluated: torch.Tensor,
                    state: KernelState, first: int | None, separate: bool) -> TermValues:
    """The torch path of :func:`term_stage`: [K, N] terms, and their parts with ``separate``."""
    split = split_indices(inp, scattering.reshape(-1, 3), first,
                          need_index=separate or inp.interpolate)
    flat_eval = evaluated.reshape(1, -1)
    if not separate and not inp.interpolate:
        terms = inp.term_function(*term_arguments(inp, split))
        return TermValues(_mask_dmin(inp, terms, flat_eval), first_sweep=first)
    lattice_in, f_in = term_arguments(inp, split)
    f_latt = lattice_terms(inp, lattice_in)
    live = flat_eval & ((f_latt != 0) | (inp.water_background != 0))
    f_cell = cell_terms(inp, f_in, live, state)
    terms = _mask_dmin(inp, f_cell * f_cell * f_latt * f_latt, flat_eval)
    return TermValues(terms, split.index if separate else None, f_latt,
                      f_cell.expand_as(f_latt), live, first)


@dataclass
class SplitIndices:
    """h, k, l of a chunk, [K, N] per axis: float64 ``index`` (when asked for, and always in
    float64), and for a lower precision the float64 split cast to it (``whole``, ``frac``,
    ``rest``: :func:`nanobragg.miller.miller_split`)."""

    index: tuple[torch.Tensor, ...] | None = None
    whole: tuple[torch.Tensor, ...] | None = None
    frac: tuple[torch.Tensor, ...] | None = None
    rest: tuple[torch.Tensor, ...] | None = None

    def put_column(self, n: int, other: SplitIndices) -> None:
        """Column ``n`` of every tensor from ``other`` (one column)."""
        for name in ("index", "whole", "frac", "rest"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None:
                for x, y in zip(mine, theirs, strict=True):
                    x[:, n] = y[:, 0]


def split_indices(inp: KernelInputs, s: torch.Tensor, first: int | None,
                  need_index: bool) -> SplitIndices:
    """The Miller indices of evaluations ``s`` [N, 3]; column ``first`` (the run's first
    evaluation) with the set-up orientation (C's phi carry-over has nothing to carry yet)."""
    st = s.T.contiguous()  # [3, N]
    main = _split(inp, inp.orientations, st, need_index)
    if first is not None:
        column = _split(inp, inp.orientations_first, st[:, first:first + 1].contiguous(),
                        need_index)
        main.put_column(first, column)
    return main


def _split(inp: KernelInputs, table: torch.Tensor, st: torch.Tensor,
           need_index: bool) -> SplitIndices:
    rows = [table[:, :, axis].reshape(-1, 3) for axis in range(3)]
    exact = inp.dtype == torch.float64
    index = tuple(miller_index(r, st) for r in rows) if exact or need_index else None
    if exact:
        return SplitIndices(index=index)
    parts = [miller_split(r, st, n, inp.dtype) for r, n in zip(rows, inp.n_cells, strict=True)]
    whole, frac, rest = (tuple(p[i] for p in parts) for i in range(3))
    return SplitIndices(index, whole, frac, rest)


def term_arguments(inp: KernelInputs, split: SplitIndices) -> tuple[tuple, tuple]:
    """What the lattice factor and the F lookup read of the split indices.

    float64 (C's own precision) takes the full h, k, l, as C does. float32 takes the reduced
    arguments (the square shape: :func:`nanobragg.lattice.sincg_reduced`; the other shapes need
    only h - h0), the integer part for a nearest F and the float64 h for a tricubic F.
    """
    low = inp.dtype != torch.float64
    if not low:
        lattice_in = split.index
    elif inp.shape is CrystalShape.SQUARE:
        lattice_in = (split.rest, split.frac)
    else:
        lattice_in = split.frac
    if inp.structure_factors is None:
        f_in = ()
    elif inp.interpolate or not low:
        f_in = split.index
    else:
        f_in = split.whole
    return lattice_in, f_in


def lattice_terms(inp: KernelInputs, lattice_in: tuple) -> torch.Tensor:
    """F_latt [K, N] in the kernel dtype from :func:`term_arguments`' lattice part."""
    if inp.dtype == torch.float64 or inp.shape is not CrystalShape.SQUARE:
        return lattice_factor(*lattice_in, inp.n_cells, inp.shape, inp.fudge, inp.reciprocal,
                              _active_axes(inp))
    rests, fracs = lattice_in
    f_latt = None
    for rest, frac, n, on in zip(rests, fracs, inp.n_cells, _active_axes(inp), strict=True):
        if on:
            term = sincg_reduced(rest, frac, n)
            f_latt = term if f_latt is None else f_latt * term
    if f_latt is None:
        return torch.ones(fracs[0].shape, dtype=inp.dtype, device=inp.device)
    return f_latt


def _active_axes(inp: KernelInputs) -> tuple[bool, bool, bool]:
    return tuple(float(n.detach()) > 1.0 for n in inp.n_cells)


def cell_terms(inp: KernelInputs, f_in: tuple, live, state: KernelState) -> torch.Tensor:
    """F_cell in the kernel dtype: [K, N], or a 0-d default_F without a table.

    The lookup sees the points in C's loop order ([N, K] views), which C's one-time
    interpolation fallback needs; ``live`` marks where C looks F up.
    """
    if inp.structure_factors is None:
        return torch.tensor(inp.default_F, dtype=inp.dtype, device=inp.device)
    live_c = None if live is None else live.T
    f_cell = inp.structure_factors(*(x.T for x in f_in), live_c, state).T
    return f_cell.to(inp.dtype)


def _mask_dmin(inp: KernelInputs, terms: torch.Tensor, flat_eval: torch.Tensor):
    return terms * flat_eval if inp.dmin > 0 else terms


def _layer_sums(values: TermValues, lead: torch.Size) -> torch.Tensor:
    """Σ over orientations, sub-pixels and sources per (pixel, layer): [P, T]."""
    return values.terms.sum(dim=0).reshape(lead).sum(dim=(2, 3))


def _first_sweep(evaluated: torch.Tensor, state: KernelState) -> int | None:
    """Flat index of the run's first evaluated (pixel, layer, sub-pixel, source), once.

    It sees the set-up orientation at phi = 0: C's carry-over has nothing to carry yet.
    """
    if state.first_sweep_done or not bool(evaluated.any()):
        return None
    state.first_sweep_done = True
    return int(torch.nonzero(evaluated.reshape(-1))[0])


def bragg_terms(inp: KernelInputs):
    """F_cell² F_latt² as one function of :func:`term_arguments`, for plain sums (no F
    interpolation, no running sum, no trace): what ``inp.term_function`` holds, possibly
    compiled. The same functions as the separate evaluation, in the same order."""
    def terms(lattice_in: tuple, f_in: tuple) -> torch.Tensor:
        f_latt = lattice_terms(inp, lattice_in)
        f_cell = cell_terms(inp, f_in, None, None)
        return f_cell * f_cell * f_latt * f_latt

    return terms


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
        # C recomputes the fraction per sub-pixel only with -oversample_thick, and with no
        # thickness that gives exp(0) - exp(0) = 0 (quirk zero_thickness_capture).
        zero = inp.oversample_thick and inp.quirks.zero_thickness_capture
        fill = torch.zeros if zero else torch.ones
        return fill(diffracted.shape[:-1], dtype=diffracted.dtype, device=diffracted.device)
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
    return (per_layer * _layer_weights(inp, capture_fraction)).sum(dim=1)


def _layer_weights(inp: KernelInputs, capture_fraction) -> torch.Tensor:
    """[P, T]: 1 where C scales the pixel by the last layer's capture fraction (quirk), else
    each layer's capture fraction relative to the last one (corrected)."""
    if inp.quirks.last_layer_capture or inp.geometry.thickness == 0.0:
        return torch.ones(capture_fraction.shape[:2], dtype=capture_fraction.dtype,
                          device=capture_fraction.device)
    return capture_fraction[:, :, 0] / capture_fraction[:, -1:, 0]


def _running_sum(inp: KernelInputs, values: TermValues, omega, capture_fraction, polar):
    """C's accumulation over the terms of each pixel in loop order, in float64, with the
    per-term factors of -oversample_thick/_polar/_omega applied C's way or correctly."""
    p = omega.shape[0]
    factor = torch.ones(polar.shape, dtype=torch.float64, device=polar.device)  # [P, T, Sub, Src]
    if inp.oversample_thick:
        factor = factor * capture_fraction[..., None]
    if inp.oversample_polar:
        factor = factor * polar
    if inp.oversample_omega:
        factor = factor * omega[..., None]
    terms = values.terms.T.to(torch.float64)  # [N, K], C's loop order
    if not inp.oversample_thick:
        terms = terms * _layer_weights(inp, capture_fraction)[:, :, None, None].expand(
            polar.shape).reshape(-1, 1)
    terms = terms.reshape(p, -1)
    k = values.terms.shape[0]
    live = values.live.T.reshape(p, -1)
    factor = torch.where(live, factor.reshape(-1, 1).expand(-1, k).reshape(p, -1), 1.0)
    if not inp.quirks.running_sum_oversample:
        return (terms * factor).sum(dim=1).to(inp.dtype)
    # I_final = I_bg Π m + Σ_j t_j Π_{k>=j} m_k: every later factor rescales the running sum.
    suffix = torch.flip(torch.cumprod(torch.flip(factor, [1]), dim=1), [1])
    total = (terms * suffix).sum(dim=1)
    inp_bg = inp.water_background
    if inp_bg:
        total = total + inp_bg * suffix[:, 0] - inp_bg  # _finish adds I_bg once more
    return total.to(inp.dtype)


def _finish(inp: KernelInputs, total, per_pixel) -> torch.Tensor:
    omega_px, capture_px, polar_px = per_pixel
    water = inp.water_background
    if water and not inp.quirks.water_double_scaling:
        bragg = R_E_SQR * inp.fluence * total / inp.steps
        background = water * capture_px * polar_px * omega_px
    else:
        bragg = R_E_SQR * inp.fluence * (total + water) / inp.steps
        background = 0.0
    # capture is exactly 1 without a thickness, P without polarization (and without dmin,
    # which zeroes the P of a pixel it skips entirely): x * 1 is x
    if not inp.oversample_thick and inp.geometry.thickness != 0.0:
        bragg = bragg * capture_px
    if not inp.oversample_polar and not (inp.nopolar and inp.dmin <= 0):
        bragg = bragg * polar_px
    if not inp.oversample_omega:
        bragg = bragg * omega_px
    return bragg + background
