"""Detector model: pivots, rotations and the position of every (sub-)pixel (the conventions'
axis presets are in :mod:`nanobragg.convention`).

Frames: the lab frame has x along the MOSFLM beam. A detector is a plane spanned by the unit
vectors ``fdet`` (fast pixel index increases) and ``sdet`` (slow index), with normal ``odet``;
``pix0`` is the lab position of the corner of pixel (0, 0). Lengths are metres.

Resolution follows the C program step by step (``docs/geometry.md``):

1. pixel counts and sizes; near point (Fclose, Sclose) from ORGX/ORGY or the detector centre;
2. the convention's axis presets and beam-centre mapping (Fbeam, Sbeam), and its forced pivot;
3. ``ratio = beam . R(odet)``: distance and close_distance from each other;
4. SAMPLE pivot: pix0 from the near point, then rotated with the detector; BEAM pivot: pix0
   placed so that the direct beam hits (Fbeam, Sbeam) on the rotated detector;
5. Fclose, Sclose, Fbeam, Sbeam, ORGX/ORGY and the DIALS origin recomputed from pix0: the
   resolved :class:`DetectorGeometry` stores only the frame and derives them on demand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nanobragg.config import Convention, DetectorConfig, Pivot, pixel_counts
from nanobragg.convention import ConventionAxes, convention_axes
from nanobragg.errors import ConfigError
from nanobragg.geometry3d import as_tensor, dot, rotate_axis, rotate_xyz, value


@dataclass
class DetectorGeometry:
    """A resolved detector, stored as its frame (SI units; dxtbx's ``Panel`` is the model).

    The frame is the corner of pixel (0, 0) (``pix0``, the origin) and the rotated unit vectors
    ``fdet``, ``sdet``, ``odet`` (fast, slow, normal). Everything C recomputes from ``pix0``
    after placing the detector (near point, distances, beam centre, ORGX/ORGY, the DIALS
    origin) is derived from the frame below, with C's expressions, so no copy can drift.
    """

    fpixels: int
    spixels: int
    pixel_size: float
    detsize_f: float
    detsize_s: float
    #: rotated unit vectors and the corner of pixel (0, 0), float64 [3]
    fdet: torch.Tensor
    sdet: torch.Tensor
    odet: torch.Tensor
    pix0: torch.Tensor
    beam: torch.Tensor
    #: C's ``ratio``: beam . normal *before* the two-theta rotation; C's distance is
    #: close_distance / ratio, so with two-theta it is not the frame's own beam . odet
    ratio: torch.Tensor
    #: beam centre and near point in the convention's frame, as given (Xbeam, Ybeam, Xclose,
    #: Yclose): C prints them but does not recompute them from pix0
    beam_x: torch.Tensor
    beam_y: torch.Tensor
    close_x: torch.Tensor
    close_y: torch.Tensor
    convention: Convention
    pivot: Pivot
    pivot_requested: Pivot
    twotheta: torch.Tensor
    curved: bool
    point_pixel: bool
    #: sensor layers: count, step (m), attenuation coefficient mu (1/m), total thickness (m)
    thicksteps: int
    thickstep: float
    mu: float
    thickness: float
    #: inclusive (fast_min, fast_max, slow_min, slow_max)
    roi: tuple[int, int, int, int]

    @property
    def origin(self) -> torch.Tensor:
        """dxtbx's name for ``pix0``."""
        return self.pix0

    @property
    def close_distance(self) -> torch.Tensor:
        """Sample to detector plane along the normal (m)."""
        return dot(self.pix0, self.odet)

    @property
    def distance(self) -> torch.Tensor:
        """C's ``distance``: sample to the detector plane along the beam (m)."""
        return self.close_distance / self.ratio

    @property
    def fclose(self) -> torch.Tensor:
        """Near point (foot of the normal from the sample) along fdet from pix0 (m)."""
        return -dot(self.pix0, self.fdet)

    @property
    def sclose(self) -> torch.Tensor:
        return -dot(self.pix0, self.sdet)

    @property
    def fbeam(self) -> torch.Tensor:
        """Direct-beam spot along fdet from pix0 (m)."""
        return dot(self.fdet, self._beam_spot())

    @property
    def sbeam(self) -> torch.Tensor:
        return dot(self.sdet, self._beam_spot())

    def _beam_spot(self) -> torch.Tensor:
        """pix0 to where the direct beam crosses the plane (C: ``distance*beam - pix0``)."""
        return (self.close_distance / self.ratio) * self.beam - self.pix0

    @property
    def orgx(self) -> torch.Tensor:
        """XDS ORGX: the near point in pixels."""
        return self.fclose / self.pixel_size + 0.5

    @property
    def orgy(self) -> torch.Tensor:
        return self.sclose / self.pixel_size + 0.5

    @property
    def dials_origin_mm(self) -> torch.Tensor:
        """pix0 in DIALS' lab frame (mm)."""
        pix0 = self.pix0
        return 1000.0 * torch.stack([pix0[2], pix0[1], -pix0[0]])


@dataclass(frozen=True)
class _Centres:
    """Near point and direct-beam spot on the detector before it is placed (m), and the
    convention-frame values they came from."""

    fclose: torch.Tensor
    sclose: torch.Tensor
    fbeam: torch.Tensor
    sbeam: torch.Tensor
    beam_x: torch.Tensor
    beam_y: torch.Tensor
    close_x: torch.Tensor
    close_y: torch.Tensor


def _thickness(cfg: DetectorConfig) -> tuple[int, float, float, float]:
    """C's rules for sensor layers: (thicksteps, thickstep, mu, thickness).

    C's defaults are thickness 0, step and count unset (-1), mu unset (-1).
    """
    thick = 0.0 if cfg.thickness is None else cfg.thickness
    step = -1.0 if cfg.thickstep is None else cfg.thickstep
    steps = -1 if cfg.thicksteps is None else cfg.thicksteps
    if steps <= 0:
        if thick < 0:
            steps, thick, step = (2, step, step) if step > 0 else (1, 0.0, 0.0)
        elif step <= 0:
            steps, step = 2, thick / 2
        else:
            steps = math.ceil(thick / step)
    elif thick < 0:
        thick, step, steps = (step, step, 2) if step > 0 else (0.5e-6, 0.5e-6 / steps, steps)
    elif step <= 0:
        steps = max(steps, 2)
        step = thick / (steps - 1)
    mu = -1.0 if cfg.attenuation_length is None else 1.0 / cfg.attenuation_length
    if thick > 0 and mu < 0:
        mu = 1.0 / thick
    if thick <= 0 or step <= 0 or steps <= 0:
        steps, thick, step = 1, 0.0, 0.0
    return steps, step, mu, thick


def _beam_centre_defaults(cfg: DetectorConfig, px: float, det_f: float, det_s: float,
                          close_x, close_y):
    """(Xbeam, Ybeam, Fbeam, Sbeam) before rotations, by convention."""
    conv = cfg.convention
    bx, by = cfg.beam_x, cfg.beam_y
    if conv is Convention.ADXV:
        bx = (det_f + px) / 2 if bx is None else bx
        by = (det_s - px) / 2 if by is None else by
        return bx, by, bx, det_s - as_tensor(by)
    if conv in (Convention.MOSFLM, Convention.DENZO):
        bx = (det_s + px) / 2 if bx is None else bx
        by = (det_f + px) / 2 if by is None else by
        shift = 0.5 * px if conv is Convention.MOSFLM else 0.0
        return bx, by, as_tensor(by) + shift, as_tensor(bx) + shift
    bx = close_x if bx is None else bx
    by = close_y if by is None else by
    return bx, by, bx, by


def _centres(cfg: DetectorConfig, det_f: float, det_s: float) -> _Centres:
    """Near point from ORGX/ORGY or the detector centre, beam centre by convention (CUSTOM:
    the near point is the beam centre)."""
    px = cfg.pixel_size
    fclose = as_tensor((as_tensor(cfg.orgx) - 0.5) * px if cfg.orgx is not None else det_f / 2)
    sclose = as_tensor((as_tensor(cfg.orgy) - 0.5) * px if cfg.orgy is not None else det_s / 2)
    close_x = as_tensor(fclose if cfg.close_x is None else cfg.close_x)
    close_y = as_tensor(sclose if cfg.close_y is None else cfg.close_y)
    bx, by, fbeam, sbeam = _beam_centre_defaults(cfg, px, det_f, det_s, close_x, close_y)
    bx, by, fbeam, sbeam = (as_tensor(v) for v in (bx, by, fbeam, sbeam))
    if cfg.convention is Convention.CUSTOM:
        fclose, sclose = bx, by
    return _Centres(fclose, sclose, fbeam, sbeam, bx, by, close_x, close_y)


def _pivots(cfg: DetectorConfig) -> tuple[Pivot, Pivot]:
    """(pivot used, pivot requested): XDS and DIALS force SAMPLE, the others but CUSTOM BEAM."""
    requested = cfg.pivot or Pivot.BEAM
    if cfg.convention in (Convention.XDS, Convention.DIALS):
        return Pivot.SAMPLE, requested
    if cfg.convention is Convention.CUSTOM:
        return requested, requested
    return Pivot.BEAM, requested


def resolve_detector(cfg: DetectorConfig, axes: ConventionAxes | None = None
                     ) -> DetectorGeometry:
    """Turn a :class:`DetectorConfig` into a :class:`DetectorGeometry` (C's set-up order).

    ``axes`` are the convention's vectors with any CUSTOM overrides (beam included); by default
    they come from ``cfg`` alone.
    """
    fpixels, spixels, det_f, det_s = pixel_counts(cfg)
    centres = _centres(cfg, det_f, det_s)
    pivot, requested = _pivots(cfg)
    if axes is None:
        axes = convention_axes(cfg.convention, {
            "fdet": cfg.fdet_vector, "sdet": cfg.sdet_vector, "odet": cfg.odet_vector,
            "twotheta_axis": cfg.twotheta_axis,
        })
    rx, ry, rz, tt = (as_tensor(a) for a in (cfg.rotx, cfg.roty, cfg.rotz, cfg.twotheta))
    ratio = dot(axes.beam, rotate_xyz(axes.odet, rx, ry, rz))
    if abs(value(ratio)) < 1e-12:
        # C substitutes DBL_MIN and renders a detector plane through the sample: refuse instead
        raise ConfigError(template="the beam is parallel to the detector plane (beam vector . "
                          "detector normal = 0): check {beam.beam_vector}, "
                          "{detector.odet_vector} and the rotations")
    if cfg.close_distance is None:
        close = torch.abs(ratio * as_tensor(cfg.distance))
    else:
        close = as_tensor(cfg.close_distance)

    def orient(v: torch.Tensor) -> torch.Tensor:
        return rotate_axis(rotate_xyz(v, rx, ry, rz), axes.twotheta_axis, tt)

    fdet, sdet, odet = orient(axes.fdet), orient(axes.sdet), orient(axes.odet)
    c = centres
    if pivot is Pivot.SAMPLE:
        pix0 = orient(-c.fclose * axes.fdet - c.sclose * axes.sdet + close * axes.odet)
    else:  # the direct beam hits (Fbeam, Sbeam) at the given distance
        pix0 = -c.fbeam * fdet - c.sbeam * sdet + (close / ratio) * axes.beam
    steps, step, mu, thick = _thickness(cfg)
    return DetectorGeometry(
        fpixels=fpixels, spixels=spixels, pixel_size=cfg.pixel_size, detsize_f=det_f,
        detsize_s=det_s, fdet=fdet, sdet=sdet, odet=odet, pix0=pix0, beam=axes.beam,
        ratio=ratio, beam_x=c.beam_x, beam_y=c.beam_y, close_x=c.close_x, close_y=c.close_y,
        convention=cfg.convention, pivot=pivot, pivot_requested=requested, twotheta=tt,
        curved=cfg.curved, point_pixel=cfg.point_pixel,
        thicksteps=steps, thickstep=step, mu=mu, thickness=thick,
        roi=_roi(cfg.roi, fpixels, spixels),
    )


def _roi(roi, fpixels: int, spixels: int) -> tuple[int, int, int, int]:
    """C's defaults: a missing bound is the detector edge (note C's max bound is inclusive
    and defaults to the pixel count itself, one past the last pixel)."""
    if roi is None:
        return 0, fpixels, 0, spixels
    x0, x1, y0, y1 = roi
    return (
        0 if x0 < 0 else x0,
        fpixels if x1 < 0 else x1,
        0 if y0 < 0 else y0,
        spixels if y1 < 0 else y1,
    )


def subpixel_positions(
    geom: DetectorGeometry,
    slow: torch.Tensor,
    fast: torch.Tensor,
    oversample: int,
    layer: int,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Lab positions of sub-pixel centres: [P, S, S, 3] for pixels (slow[P], fast[P]).

    Sub-pixel (subS, subF) of pixel (s, f) sits at Fdet = sub*(f*os + subF) + sub/2 along fdet,
    likewise along sdet, and ``layer * thickstep`` along odet (C's loop variables).
    """
    dev = slow.device
    sub = geom.pixel_size / oversample
    offs = torch.arange(oversample, device=dev, dtype=torch.float64)
    fdet_m = sub * (fast.to(torch.float64)[:, None] * oversample + offs[None, :]) + sub / 2.0
    sdet_m = sub * (slow.to(torch.float64)[:, None] * oversample + offs[None, :]) + sub / 2.0
    odet_m = layer * geom.thickstep
    f_vec, s_vec, o_vec, pix0 = (v.to(dev) for v in (geom.fdet, geom.sdet, geom.odet, geom.pix0))
    pos = (
        fdet_m[:, None, :, None] * f_vec
        + sdet_m[:, :, None, None] * s_vec
        + odet_m * o_vec
        + pix0
    )
    if geom.curved:
        pos = _curve(pos, geom)
    return pos.to(dtype)


def subpixel_components(
    geom: DetectorGeometry, slow: torch.Tensor, fast: torch.Tensor, oversample: int
) -> torch.Tensor:
    """Lab positions of every sub-pixel centre of every layer, component first: float64
    [3, P, T, Sub] (Sub = oversample² in (subS, subF) order), the values of
    :func:`subpixel_positions` bit for bit.

    On a flat detector the position is separable: ``Fdet·fdet`` depends only on the sub-pixel
    column, ``Sdet·sdet`` only on its row, so those products are computed once per column and
    row of the detector and gathered, and only C's three additions
    ``((Fdet·fdet + Sdet·sdet) + Odet·odet) + pix0`` run per sub-pixel, on contiguous rows.
    """
    if geom.curved:
        layers = [subpixel_positions(geom, slow, fast, oversample, t, torch.float64)
                  .reshape(len(slow), oversample * oversample, 3)
                  for t in range(geom.thicksteps)]
        return torch.stack(layers, dim=1).permute(3, 0, 1, 2)
    dev, f64 = slow.device, torch.float64
    f_vec, s_vec, o_vec, pix0 = (v.to(dev, f64) for v in (geom.fdet, geom.sdet, geom.odet,
                                                         geom.pix0))
    sub = geom.pixel_size / oversample
    # sub-pixel column and row indices, [P, S, S]: fast*os + subF and slow*os + subS
    if oversample == 1:
        cols, rows = fast[:, None, None], slow[:, None, None]
    else:
        offs = torch.arange(oversample, device=dev)
        cols = (fast[:, None, None] * oversample + offs[None, None, :]).expand(-1, oversample, -1)
        rows = (slow[:, None, None] * oversample + offs[None, :, None]).expand(-1, -1, oversample)
    along_f = _axis_products(sub, cols, f_vec)
    along_s = _axis_products(sub, rows, s_vec)
    odet_m = torch.tensor([t * geom.thickstep for t in range(geom.thicksteps)], dtype=f64,
                          device=dev)
    along_o = o_vec[:, None, None, None] * odet_m[None, None, :, None]  # [3, 1, T, 1]
    return ((along_f + along_s) + along_o) + pix0[:, None, None, None]


def _axis_products(sub: float, index: torch.Tensor, axis: torch.Tensor) -> torch.Tensor:
    """(sub·i + sub/2)·axis for sub-pixel indices ``index`` [P, S, S]: [3, P, 1, S·S], each
    product formed once per distinct index (a detector row or column) and gathered."""
    n = int(index.max()) + 1 if index.numel() else 1
    metres = sub * torch.arange(n, dtype=torch.float64, device=index.device) + sub / 2.0
    table = axis[:, None] * metres[None, :]  # [3, n]
    flat = index.reshape(-1)
    if table.requires_grad:
        gathered = table.index_select(1, flat)
    else:  # one 1-D gather per component into its row: ~20x faster than along dim 1
        gathered = torch.empty((3, flat.numel()), dtype=table.dtype, device=table.device)
        for c in range(3):
            torch.index_select(table[c], 0, flat, out=gathered[c])
    return gathered.reshape(3, index.shape[0], 1, -1)


def _curve(pos: torch.Tensor, geom: DetectorGeometry) -> torch.Tensor:
    """Spherical detector: use flat y/z coordinates as angles about sdet then fdet (C's rule)."""
    dist = geom.distance
    start = dist * geom.beam
    tilted = rotate_axis(start.expand_as(pos), geom.sdet, pos[..., 1] / dist)
    return rotate_axis(tilted, geom.fdet, pos[..., 2] / dist)


