"""The one home of the config's validation rules, in library terms.

:func:`validate` runs :data:`RULES` in order; each rule is a small function of the config (and
the directory relative paths are read against) that raises :class:`~nanobragg.errors.ConfigError`
naming config fields, never a front end's spelling of them: ``field`` is the dotted path of
the value at fault (``problem`` says what is wrong with it), ``template`` a message written over
``{section.name}`` fields. The CLI names the flags (:mod:`nanobragg.cli.terms`), so
``Simulator(config)``, ``nanobragg``, ``nanobragg-series`` and ``nanobragg-refine`` refuse the
same configs. A new rule is a function added to :data:`RULES` (or a :class:`RangeRule` added to
:data:`RANGE_RULES` when one value must lie in a range).

The order is part of the contract: where one bad value breaks two rules (a photon energy of 0
reaches here as a NaN wavelength, ``-close_distance`` also sets the distance as C reads it),
the first rule names it; the rules the parser used to apply come first.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nanobragg import units
from nanobragg.config import Convention, CrystalConfig, SimulationConfig, pixel_counts
from nanobragg.errors import ConfigError
from nanobragg.io.fdump import DEFAULT_DUMP_NAME

if TYPE_CHECKING:
    import torch

#: the problem of every "must be positive" refusal (a front end may word it in its own units)
POSITIVE = "must be positive"
#: lengths beyond these are not a diffraction experiment, and their squares overflow the
#: arithmetic long before (C renders an image of zeros for -distance 1e308)
MAX_WAVELENGTH_M = 1e-3
MAX_LENGTH_M = 1e3


@dataclass(frozen=True)
class Note:
    """A value kept with the C program's documented meaning: ``field`` and what it means."""

    field: str
    text: str


Rule = Callable[[SimulationConfig, Path], None]


def validate(config: SimulationConfig, cwd: Path | None = None) -> list[Note]:
    """Refuse physically meaningless input (the first of :data:`RULES` that fails raises
    :class:`ConfigError`) and return a :class:`Note` for each value that the C program gives a
    documented meaning which this port keeps (``N < 1`` counts as 1, ``oversample = 0`` is the
    automatic choice). Relative file names are looked up in ``cwd`` (default: the current
    directory)."""
    here = Path.cwd() if cwd is None else Path(cwd)
    for rule in RULES:
        rule(config, here)
    return _notes(config)


def _value(x: Any) -> float | None:
    if x is None:
        return None
    torch = sys.modules.get("torch")  # a tensor exists only once torch is loaded
    if torch is not None and isinstance(x, torch.Tensor):
        return float(x.detach())
    return float(x)


def _field(config: SimulationConfig, dotted: str) -> Any:
    section, _, name = dotted.partition(".")
    return getattr(getattr(config, section), name)


# ------------------------------------------------------------------------------------------------
# The rules the parser used to apply: device, positive wavelength and close distance, flux
# ------------------------------------------------------------------------------------------------


def check_device(device: torch.device | str) -> None:
    """Refuse a device this machine cannot run on, in one line (torch would raise its own
    AssertionError or RuntimeError deep inside the first tensor operation)."""
    word = str(device)
    if not re.fullmatch(r"cpu|cuda(:\d+)?", word):
        raise ConfigError(f"device {word!r}: expected cpu, cuda or cuda:N", "device")
    if word.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(f"device {word!r}: CUDA is not available on this machine", "device")
        index = int(word.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {word!r}: only {torch.cuda.device_count()} CUDA device(s)",
                              "device")


def _device(config: SimulationConfig, cwd: Path) -> None:
    check_device(config.device)


@dataclass(frozen=True)
class PositiveRule:
    """``field`` (None = unset, passes) must be > 0 (NaN fails); the message shows the value
    in ``unit`` (``scale`` per metre)."""

    field: str
    what: str
    unit: str
    scale: float

    def __call__(self, config: SimulationConfig, cwd: Path) -> None:
        number = _value(_field(config, self.field))
        if number is not None and not number > 0:
            raise ConfigError(f"{self.what} {POSITIVE}, got {number * self.scale:g} {self.unit}",
                              self.field, POSITIVE)


def _roi_not_empty(config: SimulationConfig, cwd: Path) -> None:
    """An ROI range whose first pixel lies after its last renders nothing (negative indices
    are the range rules')."""
    roi = config.detector.roi
    if roi is None:
        return
    xmin, xmax, ymin, ymax = roi
    for lo, hi, axis in ((xmin, xmax, "x (fast)"), (ymin, ymax, "y (slow)")):
        if lo >= 0 and hi >= 0 and lo > hi:
            raise ConfigError(template=f"{{detector.roi}}: {axis} range is empty ({lo} > {hi})",
                              field="detector.roi")


def _cell_angles(config: SimulationConfig, cwd: Path) -> None:
    """Cell angles lie strictly between 0 and 180 degrees (before the volume rule: an angle of
    0 or 180 is this rule's, not a zero volume)."""
    cell = config.crystal.cell
    if cell is None:
        return
    for angle in cell[3:]:
        rad = _value(angle)
        if not 0 < rad < math.pi:
            raise ConfigError(template="{crystal.cell}: angles must lie between 0 and 180 "
                              f"degrees, got {rad * units.RTD:g}", field="crystal.cell")


def _flux_needs_beam_size(config: SimulationConfig, cwd: Path) -> None:
    """C would turn fluence = flux*exposure/beamsize^2 into inf (before the range rules, which
    refuse a zero beam size in general words)."""
    beam = config.beam
    if beam.flux != 0.0 and beam.exposure > 0.0 and beam.beamsize == 0.0:
        raise ConfigError(template="{beam.flux} needs a non-zero {beam.beamsize} "
                          "(fluence = flux*exposure/beamsize^2)")


# ------------------------------------------------------------------------------------------------
# Value ranges: one rule per field
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RangeRule:
    """``field`` (dotted path; None values are "unset" and pass) must satisfy ``ok``."""

    field: str
    ok: Callable[[float], bool]
    problem: str

    def check(self, config: SimulationConfig) -> None:
        raw = _field(config, self.field)
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


def _at_most_length(x: float) -> bool:
    return x <= MAX_LENGTH_M


RANGE_RULES: tuple[RangeRule, ...] = (
    RangeRule("detector.pixel_size", _positive, "pixel size must be positive"),
    RangeRule("detector.fpixels", _at_least_one, "must be at least 1 pixel"),
    RangeRule("detector.spixels", _at_least_one, "must be at least 1 pixel"),
    RangeRule("detector.detsize_f", _positive, "detector size must be positive"),
    RangeRule("detector.detsize_s", _positive, "detector size must be positive"),
    RangeRule("detector.detsize_f", _at_most_length,
              f"detector size must be at most {MAX_LENGTH_M:g} m"),
    RangeRule("detector.detsize_s", _at_most_length,
              f"detector size must be at most {MAX_LENGTH_M:g} m"),
    RangeRule("detector.distance", _at_most_length,
              f"distance must be at most {MAX_LENGTH_M:g} m"),
    # (a non-positive close distance is refused before, by its PositiveRule)
    RangeRule("detector.close_distance", _at_most_length,
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


def _ranges(config: SimulationConfig, cwd: Path) -> None:
    for rule in RANGE_RULES:
        rule.check(config)


# ------------------------------------------------------------------------------------------------
# Directions, the crystal, the sources
# ------------------------------------------------------------------------------------------------

#: the direction fields, in the order they are checked
UNIT_VECTORS = ("detector.fdet_vector", "detector.sdet_vector", "detector.odet_vector",
                "detector.twotheta_axis", "beam.beam_vector", "beam.polar_vector",
                "crystal.spindle_axis")


def _unit_vectors(config: SimulationConfig, cwd: Path) -> None:
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


def _custom_axes_not_parallel(config: SimulationConfig, cwd: Path) -> None:
    det = config.detector
    if det.convention is Convention.CUSTOM and det.fdet_vector and det.sdet_vector:
        f, s = np.asarray(det.fdet_vector), np.asarray(det.sdet_vector)
        cross = np.linalg.norm(np.cross(f, s)) / (np.linalg.norm(f) * np.linalg.norm(s))
        if cross < 1e-6:
            raise ConfigError(template="{detector.fdet_vector} and {detector.sdet_vector} are "
                              "parallel", field="detector.sdet_vector")


def _crystal_given(config: SimulationConfig, cwd: Path) -> None:
    xtal = config.crystal
    if xtal.cell is None and xtal.amatrix is None:
        raise ConfigError(template="no crystal: give {crystal.cell:usage} or "
                          "{crystal.amatrix:usage}")


def _cell(config: SimulationConfig, cwd: Path) -> None:
    xtal: CrystalConfig = config.crystal
    if xtal.cell is None:
        return
    a, b, c, al, be, ga = (_value(x) for x in xtal.cell)
    if min(a, b, c) <= 0:
        raise ConfigError(template=f"{{crystal.cell}}: lengths must be positive, got "
                          f"{a:g} {b:g} {c:g}", field="crystal.cell")
    if _triclinic_volume(a, b, c, al, be, ga) <= 1e-12 * a * b * c:
        raise ConfigError(
            template=f"{{crystal.cell}}: zero cell volume for angles "
            f"{math.degrees(al):g} {math.degrees(be):g} {math.degrees(ga):g} deg",
            field="crystal.cell")


def _triclinic_volume(a: float, b: float, c: float, al: float, be: float, ga: float) -> float:
    ca, cb, cg = math.cos(al), math.cos(be), math.cos(ga)
    arg = 1 - ca * ca - cb * cb - cg * cg + 2 * ca * cb * cg
    return a * b * c * math.sqrt(max(arg, 0.0))


def _amatrix(config: SimulationConfig, cwd: Path) -> None:
    if config.crystal.amatrix is None:
        return
    m = np.asarray(config.crystal.amatrix, dtype=float)
    if m.shape != (3, 3):
        raise ConfigError(template=f"{{crystal.amatrix}}: need a 3x3 A matrix, got shape "
                          f"{m.shape}", field="crystal.amatrix")
    if abs(np.linalg.det(m)) < 1e-30:
        raise ConfigError(template="{crystal.amatrix}: the A matrix is singular (zero cell "
                          "volume)", field="crystal.amatrix")


def _sources(config: SimulationConfig, cwd: Path) -> None:
    """An array given here is checked now; a table read from a file checks its rows (with
    file:line) when first parsed, after the render's term count (see nanobragg.io.table)."""
    sources = config.beam.sources
    if sources is None or getattr(sources, "checks_rows_when_read", False):
        return
    bad = bad_source_row(sources)
    if bad is not None:
        row, problem = bad
        raise ConfigError(f"beam.sources row {row}: {problem}", "beam.sources", problem)


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


# ------------------------------------------------------------------------------------------------
# Structure factors and the mask
# ------------------------------------------------------------------------------------------------


def _structure_factors_given(config: SimulationConfig, cwd: Path) -> None:
    """C refuses to run with no HKL file, no readable dump file and default_F == 0."""
    sf = config.structure_factors
    if sf.hkl_file is not None or sf.default_F != 0.0:
        return
    dump = sf.dump_file if sf.dump_file is not None else Path(DEFAULT_DUMP_NAME)
    if not (cwd / dump).is_file():
        shown = str(dump).replace("{", "{{").replace("}", "}}")  # a file name, not a field
        raise ConfigError(template="no structure factors: give {structure_factors.hkl_file:usage} "
                          "or {structure_factors.default_F:usage} "
                          f"(no {shown} cache here either)")


def _mask_fits_detector(config: SimulationConfig, cwd: Path) -> None:
    """The mask must match the detector's pixel counts (C would read past its end)."""
    mask = config.detector.mask
    if mask is None:
        return
    fpixels, spixels, _, _ = pixel_counts(config.detector)
    if tuple(mask.shape) != (spixels, fpixels):
        slow, fast = mask.shape
        problem = f"mask is {fast}x{slow} pixels but the detector is {fpixels}x{spixels}"
        raise ConfigError(f"detector.mask: {problem}", "detector.mask", problem)


#: every rule, in the order they are checked (see the module docstring)
RULES: tuple[Rule, ...] = (
    _device,
    _cell_angles,
    _roi_not_empty,
    PositiveRule("detector.attenuation_length", "attenuation length", "um", 1e6),
    PositiveRule("beam.wavelength", "wavelength", "m", 1.0),
    PositiveRule("detector.close_distance", "close distance", "mm", 1e3),
    _flux_needs_beam_size,
    _ranges,
    PositiveRule("detector.distance", "distance", "mm", 1e3),
    _unit_vectors,
    _custom_axes_not_parallel,
    _crystal_given,
    _cell,
    _amatrix,
    _sources,
    _structure_factors_given,
    _mask_fits_detector,
)


def _notes(config: SimulationConfig) -> list[Note]:
    notes = []
    for name in ("Na", "Nb", "Nc"):
        if _value(getattr(config.crystal, name)) < 1:
            notes.append(Note(f"crystal.{name}", "fewer than 1 unit cell counts as 1, as in C"))
    if config.sampling.oversample == 0:
        notes.append(Note("sampling.oversample", "0 selects the automatic oversampling, as in C"))
    return notes
