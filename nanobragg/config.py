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
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nanobragg.errors import ConfigError

if TYPE_CHECKING:
    import torch

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

    def validate(self) -> list[Note]:
        """Refuse physically meaningless input with a message naming the input; return the
        notes on values kept with the C program's meaning (see :func:`validate`)."""
        return validate(self)


#: the precisions the engine renders in, by name
DTYPE_NAMES = ("float32", "float64")


def torch_dtype(value: torch.dtype | str) -> torch.dtype:
    """The torch dtype of ``value`` (a torch dtype, or one of :data:`DTYPE_NAMES`)."""
    if not isinstance(value, str):
        return value
    if value not in DTYPE_NAMES:
        raise ConfigError(f"dtype {value!r}: expected {' or '.join(DTYPE_NAMES)}", "dtype",
                          f"expected {' or '.join(DTYPE_NAMES)}, got {value!r}")
    import torch

    return getattr(torch, value)


def _get_dtype(self: SimulationConfig) -> torch.dtype:
    return torch_dtype(self._dtype)


def _set_dtype(self: SimulationConfig, value: torch.dtype | str) -> None:
    self._dtype = value


# ``dtype`` may be set by name (the parser does, to stay free of torch) but always reads as a
# torch.dtype, so the engine and its callers see one type; torch loads on the first read.
SimulationConfig.dtype = property(_get_dtype, _set_dtype)  # type: ignore[assignment]


def _value(x: Scalar | None) -> float | None:
    if x is None:
        return None
    torch = sys.modules.get("torch")  # a tensor exists only once torch is loaded
    if torch is not None and isinstance(x, torch.Tensor):
        return float(x.detach())
    return float(x)


def _field(config: SimulationConfig, dotted: str) -> Any:
    section, _, name = dotted.partition(".")
    return getattr(getattr(config, section), name)


#: the direction fields, in the order they are checked
UNIT_VECTORS = ("detector.fdet_vector", "detector.sdet_vector", "detector.odet_vector",
                "detector.twotheta_axis", "beam.beam_vector", "beam.polar_vector",
                "crystal.spindle_axis")


def _check_unit_vectors(config: SimulationConfig) -> None:
    for dotted in UNIT_VECTORS:
        v = _field(config, dotted)
        if v is None:
            continue
        norm = math.sqrt(sum(c * c for c in v))
        if not math.isfinite(norm) or norm == 0.0:
            raise ConfigError(template=f"{{{dotted}}}: vector {v} has zero or non-finite length",
                              field=dotted)
        if abs(norm - 1.0) > 1e-3:
            raise ConfigError(template=f"{{{dotted}}}: vector {v} is not a unit vector "
                              f"(length {norm:.6g})", field=dotted)
    det = config.detector
    if det.convention is Convention.CUSTOM and det.fdet_vector and det.sdet_vector:
        f, s = np.asarray(det.fdet_vector), np.asarray(det.sdet_vector)
        cross = np.linalg.norm(np.cross(f, s)) / (np.linalg.norm(f) * np.linalg.norm(s))
        if cross < 1e-6:
            raise ConfigError(template="{detector.fdet_vector} and {detector.sdet_vector} are "
                              "parallel", field="detector.sdet_vector")


def check_device(device: torch.device | str) -> None:
    """Refuse a device this machine cannot run on, in one line (torch would raise its own
    AssertionError or RuntimeError deep inside the first tensor operation)."""
    word = str(device)
    if not re.fullmatch(r"cpu|cuda(:\d+)?", word):
        raise ConfigError(f"device {word!r}: expected cpu, cuda or cuda:N")
    if word.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"device {word!r}: CUDA is not available on this machine")
        index = int(word.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {word!r}: only {torch.cuda.device_count()} CUDA device(s)")


def validate(config: SimulationConfig) -> list[Note]:
    """Refuse physically meaningless input (:class:`ConfigError`, with ``field`` set when one
    value is at fault) and return a :class:`Note` for each value that the C program gives a
    documented meaning which this port keeps (``N < 1`` counts as 1, ``oversample = 0`` is the
    automatic choice)."""
    det, beam = config.detector, config.beam
    check_device(config.device)
    for rule in RANGE_RULES:
        rule.check(config)
    if not _value(beam.wavelength) > 0:
        raise ConfigError(f"wavelength must be positive, got {_value(beam.wavelength)} m",
                          "beam.wavelength", "must be positive")
    if _value(det.distance) is not None and not _value(det.distance) > 0:
        raise ConfigError(f"distance must be positive, got {_value(det.distance) * 1e3:g} mm",
                          "detector.distance", "must be positive")
    _check_unit_vectors(config)
    _validate_crystal(config.crystal)
    # a table read from a file checks its rows (with file:line) when first parsed, after the
    # render's term count (see nanobragg.io.table); an array given here is checked now
    if beam.sources is not None and not getattr(beam.sources, "checks_rows_when_read", False):
        bad = bad_source_row(beam.sources)
        if bad is not None:
            row, problem = bad
            raise ConfigError(f"beam.sources row {row}: {problem}", "beam.sources", problem)
    return _notes(config)


def _validate_crystal(xtal: CrystalConfig) -> None:
    if xtal.cell is None and xtal.amatrix is None:
        raise ConfigError(template="no crystal: give {crystal.cell:usage} or "
                          "{crystal.amatrix:usage}")
    if xtal.cell is not None:
        a, b, c, al, be, ga = (_value(x) for x in xtal.cell)
        if min(a, b, c) <= 0:
            raise ConfigError(template=f"{{crystal.cell}}: lengths must be positive, got "
                              f"{a:g} {b:g} {c:g}", field="crystal.cell")
        if _triclinic_volume(a, b, c, al, be, ga) <= 1e-12 * a * b * c:
            raise ConfigError(
                template=f"{{crystal.cell}}: zero cell volume for angles "
                f"{math.degrees(al):g} {math.degrees(be):g} {math.degrees(ga):g} deg",
                field="crystal.cell")
    if xtal.amatrix is not None:
        m = np.asarray(xtal.amatrix, dtype=float)
        if m.shape != (3, 3):
            raise ConfigError(template=f"{{crystal.amatrix}}: need a 3x3 A matrix, got shape "
                              f"{m.shape}", field="crystal.amatrix")
        if abs(np.linalg.det(m)) < 1e-30:
            raise ConfigError(template="{crystal.amatrix}: the A matrix is singular (zero cell "
                              "volume)", field="crystal.amatrix")


# ------------------------------------------------------------------------------------------------
# Value ranges: one rule per field, in library terms (a front end names its own flag)
# ------------------------------------------------------------------------------------------------

#: lengths beyond these are not a diffraction experiment, and their squares overflow the
#: arithmetic long before (C renders an image of zeros for -distance 1e308)
MAX_WAVELENGTH_M = 1e-3
MAX_LENGTH_M = 1e3


@dataclass(frozen=True)
class RangeRule:
    """``field`` (dotted path; None values are "unset" and pass) must satisfy ``ok``."""

    field: str
    ok: Callable[[float], bool]
    problem: str

    def check(self, config: SimulationConfig) -> None:
        section, _, name = self.field.partition(".")
        raw = getattr(getattr(config, section), name)
        values = raw if isinstance(raw, tuple) else (raw,)
        for item in values:
            number = _value(item)
            if number is not None and not self.ok(number):
                raise ConfigError(f"{self.field} = {_show(raw)}: {self.problem}", self.field,
                                  self.problem)


def _show(raw) -> str:
    if isinstance(raw, tuple):
        return " ".join(_show(x) for x in raw)
    return f"{_value(raw):g}"


def _positive(x: float) -> bool:
    return x > 0


def _not_negative(x: float) -> bool:
    return x >= 0


def _at_least_one(x: float) -> bool:
    return x >= 1


RANGE_RULES: tuple[RangeRule, ...] = (
    RangeRule("detector.pixel_size", _positive, "pixel size must be positive"),
    RangeRule("detector.fpixels", _at_least_one, "must be at least 1 pixel"),
    RangeRule("detector.spixels", _at_least_one, "must be at least 1 pixel"),
    RangeRule("detector.detsize_f", _positive, "detector size must be positive"),
    RangeRule("detector.detsize_s", _positive, "detector size must be positive"),
    RangeRule("detector.detsize_f", lambda x: x <= MAX_LENGTH_M,
              f"detector size must be at most {MAX_LENGTH_M:g} m"),
    RangeRule("detector.detsize_s", lambda x: x <= MAX_LENGTH_M,
              f"detector size must be at most {MAX_LENGTH_M:g} m"),
    RangeRule("detector.distance", lambda x: x <= MAX_LENGTH_M,
              f"distance must be at most {MAX_LENGTH_M:g} m"),
    RangeRule("detector.close_distance", lambda x: 0 < x <= MAX_LENGTH_M,
              f"distance must be positive and at most {MAX_LENGTH_M:g} m"),
    RangeRule("detector.roi", _not_negative, "pixel indices must not be negative"),
    RangeRule("detector.thickness", _not_negative, "thickness must not be negative"),
    RangeRule("detector.thickstep", _positive, "layer thickness must be positive"),
    RangeRule("detector.thicksteps", _at_least_one, "must be at least 1 layer"),
    RangeRule("beam.wavelength", lambda x: x <= MAX_WAVELENGTH_M,
              f"wavelength must be at most {MAX_WAVELENGTH_M:g} m"),
    RangeRule("beam.fluence", _positive, "fluence must be positive"),
    RangeRule("beam.flux", _not_negative, "flux must not be negative"),
    RangeRule("beam.exposure", _positive, "exposure time must be positive"),
    RangeRule("beam.beamsize", _positive, "beam size must be positive"),
    RangeRule("beam.dispersion", lambda x: 0 <= x < 2,
              "spectral width must not be negative and must stay below 200% (the spectrum would "
              "reach wavelength 0)"),
    RangeRule("beam.dispsteps", _at_least_one, "must be at least 1 wavelength"),
    RangeRule("beam.hdivrange", _not_negative, "divergence must not be negative"),
    RangeRule("beam.vdivrange", _not_negative, "divergence must not be negative"),
    RangeRule("beam.hdivstep", _positive, "divergence step must be positive"),
    RangeRule("beam.vdivstep", _positive, "divergence step must be positive"),
    RangeRule("beam.hdivsteps", _at_least_one, "must be at least 1 point"),
    RangeRule("beam.vdivsteps", _at_least_one, "must be at least 1 point"),
    RangeRule("beam.water_size", _not_negative, "water droplet size must not be negative"),
    RangeRule("crystal.Na", _not_negative, "number of cells must not be negative"),
    RangeRule("crystal.Nb", _not_negative, "number of cells must not be negative"),
    RangeRule("crystal.Nc", _not_negative, "number of cells must not be negative"),
    RangeRule("crystal.sample_x", _not_negative, "crystal size must not be negative"),
    RangeRule("crystal.sample_y", _not_negative, "crystal size must not be negative"),
    RangeRule("crystal.sample_z", _not_negative, "crystal size must not be negative"),
    RangeRule("crystal.mosaic_spread", _not_negative, "mosaic spread must not be negative"),
    RangeRule("crystal.mosaic_domains", _at_least_one, "must be at least 1 domain"),
    RangeRule("crystal.osc", _not_negative, "oscillation range must not be negative"),
    RangeRule("crystal.phistep", _positive, "phi step must be positive"),
    RangeRule("crystal.phisteps", _at_least_one, "must be at least 1 step"),
    RangeRule("structure_factors.default_F", _not_negative,
              "a structure-factor amplitude must not be negative"),
    RangeRule("sampling.oversample", _not_negative,
              "must be positive (0 = automatic, as in C)"),
    RangeRule("sampling.dmin", _not_negative, "resolution limit must not be negative (0 = off)"),
)


@dataclass(frozen=True)
class Note:
    """A value kept with the C program's documented meaning: ``field`` and what it means."""

    field: str
    text: str


def _notes(config: SimulationConfig) -> list[Note]:
    notes = []
    for name in ("Na", "Nb", "Nc"):
        if _value(getattr(config.crystal, name)) < 1:
            notes.append(Note(f"crystal.{name}", "fewer than 1 unit cell counts as 1, as in C"))
    if config.sampling.oversample == 0:
        notes.append(Note("sampling.oversample", "0 selects the automatic oversampling, as in C"))
    return notes


def bad_source_row(rows: np.ndarray) -> tuple[int, str] | None:
    """(row index, problem) of the first source row that cannot be rendered, or None.

    Rows are X, Y, Z, I, lambda with NaN for a column not given (it takes its default); a
    given value must be finite, a given wavelength positive, and a given position not 0 0 0
    (it is the direction towards the source).
    """
    table = np.asarray(rows, dtype=np.float64).reshape(-1, 5)
    given = ~np.isnan(table)
    checks = (
        (np.isinf(table).any(axis=1), "value is infinite"),
        (given[:, 4] & ~(table[:, 4] > 0), "wavelength must be positive"),
        (given[:, :3].all(axis=1) & (np.abs(table[:, :3]).sum(axis=1) == 0),
         "source position 0 0 0 gives no direction"),
    )
    first: tuple[int, str] | None = None
    for bad, problem in checks:
        hits = np.flatnonzero(bad)
        if len(hits) and (first is None or hits[0] < first[0]):
            first = (int(hits[0]), problem)
    return first


def _triclinic_volume(a: float, b: float, c: float, al: float, be: float, ga: float) -> float:
    ca, cb, cg = math.cos(al), math.cos(be), math.cos(ga)
    arg = 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg
    return a * b * c * math.sqrt(max(arg, 0.0))
