"""Validated simulation configuration, in SI units (with one exception, the cell, in Å).

Everything the user asks for lands here exactly once, converted from the command-line units
(mm, Å, degrees, mrad, µm) to metres and radians by the caller (see :mod:`nanobragg.units`).
Each field's comment says its unit: lengths in m, angles in rad, wavelengths in m, except
``CrystalConfig.cell`` (a, b, c in Å, as ``-cell`` gives them) and the A matrix (λ·Å⁻¹);
pixel counts, ``orgx``/``orgy`` and the ROI are in pixels.
Fields that the C program derives when they are not given are ``None``: the physics modules
(:mod:`~nanobragg.detector`, :mod:`~nanobragg.beam`, :mod:`~nanobragg.crystal`) resolve them with
C's rules, so that "not given" and "given as the default value" stay distinguishable, as they are
in C (e.g. ``-Xbeam`` moves the pivot, an explicit ``-oversample`` suppresses the auto choice).

Scalars that can be refined (cell, misset, distance, beam centre, rotations, wavelength, mosaic
spread, N) accept a float or a 0-d ``torch.Tensor`` (which may carry ``requires_grad``).

This module does not import torch (the command-line parser builds configs without it): the
precision is kept by name until it is read (:attr:`SimulationConfig.dtype`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nanobragg.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from nanobragg.validation import Note

    Scalar = float | torch.Tensor
else:  # annotations are not evaluated at run time
    Scalar = float
Vec3 = tuple[float, float, float]


class Convention(StrEnum):
    """Detector/beam axis convention (C: -mosflm, -denzo, -adxv, -xds, -dials)."""

    MOSFLM = "mosflm"
    DENZO = "denzo"
    ADXV = "adxv"
    XDS = "xds"
    DIALS = "dials"
    CUSTOM = "custom"


class Pivot(StrEnum):
    """What stays fixed when the detector rotates: the direct-beam spot or the sample-near point."""

    BEAM = "beam"
    SAMPLE = "sample"


class CrystalShape(StrEnum):
    """Lattice transform model (C: ``-square_xtal`` (default), ``-round_xtal``, ...)."""

    SQUARE = "square"
    ROUND = "round"
    GAUSS = "gauss"
    TOPHAT = "tophat"


class Interpolation(StrEnum):
    """Structure-factor lookup: C's ``auto`` turns tricubic on when any N <= 2."""

    AUTO = "auto"
    NEAREST = "nearest"
    TRICUBIC = "tricubic"


@dataclass
class Quirks:
    """Behaviours of the C program that look like bugs; all on = bit-parity with C.

    ``Quirks.corrected()`` switches every one off (the corrected-physics mode).
    See ``docs/quirks.md`` for what each one does to an image.
    """

    #: phi = 0 steps reuse the orientation of the previously evaluated phi step (C-PARITY-001).
    phi_carryover: bool = True
    #: -oversample_omega/_polar/_thick multiply the running pixel sum after every term.
    running_sum_oversample: bool = True
    #: with detector layers, only the last layer's capture fraction scales the sum.
    last_layer_capture: bool = True
    #: the water background (already r_e^2 * fluence) is scaled again like the Bragg term.
    water_double_scaling: bool = True
    #: the first out-of-range tricubic neighbourhood switches interpolation off for the rest.
    interpolation_fallback: bool = True
    #: -oversample_thick without a sensor thickness: C's capture fraction is exp(0) - exp(0) = 0
    #: for every term, so the image is all zeros; corrected, an unmodelled sensor captures all.
    zero_thickness_capture: bool = True

    @classmethod
    def corrected(cls) -> Quirks:
        return cls(False, False, False, False, False, False)


@dataclass
class DetectorConfig:
    """Flat (or spherical) pixel-array detector. Lengths in m, angles in rad."""

    convention: Convention = Convention.MOSFLM
    #: pivot requested by flags; conventions other than CUSTOM force their own.
    pivot: Pivot | None = None
    #: sample to detector along the beam, and to the detector plane (perpendicular), m
    distance: Scalar = 0.1
    close_distance: Scalar | None = None
    #: m (square pixels)
    pixel_size: float = 1.0e-4
    #: pixel counts; None = derive from detsize (C: ceil(detsize/pixel - 0.5)).
    fpixels: int | None = None
    spixels: int | None = None
    #: detector size, m
    detsize_f: float = 0.1024
    detsize_s: float = 0.1024
    #: beam centre in the convention's X/Y frame (C: -Xbeam/-Ybeam), m.
    beam_x: Scalar | None = None
    beam_y: Scalar | None = None
    #: near point (C: -Xclose/-Yclose), m.
    close_x: Scalar | None = None
    close_y: Scalar | None = None
    #: XDS origin in pixels (C: -ORGX/-ORGY).
    orgx: Scalar | None = None
    orgy: Scalar | None = None
    #: detector rotations about x, y, z and the two-theta swing, rad
    rotx: Scalar = 0.0
    roty: Scalar = 0.0
    rotz: Scalar = 0.0
    twotheta: Scalar = 0.0
    #: CUSTOM unit vectors; only used when ``convention`` is CUSTOM (a later -mosflm etc.
    #: resets them).
    fdet_vector: Vec3 | None = None
    sdet_vector: Vec3 | None = None
    odet_vector: Vec3 | None = None
    twotheta_axis: Vec3 | None = None
    curved: bool = False
    point_pixel: bool = False
    #: sensor thickness (m), layer count, and attenuation length (m); None = unset as in C.
    thickness: float | None = None
    thicksteps: int | None = None
    thickstep: float | None = None
    attenuation_length: float | None = None
    #: inclusive pixel ranges (fast_min, fast_max, slow_min, slow_max).
    roi: tuple[int, int, int, int] | None = None
    #: uint16 [slow, fast]; pixels equal to 0 are not rendered.
    mask: np.ndarray | None = None


def pixel_counts(det: DetectorConfig) -> tuple[int, int, float, float]:
    """(fpixels, spixels, detsize_f, detsize_s) as C derives them: a pixel count fixes the size
    (count * pixel), otherwise the count is ``ceil(detsize/pixel - 0.5)``."""
    px = det.pixel_size
    detsize_f = px * det.fpixels if det.fpixels else det.detsize_f
    detsize_s = px * det.spixels if det.spixels else det.detsize_s
    fpixels = math.ceil(detsize_f / px - 0.5)
    spixels = math.ceil(detsize_s / px - 0.5)
    return fpixels, spixels, detsize_f, detsize_s


@dataclass
class BeamConfig:
    """Incident beam: spectrum, divergence, polarization and fluence. SI units."""

    #: m (1 Å)
    wavelength: Scalar = 1.0e-10
    #: photons/m^2
    fluence: float = 1.25932015286227e29
    #: photons/s, s, m; when flux != 0 they define the fluence (C rule).
    flux: float = 0.0
    exposure: float = 1.0
    beamsize: float = 1.0e-4
    #: full fractional bandwidth (C: -dispersion %/100); None = unset.
    dispersion: float | None = None
    dispsteps: int | None = None
    #: divergence ranges and steps in rad; None = unset.
    hdivrange: float | None = None
    vdivrange: float | None = None
    hdivstep: float | None = None
    vdivstep: float | None = None
    hdivsteps: int | None = None
    vdivsteps: int | None = None
    round_div: bool = True
    #: rows of (X, Y, Z, I, lambda) with NaN for missing columns (C: -sourcefile): an array,
    #: or a table file parsed on first use (nanobragg.io.table.TextTable).
    sources: np.ndarray | None = None
    #: Kahn polarization factor (0 = unpolarized), or no polarization term at all.
    kahn_factor: float = 0.0
    nopolar: bool = False
    #: CUSTOM unit vectors (only used with the CUSTOM convention).
    beam_vector: Vec3 | None = None
    polar_vector: Vec3 | None = None
    #: water droplet size (m) for the amorphous background.
    water_size: float = 0.0


@dataclass
class CrystalConfig:
    """Unit cell, orientation, size, shape and mosaicity. Lengths in m/Å as noted, angles rad."""

    #: a, b, c in Å and alpha, beta, gamma in rad (C: -cell).
    cell: tuple[Scalar, Scalar, Scalar, Scalar, Scalar, Scalar] | None = None
    #: MOSFLM A matrix, rows x, y, z; columns a*, b*, c* in λ·Å⁻¹ (C: -mat, first 9 numbers).
    amatrix: np.ndarray | None = None
    #: where the A matrix came from, for messages ("reading <name>")
    amatrix_name: str | None = None
    #: misset angles about x, y, z (rad); None = none.
    misset: tuple[Scalar, Scalar, Scalar] | None = None
    misset_random: bool = False
    #: seed for -misset random; None = same as the noise seed.
    misset_seed: int | None = None
    #: unit cells along a, b, c (a count, refinable, hence a float)
    Na: Scalar = 1.0
    Nb: Scalar = 1.0
    Nc: Scalar = 1.0
    #: crystal size along a, b, c (m); > 0 overrides N.
    sample_x: float = 0.0
    sample_y: float = 0.0
    sample_z: float = 0.0
    shape: CrystalShape = CrystalShape.SQUARE
    #: spot-size factor of the round/gauss/tophat shapes (dimensionless)
    fudge: float = 1.0
    #: mosaic spread (rad) and domain count; None = unset (C rules pick the default).
    mosaic_spread: Scalar | None = None
    mosaic_domains: int | None = None
    mosaic_seed: int = 12345678
    #: spindle (CUSTOM only), start angle, range, step (rad) and steps; None = unset.
    spindle_axis: Vec3 | None = None
    phi0: Scalar = 0.0
    osc: float | None = None
    phistep: float | None = None
    phisteps: int | None = None


@dataclass
class StructureFactorConfig:
    """Where F(hkl) comes from."""

    hkl_file: Path | None = None
    #: Fdump cache: read when no hkl file is given, written when one is (C: -dump).
    dump_file: Path | None = None
    #: F of every reflection not in the file (same units as the file's F)
    default_F: float = 0.0
    interpolation: Interpolation = Interpolation.AUTO
    #: MTZ amplitude column (None = the first column of type F)
    mtz_column: str | None = None
    #: ``-stol``/``-4stol``/``-Q`` table as typed: C reads it (``reading NAME``), never uses it
    stol_file: str | None = None


@dataclass
class SamplingConfig:
    """Sub-pixel sampling and per-sub-pixel corrections."""

    #: n x n sub-pixels; None = C's automatic choice.
    oversample: int | None = None
    oversample_thick: bool = False
    oversample_polar: bool = False
    oversample_omega: bool = False
    #: skip contributions with d = 0.5/stol below this (m); 0 = off.
    dmin: float = 0.0


@dataclass
class SimulationConfig:
    """Everything the engine needs to render one float image."""

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    crystal: CrystalConfig = field(default_factory=CrystalConfig)
    structure_factors: StructureFactorConfig = field(default_factory=StructureFactorConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    quirks: Quirks = field(default_factory=Quirks)
    #: noise seed as given on the command line (C negates it internally).
    seed: int | None = None
    #: float32 or float64, as a torch.dtype or its name (see the property below)
    dtype: Any = "float32"
    device: torch.device | str = "cpu"

    def with_dtype(self, dtype: torch.dtype | str) -> SimulationConfig:
        return replace(self, dtype=dtype)

    def validate(self, cwd: Path | None = None) -> list[Note]:
        """Refuse physically meaningless input with a message naming the config field; return
        the notes on values kept with the C program's meaning (see
        :func:`nanobragg.validation.validate`; relative file names are read against ``cwd``)."""
        from nanobragg.validation import validate

        return validate(self, cwd)


#: the precisions the engine renders in, by name
DTYPE_NAMES = ("float32", "float64")


def dtype_name_problem(word: str) -> str | None:
    """What is wrong with ``word`` as a precision name (None: it is one of :data:`DTYPE_NAMES`);
    the parser checks ``-dtype`` with it, without loading torch."""
    return None if word in DTYPE_NAMES else f"expected {' or '.join(DTYPE_NAMES)}, got {word!r}"


def torch_dtype(value: torch.dtype | str) -> torch.dtype:
    """The torch dtype of ``value`` (a torch dtype, or one of :data:`DTYPE_NAMES`)."""
    if not isinstance(value, str):
        return value
    problem = dtype_name_problem(value)
    if problem is not None:
        raise ConfigError(f"dtype {value!r}: expected {' or '.join(DTYPE_NAMES)}", "dtype",
                          problem)
    import torch

    return getattr(torch, value)


def _get_dtype(self: SimulationConfig) -> torch.dtype:
    return torch_dtype(self._dtype)


def _set_dtype(self: SimulationConfig, value: torch.dtype | str) -> None:
    self._dtype = value


# ``dtype`` may be set by name (the parser does, to stay free of torch) but always reads as a
# torch.dtype, so the engine and its callers see one type; torch loads on the first read.
SimulationConfig.dtype = property(_get_dtype, _set_dtype)  # type: ignore[assignment]
