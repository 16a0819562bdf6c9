"""The nanoBragg command line: one declarative flag table and a parser built on it.

Semantics follow the C program (``nanoBragg.c``, argument loop and header pre-pass):

* ``-mask`` and then ``-img`` are read first, from their SMV headers, whatever their position;
  every other flag is applied left to right, so later flags win.
* ``-distance``/``-Xbeam``/``-Ybeam`` ask for the BEAM pivot; ``-close_distance``,
  ``-twotheta``, ``-Xclose``, ``-Yclose``, ``-ORGX``, ``-ORGY`` for the SAMPLE pivot; vector
  flags switch to the CUSTOM convention; a convention flag resets both.
* Values are stored raw (converted to SI); rules that C applies after parsing (pixel counts
  from sizes, phi steps, divergence and dispersion steps, ...) are resolved by the engine.

Tokens are matched to flags as C matches them (:mod:`nanobragg.cli.cmatch`: substring tests,
so ``-mosaic_domains`` is ``-mosaic_dom``, ``-twotheta_axis`` also sets two-theta, tokens C
ignores are ignored), each surprise noted in :attr:`ParsedArgs.notices`; ``-strict_flags`` or
``-quirks corrected`` match exactly and refuse unknown flags and stray words. Deliberate
deviations (see ``docs/cli.md``): a missing value or a value that is not a number is an error (C
reads ``atof`` garbage as 0); an integer flag needs an integer.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from nanobragg.cli import cmatch
from nanobragg.config import (
    Convention,
    CrystalShape,
    Interpolation,
    Note,
    Pivot,
    Quirks,
    SimulationConfig,
    check_device,
)
from nanobragg.errors import ConfigError, NanoBraggError
from nanobragg.io.matrix import read_matrix
from nanobragg.io.smv import SMVImage, c_atof, read_smv_input
from nanobragg.io.table import read_sources, read_stol_table

#: environment variable giving the default of ``-dtype``
DTYPE_ENV = "NB_PYTORCH_DTYPE"
HELP_FLAGS = ("-h", "-help", "--help")

DEFAULT_FLOATFILE = "floatimage.bin"
DEFAULT_INTFILE = "intimage.img"
DEFAULT_NOISEFILE = "noiseimage.img"
DEFAULT_PGMFILE = "image.pgm"
DEFAULT_ADC = 40.0

#: C's RTD (180 * M_1_PI); C converts degrees with ``value / RTD``
RTD = 180.0 * (1.0 / math.pi)


class ArgumentError(NanoBraggError):
    """A bad command line: unknown flag, missing or garbled value, bad combination."""


@dataclass
class OutputOptions:
    """What to write and print, beyond the simulation itself (C defaults)."""

    floatfile: str = DEFAULT_FLOATFILE
    intfile: str = DEFAULT_INTFILE
    noisefile: str = DEFAULT_NOISEFILE
    pgmfile: str = DEFAULT_PGMFILE
    write_noise: bool = True
    write_pgm: bool = True
    #: int-image and PGM scale factors; <= 0 means automatic (C rules)
    scale: float = 0.0
    pgmscale: float = 0.0
    adc: float = DEFAULT_ADC
    #: ``-trace_pixel SLOW FAST``
    trace_pixel: tuple[int, int] | None = None
    #: ``-printout`` / ``-printout_pixel FAST SLOW`` (C's per-pixel debug lines)
    printout: bool = False
    printout_pixel: tuple[int, int] | None = None
    progress: bool = True
    #: ``-max_terms``: refuse a render above this many terms (None: $NB_MAX_TERMS or the
    #: default of nanobragg.workload; 0: no limit)
    max_terms: int | None = None
    #: extra outputs beyond C
    cbf_file: str | None = None
    h5_file: str | None = None
    png_file: str | None = None

    def files(self) -> list[tuple[str, str]]:
        """(flag, file name) of every file this run writes, in C's order, extras last."""
        out = [("-floatfile", self.floatfile), ("-intfile", self.intfile)]
        if self.write_pgm:
            out.append(("-pgmfile", self.pgmfile))
        if self.write_noise:
            out.append(("-noisefile", self.noisefile))
        if self.cbf_file:
            out.append(("-cbf", self.cbf_file))
        if self.h5_file:
            out.append(("-h5", self.h5_file))
        if self.png_file:
            out.append(("-pngfile", self.png_file))
        return out


@dataclass
class ParsedArgs:
    """Result of :func:`parse_args`."""

    simulation: SimulationConfig
    outputs: OutputOptions
    #: ``-h``/``--help`` was given (nothing else was parsed)
    show_help: bool = False
    #: input files as typed (for messages): -img, -mask, -mat, -sourcefile
    img_file: str | None = None
    mask_file: str | None = None
    mat_file: str | None = None
    source_file: str | None = None
    #: -stol/-4stol/-Q files as typed (read only to be checked)
    table_files: list[tuple[str, str]] = field(default_factory=list)
    #: config field (dotted path) -> the flag and values that last set it, as typed
    origins: dict[str, str] = field(default_factory=dict)

    def input_files(self) -> list[tuple[str, str]]:
        """(flag, name as typed) of every file this run reads."""
        named = [("-img", self.img_file), ("-mask", self.mask_file), ("-mat", self.mat_file),
                 ("-sourcefile", self.source_file)]
        sf = self.simulation.structure_factors
        if sf.hkl_file is not None:
            named.append(("-hkl", str(sf.hkl_file)))
        elif sf.dump_file is not None:
            named.append(("-dump", str(sf.dump_file)))
        return [(flag, name) for flag, name in named if name is not None] + self.table_files

    def explain(self, error: ConfigError) -> str:
        """The library's message about a config field, told in terms of the flag that set it."""
        typed = self.origins.get(error.field or "")
        return f"{typed}: {error.problem}" if typed else str(error)

    def note_line(self, note: Note) -> str:
        typed = self.origins.get(note.field, note.field)
        return f"{typed}: {note.text}"
    #: one line per token read differently from an exact reading (C's matching), for stderr
    notices: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------
# Value kinds
# ------------------------------------------------------------------------------------------------

#: ASCII digits only: Python's int() and float() also read other scripts' digits ("٣" is 3)
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_INTEGER = re.compile(r"[+-]?[0-9]+\Z")


def is_number(token: str) -> bool:
    return bool(_NUMBER.match(token))


def _to_number(token: str) -> float:
    if not _NUMBER.match(token):
        raise ValueError
    value = float(token)
    if not math.isfinite(value):
        raise ValueError
    return value


#: C reads counts and seeds with ``atoi``, a 32-bit int
INT_MIN, INT_MAX = -(2**31), 2**31 - 1


def _to_integer(token: str) -> int:
    if not _INTEGER.match(token):
        raise ValueError
    value = int(token)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError
    return value


def _to_text(token: str) -> str:
    if token == "" or token.startswith("-"):
        raise ValueError
    return token


@dataclass(frozen=True)
class Kind:
    """How one value token is checked and converted, and how C reads it (``atof``/``atoi``,
    for the values of a colliding flag, :func:`nanobragg.cli.cmatch.c_values`)."""

    what: str
    convert: Callable[[str], Any]
    c_read: Callable[[str], Any] = str


NUMBER = Kind("a number", _to_number, c_atof)
INTEGER = Kind("a 32-bit integer", _to_integer, cmatch.c_atoi)
TEXT = Kind("a name", _to_text)


# ------------------------------------------------------------------------------------------------
# Parse state and appliers
# ------------------------------------------------------------------------------------------------


@dataclass
class _State:
    cfg: SimulationConfig
    out: OutputOptions
    parsed: ParsedArgs
    cwd: Path
    #: the flag being applied and its values, as typed (recorded as the origin of what it sets)
    current: str = ""

    def assign(self, dotted: str, value: Any) -> None:
        obj, name = self.target(dotted)
        setattr(obj, name, value)
        self.parsed.origins[dotted] = self.current

    def target(self, dotted: str) -> tuple[Any, str]:
        section, _, name = dotted.rpartition(".")
        obj: Any = {"out": self.out, "": self.cfg}.get(section)
        if obj is None:
            obj = getattr(self.cfg, section)
        return obj, name


Apply = Callable[[_State, list[Any]], None]


def _set(*targets: str, conv: Callable[[Any], Any] | None = None) -> Apply:
    """Set each target field to the (converted) first value."""

    def apply(st: _State, values: list[Any]) -> None:
        value = conv(values[0]) if conv else values[0]
        for dotted in targets:
            st.assign(dotted, value)

    return apply


def _const(dotted: str, value: Any) -> Apply:
    def apply(st: _State, values: list[Any]) -> None:
        st.assign(dotted, value)

    return apply


def _each(*appliers: Apply) -> Apply:
    def apply(st: _State, values: list[Any]) -> None:
        for one in appliers:
            one(st, values)

    return apply


def _nothing(st: _State, values: list[Any]) -> None:
    """Parsed for compatibility; no effect (as in C)."""


def _vector(dotted: str | None) -> Apply:
    """x y z of a direction; any vector flag switches to the CUSTOM convention."""

    def apply(st: _State, values: list[Any]) -> None:
        st.cfg.detector.convention = Convention.CUSTOM
        if dotted is not None:
            obj, name = st.target(dotted)
            setattr(obj, name, (float(values[0]), float(values[1]), float(values[2])))

    return apply


def _convention(conv: Convention, pivot: Pivot) -> Apply:
    def apply(st: _State, values: list[Any]) -> None:
        st.cfg.detector.convention = conv
        st.cfg.detector.pivot = pivot

    return apply


# unit conversions, written as C computes them (``atof(x)/1000.0`` etc.) for bit parity
def _mm(v: float) -> float:
    return v / 1000.0


def _um(v: float) -> float:
    return v * 1e-6


def _deg(v: float) -> float:
    return v / RTD


def _mrad(v: float) -> float:
    return v / 1000.0


def _angstrom(v: float) -> float:
    return v / 1.0e10


def _percent(v: float) -> float:
    return v / 100.0


def _path(v: str) -> Path:
    return Path(v)


def _positive(flag: str, unit: str) -> Callable[[float], float]:
    def check(v: float) -> float:
        if not v > 0:
            raise ArgumentError(f"{flag} must be positive, got {v:g} {unit}".rstrip())
        return v

    return check


def _term_count(v: float) -> int:
    if not (v >= 0 and v == int(v)):
        raise ArgumentError(f"-max_terms: expected a whole number of terms >= 0, got {v:g}")
    return int(v)


def _energy(v: float) -> float:
    _positive("-energy", "eV")(v)
    return (12398.42 / v) / 1.0e10


def _close_distance(v: float) -> float:
    return _mm(_positive("-close_distance", "mm")(v))


def _lambda(v: float) -> float:
    return _angstrom(_positive("-lambda", "A")(v))


def _apply_pivot(st: _State, values: list[Any]) -> None:
    word = str(values[0]).lower()
    if word not in ("beam", "sample"):
        raise ArgumentError(f"-pivot: expected 'beam' or 'sample', got {values[0]!r}")
    st.cfg.detector.pivot = Pivot(word)


def _apply_roi(st: _State, values: list[Any]) -> None:
    xmin, xmax, ymin, ymax = (int(v) for v in values)
    for lo, hi, axis in ((xmin, xmax, "x (fast)"), (ymin, ymax, "y (slow)")):
        if lo >= 0 and hi >= 0 and lo > hi:
            raise ArgumentError(f"-roi: {axis} range is empty ({lo} > {hi})")
    st.assign("detector.roi", (xmin, xmax, ymin, ymax))


def _apply_cell(st: _State, values: list[Any]) -> None:
    """a [b c alpha beta gamma]: missing b, c default to a, missing angles to 90 degrees."""
    a = values[0]
    lengths = [a, *values[1:3]] + [a] * (3 - len(values[:3]))
    angles = [_deg(v) for v in values[3:6]]
    for angle in values[3:6]:
        if not 0 < angle < 180:
            raise ArgumentError(f"-cell: angles must lie between 0 and 180 degrees, got {angle:g}")
    angles += [math.pi / 2] * (3 - len(angles))
    st.cfg.crystal.cell = (*lengths, *angles)


def _apply_misset(st: _State, values: list[Any]) -> None:
    if values == ["random"]:
        st.cfg.crystal.misset_random = True
        st.cfg.crystal.misset = None
    else:
        st.cfg.crystal.misset_random = False
        st.cfg.crystal.misset = tuple(_deg(v) for v in values)


def _apply_detector_abs(st: _State, values: list[Any]) -> None:
    """Attenuation length in um; ``inf`` or 0 turn absorption off (thickness 0, mu 0)."""
    value = values[0]
    if value == math.inf or value == 0.0:
        st.assign("detector.thickness", 0.0)
        st.cfg.detector.attenuation_length = math.inf
        return
    if value < 0:
        raise ArgumentError(f"-detector_abs: attenuation length must be positive, got {value:g} um")
    st.cfg.detector.attenuation_length = _um(value)


def _apply_mat(st: _State, values: list[Any]) -> None:
    name = values[0]
    st.cfg.crystal.amatrix = read_matrix(st.cwd / name, name)
    st.cfg.crystal.amatrix_name = name
    st.parsed.mat_file = name


def _apply_sourcefile(st: _State, values: list[Any]) -> None:
    name = values[0]
    st.assign("beam.sources", read_sources(st.cwd / name, name))
    st.parsed.source_file = name


def _apply_stol(st: _State, values: list[Any]) -> None:
    """Read (to refuse missing or empty files, as C does), then ignore: C never uses it."""
    read_stol_table(st.cwd / values[0], values[0])
    st.parsed.table_files.append((st.current.split()[0], values[0]))
    st.cfg.structure_factors.stol_file = values[0]


def _apply_mtz(st: _State, values: list[Any]) -> None:
    name = values[0]
    if not name.lower().endswith(".mtz"):
        raise ArgumentError(f"-mtz: {name!r} does not end in .mtz")
    st.cfg.structure_factors.hkl_file = Path(name)


def _apply_dtype(st: _State, values: list[Any]) -> None:
    st.cfg.dtype = parse_dtype(values[0], "-dtype")


def parse_dtype(word: str, source: str) -> torch.dtype:
    dtypes = {"float32": torch.float32, "float64": torch.float64}
    if word not in dtypes:
        raise ArgumentError(f"{source}: expected float32 or float64, got {word!r}")
    return dtypes[word]


def _apply_device(st: _State, values: list[Any]) -> None:
    try:
        check_device(values[0])
    except ConfigError as exc:
        raise ArgumentError(f"-device: {exc}") from None
    st.cfg.device = values[0]


def _apply_quirks(st: _State, values: list[Any]) -> None:
    word = values[0]
    if word not in ("c", "corrected"):
        raise ArgumentError(f"-quirks: expected 'c' or 'corrected', got {word!r}")
    st.cfg.quirks = Quirks() if word == "c" else Quirks.corrected()


def _apply_trace(st: _State, values: list[Any]) -> None:
    slow, fast = int(values[0]), int(values[1])
    if slow < 0 or fast < 0:
        raise ArgumentError(f"-trace_pixel: pixel indices must not be negative, got {slow} {fast}")
    st.out.trace_pixel = (slow, fast)


def _apply_printout_pixel(st: _State, values: list[Any]) -> None:
    st.out.printout = True
    st.out.printout_pixel = (int(values[0]), int(values[1]))


def _apply_n(st: _State, values: list[Any]) -> None:
    for name in ("crystal.Na", "crystal.Nb", "crystal.Nc"):
        st.assign(name, float(values[0]))


# ------------------------------------------------------------------------------------------------
# The flag table
# ------------------------------------------------------------------------------------------------

Reader = Callable[["Flag", list[str], int], tuple[list[Any], int]]


@dataclass(frozen=True)
class Flag:
    """One command-line option: its spellings, values, effect and usage text."""

    names: tuple[str, ...]
    kinds: tuple[Kind, ...]
    apply: Apply
    help: str
    group: str
    metavar: str = ""
    unit: str = ""
    default: str = ""
    #: custom value reader for variable arity (``-cell``, ``-misset``, ``-detector_abs``)
    reader: Reader | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.names[0]


GROUPS = (
    "crystal",
    "structure factors",
    "detector",
    "conventions and vectors",
    "beam",
    "mosaicity and rotation",
    "sampling and absorption",
    "noise and seeds",
    "output files",
    "run control and debugging",
)

_TABLE: list[Flag] = []


def _flag(
    names: str,
    kinds: Sequence[Kind] | Kind | None,
    apply: Apply,
    help: str,
    group: str,
    metavar: str = "",
    unit: str = "",
    default: str = "",
    reader: Reader | None = None,
) -> None:
    if kinds is None:
        kinds = ()
    elif isinstance(kinds, Kind):
        kinds = (kinds,)
    _TABLE.append(
        Flag(tuple(names.split()), tuple(kinds), apply, help, group, metavar, unit, default, reader)
    )


def _read_cell(flag: Flag, argv: list[str], i: int) -> tuple[list[Any], int]:
    """1 to 6 numbers; stops at the first token that is not a number but starts with '-'."""
    values: list[float] = []
    j = i + 1
    while j < len(argv) and len(values) < 6:
        token = argv[j]
        if not is_number(token):
            if token.startswith("-") or token in FLAGS:
                break
            raise _garbled(flag, token, NUMBER)
        values.append(_to_number(token))
        j += 1
    if not values:
        raise _missing(flag, argv, j)
    return values, j


def _read_misset(flag: Flag, argv: list[str], i: int) -> tuple[list[Any], int]:
    """``random`` or three angles."""
    if i + 1 < len(argv) and argv[i + 1].lower().startswith("rand"):
        return ["random"], i + 2
    return _read_fixed(flag, argv, i)


def _read_detector_abs(flag: Flag, argv: list[str], i: int) -> tuple[list[Any], int]:
    if i + 1 < len(argv) and argv[i + 1].lower() in ("inf", "infinity", "+inf"):
        return [math.inf], i + 2
    return _read_fixed(flag, argv, i)


def _build_table() -> None:
    C, SF, D, V, B, M, S, NS, OUT, R = GROUPS
    num, int_, text = NUMBER, INTEGER, TEXT
    xyz = (num, num, num)
    custom = "switches to the CUSTOM convention"

    # crystal
    _flag("-cell", (), _apply_cell, "unit cell; missing b, c default to a, angles to 90",
          C, "a [b c alpha beta gamma]", "A, deg", "none (-cell or -mat required)",
          reader=_read_cell)
    _flag("-mat -matrix", text, _apply_mat,
          "MOSFLM A matrix file (first 9 numbers: rows x,y,z of a* b* c*, in lambda/A units)",
          C, "FILE", "", "none")
    _flag("-misset", xyz, _apply_misset,
          "rotate the crystal about x, then y, then z; 'random' for a random orientation",
          C, "RX RY RZ | random", "deg", "0 0 0", reader=_read_misset)
    _flag("-N", int_, _apply_n, "unit cells along a, b and c", C, "N", "cells", "1")
    _flag("-Na", int_, _set("crystal.Na", conv=float), "unit cells along a", C, "N", "cells", "1")
    _flag("-Nb", int_, _set("crystal.Nb", conv=float), "unit cells along b", C, "N", "cells", "1")
    _flag("-Nc", int_, _set("crystal.Nc", conv=float), "unit cells along c", C, "N", "cells", "1")
    _flag("-xtalsize -xtal_size -samplesize -sample_size", num,
          _set("crystal.sample_x", "crystal.sample_y", "crystal.sample_z", conv=_mm),
          "crystal size along a, b and c (sets Na, Nb, Nc)", C, "SIZE", "mm", "from -N")
    _flag("-xtal_thick -xtal_x -sample_thick -sample_x", num, _set("crystal.sample_x", conv=_mm),
          "crystal size along a (sets Na)", C, "SIZE", "mm", "from -Na")
    _flag("-xtal_width -xtal_y -sample_width -sample_y -width", num,
          _set("crystal.sample_y", conv=_mm),
          "crystal size along b (sets Nb; clipped to -beamsize)", C, "SIZE", "mm", "from -Nb")
    _flag("-xtal_height -xtal_heigh -xtal_z -sample_height -sample_heigh -sample_z -height -heigh",
          num, _set("crystal.sample_z", conv=_mm),
          "crystal size along c (sets Nc; clipped to -beamsize)", C, "SIZE", "mm", "from -Nc")
    _flag("-square_xtal", None, _const("crystal.shape", CrystalShape.SQUARE),
          "parallelepiped crystal: F_latt = product of sincg", C, default="on")
    _flag("-round_xtal", None, _const("crystal.shape", CrystalShape.ROUND),
          "spherical crystal: F_latt = sinc3", C, default="off")
    _flag("-gauss_xtal", None, _const("crystal.shape", CrystalShape.GAUSS),
          "Gaussian spot shape", C, default="off")
    _flag("-tophat_spots -binary_spots", None, _const("crystal.shape", CrystalShape.TOPHAT),
          "top-hat spot shape", C, default="off")
    _flag("-fudge", num, _set("crystal.fudge"), "spot-size factor for round/gauss/tophat shapes",
          C, "F", "", "1")
    _flag("-density -sample_density -sample_den", num, _nothing,
          "crystal density (parsed, no effect, as in C)", C, "RHO", "g/cm^3", "-")
    _flag("-MW -molecular_weight -molec", num, _nothing,
          "molecular weight (parsed, no effect, as in C)", C, "MW", "g/mol", "-")

    # structure factors
    _flag("-hkl", text, _set("structure_factors.hkl_file", conv=_path),
          "text file of 'h k l F' (P1); writes the -dump cache; a .mtz file is read with gemmi",
          SF, "FILE", "", "none")
    _flag("-mtz", text, _apply_mtz, "read F from an MTZ file (gemmi, symmetry-expanded; beyond C)",
          SF, "FILE", "", "none")
    _flag("-mtz_column", text, _set("structure_factors.mtz_column"),
          "MTZ amplitude column, of type F or G (a phase or intensity column is refused; "
          "beyond C)",
          SF, "LABEL", "", "first F column")
    _flag("-default_F", num, _set("structure_factors.default_F"),
          "F of every reflection not in the -hkl file", SF, "F", "", "0")
    _flag("-dump", text, _set("structure_factors.dump_file", conv=_path),
          "structure-factor cache: written with -hkl, read without it", SF, "FILE", "",
          "Fdump.bin")
    _flag("-interpolate", None, _const("structure_factors.interpolation", Interpolation.TRICUBIC),
          "tricubic interpolation of F between reflections", SF,
          default="auto: on if any N <= 2")
    _flag("-nointerpolate", None,
          _const("structure_factors.interpolation", Interpolation.NEAREST),
          "nearest-reflection F (no interpolation)", SF, default="auto")
    _flag("-stol", text, _apply_stol, "amorphous F(sin(theta)/lambda) table (parsed, no effect)",
          SF, "FILE", "", "-")
    _flag("-4stol", text, _apply_stol, "amorphous F(4 stol) table (parsed, no effect)",
          SF, "FILE", "", "-")
    _flag("-Q", text, _apply_stol, "amorphous F(Q) table (parsed, no effect)", SF, "FILE", "", "-")
    _flag("-stolout", text, _nothing, "stol table output (parsed, no effect)",
          SF, "FILE", "", "-")
    _flag("-water", num, _set("beam.water_size", conv=lambda v: v / 1e6),
          "water droplet size for an amorphous background", SF, "SIZE", "um", "0")

    # detector
    beam_pivot = _const("detector.pivot", Pivot.BEAM)
    sample_pivot = _const("detector.pivot", Pivot.SAMPLE)
    _flag("-distance", num, _each(_set("detector.distance", conv=_mm), beam_pivot),
          "sample to detector distance along the beam (asks for the BEAM pivot)",
          D, "DIST", "mm", "100")
    _flag("-close_distance", num,
          _each(_set("detector.close_distance", conv=_close_distance), sample_pivot),
          "sample to detector-plane (perpendicular) distance (asks for the SAMPLE pivot)",
          D, "DIST", "mm", "from -distance")
    _flag("-detsize", num, _set("detector.detsize_f", "detector.detsize_s", conv=_mm),
          "detector size, both directions", D, "SIZE", "mm", "102.4")
    _flag("-detsize_f", num, _set("detector.detsize_f", conv=_mm), "detector size, fast axis",
          D, "SIZE", "mm", "102.4")
    _flag("-detsize_s", num, _set("detector.detsize_s", conv=_mm), "detector size, slow axis",
          D, "SIZE", "mm", "102.4")
    _flag("-detpixels", int_, _set("detector.fpixels", "detector.spixels"),
          "pixel count, both directions (wins over -detsize)", D, "N", "pixels", "1024")
    _flag("-detpixels_f -detpixels_x", int_, _set("detector.fpixels"), "pixel count, fast axis",
          D, "N", "pixels", "1024")
    _flag("-detpixels_s -detpixels_y", int_, _set("detector.spixels"), "pixel count, slow axis",
          D, "N", "pixels", "1024")
    _flag("-pixel", num, _set("detector.pixel_size", conv=_mm), "pixel size", D, "SIZE", "mm",
          "0.1")
    _flag("-Xbeam", num, _each(_set("detector.beam_x", conv=_mm), beam_pivot),
          "beam centre X in the convention's frame (asks for the BEAM pivot)",
          D, "X", "mm", "convention")
    _flag("-Ybeam", num, _each(_set("detector.beam_y", conv=_mm), beam_pivot),
          "beam centre Y in the convention's frame (asks for the BEAM pivot)",
          D, "Y", "mm", "convention")
    _flag("-Xclose", num, _each(_set("detector.close_x", conv=_mm), sample_pivot),
          "near-point X (asks for the SAMPLE pivot)", D, "X", "mm", "detsize/2")
    _flag("-Yclose", num, _each(_set("detector.close_y", conv=_mm), sample_pivot),
          "near-point Y (asks for the SAMPLE pivot)", D, "Y", "mm", "detsize/2")
    _flag("-ORGX", num, _each(_set("detector.orgx"), sample_pivot),
          "XDS origin, fast axis (asks for the SAMPLE pivot)", D, "PX", "pixels", "detsize/2")
    _flag("-ORGY", num, _each(_set("detector.orgy"), sample_pivot),
          "XDS origin, slow axis (asks for the SAMPLE pivot)", D, "PX", "pixels", "detsize/2")
    _flag("-pivot", text, _apply_pivot,
          "what stays put when the detector rotates (honoured with CUSTOM only)",
          D, "beam|sample", "", "beam")
    _flag("-twotheta", num, _each(_set("detector.twotheta", conv=_deg), sample_pivot),
          "detector swing about the two-theta axis (asks for the SAMPLE pivot)",
          D, "ANGLE", "deg", "0")
    _flag("-detector_rotx", num, _set("detector.rotx", conv=_deg), "detector rotation about x",
          D, "ANGLE", "deg", "0")
    _flag("-detector_roty", num, _set("detector.roty", conv=_deg), "detector rotation about y",
          D, "ANGLE", "deg", "0")
    _flag("-detector_rotz", num, _set("detector.rotz", conv=_deg), "detector rotation about z",
          D, "ANGLE", "deg", "0")
    _flag("-curved_det", None, _const("detector.curved", True),
          "spherical detector: every pixel at the same distance", D, default="off")
    _flag("-point_pixel", None, _const("detector.point_pixel", True),
          "solid angle 1/R^2 (no pixel area, no obliquity)", D, default="off")
    _flag("-roi", (int_, int_, int_, int_), _apply_roi,
          "render only this inclusive pixel range (others stay 0)", D,
          "XMIN XMAX YMIN YMAX", "pixels", "whole detector")
    _flag("-img", text, _nothing,
          "SMV image whose header sets size, pixel, distance, wavelength, beam centre, phi, osc",
          D, "FILE", "", "none")
    _flag("-mask", text, _nothing,
          "SMV mask: header as -img (BEAM_CENTER_Y read as detsize-Y); 0 pixels are skipped",
          D, "FILE", "", "none")

    # conventions and vectors
    _flag("-mosflm", None, _convention(Convention.MOSFLM, Pivot.BEAM),
          "MOSFLM axes and beam centre", V, default="on")
    _flag("-xds", None, _convention(Convention.XDS, Pivot.SAMPLE), "XDS axes and origin", V,
          default="off")
    _flag("-adxv", None, _convention(Convention.ADXV, Pivot.BEAM), "ADXV axes and beam centre",
          V, default="off")
    _flag("-denzo", None, _convention(Convention.DENZO, Pivot.BEAM), "DENZO axes and beam centre",
          V, default="off")
    _flag("-dials", None, _convention(Convention.DIALS, Pivot.BEAM), "DIALS axes and origin", V,
          default="off")
    for names, dotted, what, default in (
        ("-fdet_vector", "detector.fdet_vector", "fast detector axis", "0 0 1"),
        ("-sdet_vector", "detector.sdet_vector", "slow detector axis", "0 -1 0"),
        ("-odet_vector", "detector.odet_vector", "detector normal", "1 0 0"),
        ("-beam_vector", "beam.beam_vector", "beam direction", "1 0 0"),
        ("-polar_vector", "beam.polar_vector", "polarization (E-vector) direction", "0 0 1"),
        ("-spindle_axis", "crystal.spindle_axis", "phi rotation axis", "0 0 1"),
        ("-twotheta_axis", "detector.twotheta_axis", "two-theta rotation axis", "0 1 0"),
    ):
        _flag(names, xyz, _vector(dotted), f"{what}; {custom}", V, "X Y Z", "unit vector",
              f"convention (CUSTOM: {default})")
    _flag("-pix0_vector -pix0_vector_mm", xyz, _vector(None),
          f"first-pixel position: ignored as in C (pix0 is recomputed), but {custom}",
          V, "X Y Z", "m", "-")

    # beam
    _flag("-lambda -wave -wavelength", num, _set("beam.wavelength", conv=_lambda),
          "wavelength", B, "LAMBDA", "A", "1.0")
    _flag("-energy", num, _set("beam.wavelength", conv=_energy),
          "photon energy (sets the wavelength to 12398.42/E A)", B, "E", "eV", "12398.42")
    _flag("-fluence", num, _set("beam.fluence"), "integrated fluence", B, "F", "photons/m^2",
          "1.25932015286227e29")
    _flag("-flux", num, _set("beam.flux"), "flux; if non-zero, fluence = flux*exposure/beamsize^2",
          B, "F", "photons/s", "0")
    _flag("-exposure", num, _set("beam.exposure"), "exposure time", B, "T", "s", "1")
    _flag("-beamsize", num, _set("beam.beamsize", conv=_mm),
          "beam size (also clips the crystal)", B, "SIZE", "mm", "0.1")
    _flag("-dispersion", num, _set("beam.dispersion", conv=_percent),
          "full spectral width", B, "PCT", "%", "0")
    _flag("-dispsteps", int_, _set("beam.dispsteps"), "wavelengths across -dispersion", B, "N",
          "", "auto (2 with -dispersion)")
    _flag("-divergence", num, _set("beam.hdivrange", "beam.vdivrange", conv=_mrad),
          "horizontal and vertical divergence range", B, "ANGLE", "mrad", "0")
    _flag("-hdivrange", num, _set("beam.hdivrange", conv=_mrad), "horizontal divergence range",
          B, "ANGLE", "mrad", "0")
    _flag("-vdivrange", num, _set("beam.vdivrange", conv=_mrad), "vertical divergence range",
          B, "ANGLE", "mrad", "0")
    _flag("-hdivstep", num, _set("beam.hdivstep", conv=_mrad), "horizontal divergence step",
          B, "ANGLE", "mrad", "auto")
    _flag("-vdivstep", num, _set("beam.vdivstep", conv=_mrad), "vertical divergence step",
          B, "ANGLE", "mrad", "auto")
    _flag("-hdivsteps", int_, _set("beam.hdivsteps"), "horizontal divergence points", B, "N", "",
          "auto (2 with a range)")
    _flag("-vdivsteps", int_, _set("beam.vdivsteps"), "vertical divergence points", B, "N", "",
          "auto (2 with a range)")
    _flag("-divsteps", int_, _set("beam.hdivsteps", "beam.vdivsteps"),
          "horizontal and vertical divergence points", B, "N", "", "auto")
    _flag("-round_div", None, _const("beam.round_div", True),
          "keep divergence points inside an ellipse", B, default="on")
    _flag("-square_div", None, _const("beam.round_div", False),
          "keep the full divergence raster", B, default="off")
    _flag("-sourcefile", text, _apply_sourcefile,
          "explicit sources, lines of 'X Y Z I lambda' (m; missing columns take defaults)",
          B, "FILE", "", "none")
    _flag("-polar", num, _each(_set("beam.kahn_factor"), _const("beam.nopolar", False)),
          "Kahn polarization factor", B, "K", "", "0 (unpolarized)")
    _flag("-nopolar", None, _const("beam.nopolar", True), "no polarization factor at all", B,
          default="off")
    _flag("-coherent", None, _nothing, "coherent sources (parsed, no effect, as in C)", B,
          default="off")

    # mosaicity and rotation
    _flag("-mosaic -mosaicity -mosaici -mosaic_spread -mosaic_spr", num,
          _set("crystal.mosaic_spread", conv=_deg), "isotropic mosaic spread", M, "ANGLE", "deg",
          "0")
    _flag("-mosaic_domains -mosaic_dom", int_, _set("crystal.mosaic_domains"),
          "number of mosaic domains", M, "N", "", "1 (10 with a spread)")
    _flag("-phi", num, _set("crystal.phi0", conv=_deg), "start of the spindle rotation", M,
          "ANGLE", "deg", "0")
    _flag("-osc", num, _set("crystal.osc", conv=_deg), "oscillation range", M, "ANGLE", "deg",
          "auto (1 with -phisteps)")
    _flag("-phistep", num, _set("crystal.phistep", conv=_deg), "phi step", M, "ANGLE", "deg",
          "auto")
    _flag("-phisteps", int_, _set("crystal.phisteps"), "phi steps across -osc", M, "N", "",
          "1 (2 with -osc)")

    # sampling and absorption
    _flag("-oversample", int_, _set("sampling.oversample"), "N x N sub-pixels per pixel", S, "N",
          "", "auto")
    _flag("-oversample_thick", None, _const("sampling.oversample_thick", True),
          "sensor absorption per sub-pixel", S, default="off")
    _flag("-oversample_polar", None, _const("sampling.oversample_polar", True),
          "polarization per sub-pixel", S, default="off")
    _flag("-oversample_omega", None, _const("sampling.oversample_omega", True),
          "solid angle per sub-pixel", S, default="off")
    _flag("-dmin", num, _set("sampling.dmin", conv=lambda v: v * 1e-10),
          "skip scattering with resolution d below this", S, "D", "A", "0 (off)")
    _flag("-detector_abs -detector_absorb -detector_absorption", num, _apply_detector_abs,
          "sensor attenuation length; inf or 0 = no absorption", S, "LEN|inf", "um",
          "thickness", reader=_read_detector_abs)
    _flag("-detector_thick", num, _set("detector.thickness", conv=_um), "sensor thickness", S,
          "T", "um", "0")
    _flag("-detector_thicksteps -thicksteps", int_, _set("detector.thicksteps"),
          "sensor layers", S, "N", "", "auto (2 with a thickness)")

    # noise and seeds
    _flag("-seed", int_, _set("seed"), "noise seed (C uses -N internally)", NS, "N", "",
          "time of day")
    _flag("-mosaic_seed", int_, _set("crystal.mosaic_seed"), "mosaic domain seed", NS, "N", "",
          "12345678")
    _flag("-misset_seed", int_, _set("crystal.misset_seed"), "seed of -misset random", NS, "N", "",
          "the -seed value (C: time of day)")

    # output files
    _flag("-floatfile -floatimage", text, _set("out.floatfile"),
          "raw float32 photons/pixel (always written)", OUT, "FILE", "", DEFAULT_FLOATFILE)
    _flag("-intfile -intimage", text, _set("out.intfile"),
          "SMV uint16 image, float*scale + adc (always written)", OUT, "FILE", "", DEFAULT_INTFILE)
    _flag("-noisefile -noiseimage", text,
          _each(_set("out.noisefile"), _const("out.write_noise", True)),
          "SMV uint16 image with Poisson noise (+ adc)", OUT, "FILE", "", DEFAULT_NOISEFILE)
    _flag("-pgmfile -pgmimage", text, _each(_set("out.pgmfile"), _const("out.write_pgm", True)),
          "8-bit PGM preview", OUT, "FILE", "", DEFAULT_PGMFILE)
    _flag("-pngfile", text, _set("out.png_file"),
          "PNG preview with a colour bar in photons/pixel, on the PGM's scale (beyond C)", OUT,
          "FILE", "", "none")
    _flag("-nonoise", None, _const("out.write_noise", False), "no noise image (no noise RNG)", OUT,
          default="noise on")
    _flag("-nopgm", None, _const("out.write_pgm", False), "no PGM image", OUT, default="PGM on")
    _flag("-scale", num, _set("out.scale"), "int-image scale", OUT, "S", "", "55000/max_I")
    _flag("-pgmscale", num, _each(_set("out.pgmscale"), _const("out.write_pgm", True)),
          "PGM scale", OUT, "S", "", "250/(5*rmsd)")
    _flag("-adc", num, _set("out.adc"), "offset added to the int and noise images", OUT, "ADU",
          "", "40")
    _flag("-cbf", text, _set("out.cbf_file"), "also write the int image as CBF (beyond C)", OUT,
          "FILE", "", "none")
    _flag("-h5 -hdf5", text, _set("out.h5_file"),
          "also write the float image as HDF5 (beyond C)", OUT, "FILE", "", "none")

    # run control
    _flag("-printout", None, _const("out.printout", True),
          "C's per-pixel debug lines (accepted, not printed: use -trace_pixel)", R,
          default="off")
    _flag("-printout_pixel", (int_, int_), _apply_printout_pixel,
          "C's debug lines of one pixel (accepted, not printed: use -trace_pixel)", R,
          "FAST SLOW", "pixels", "-")
    _flag("-trace_pixel", (int_, int_), _apply_trace, "TRACE_PY lines for one pixel (beyond C)", R,
          "SLOW FAST", "pixels", "-")
    _flag("-progress", None, _const("out.progress", True),
          "progress bar on stderr after 2 s (C: 'NN% done' on stdout)", R,
          default="on")
    _flag("-noprogress", None, _const("out.progress", False), "no progress bar", R,
          default="progress on")
    _flag("-max_terms", num, _set("out.max_terms", conv=_term_count),
          "refuse a render of more terms (pixels x sub-pixels x layers x sources x phi steps "
          "x mosaic domains) than this, in under a second; 0 = no limit (beyond C)", R, "N",
          "terms", "$NB_MAX_TERMS or 1e11")
    _flag("-dtype", text, _apply_dtype,
          f"floating-point precision (default from ${DTYPE_ENV}; beyond C)",
          R, "float32|float64", "", "float32")
    _flag("-device", text, _apply_device, "torch device (beyond C)", R, "cpu|cuda[:N]", "", "cpu")
    _flag(cmatch.STRICT_FLAG, None, _nothing,
          "match flags exactly: refuse unknown flags and stray words instead of reading them as "
          "the C program does (also implied by -quirks corrected; beyond C)", R,
          default="C's substring matching")
    _flag("-quirks", text, _apply_quirks,
          "'c': reproduce C's quirks bit for bit; 'corrected': fixed physics (beyond C)", R,
          "c|corrected", "", "c")


_build_table()
TABLE: tuple[Flag, ...] = tuple(_TABLE)
FLAGS: dict[str, Flag] = {name: flag for flag in TABLE for name in flag.names}


# ------------------------------------------------------------------------------------------------
# Parser
# ------------------------------------------------------------------------------------------------


def _garbled(flag: Flag, token: str, kind: Kind) -> ArgumentError:
    unit = f" ({flag.unit})" if flag.unit and kind is not TEXT else ""
    return ArgumentError(f"{flag.name}: expected {kind.what}{unit}, got {token!r}")


def _missing(flag: Flag, argv: list[str], j: int) -> ArgumentError:
    got = f"got flag {argv[j]}" if j < len(argv) else "got end of arguments"
    usage = f"{flag.name} {flag.metavar}".strip()
    return ArgumentError(f"{flag.name}: missing value ({usage}), {got}")


def _read_fixed(flag: Flag, argv: list[str], i: int) -> tuple[list[Any], int]:
    values = []
    for n, kind in enumerate(flag.kinds):
        j = i + 1 + n
        if j >= len(argv) or (argv[j] in FLAGS and not is_number(argv[j])):
            raise _missing(flag, argv, j)
        try:
            values.append(kind.convert(argv[j]))
        except ValueError:
            raise _garbled(flag, argv[j], kind) from None
    return values, i + 1 + len(flag.kinds)


def suggest(token: str) -> str | None:
    """The flag closest to ``token``, if any is close."""
    return cmatch.suggest(token, FLAGS)


def _unknown(token: str, previous: Flag | None) -> ArgumentError:
    hint = suggest(token) if token.startswith("-") or token.startswith("+") else None
    tail = f"; did you mean {hint}?" if hint else "; see nanobragg -h"
    if token.startswith("-"):
        return ArgumentError(f"unknown flag {token!r}{tail}")
    after = f" after {previous.name}" if previous else ""
    return ArgumentError(f"unexpected argument {token!r}{after} (flags start with '-'){tail}")


def _read_headers(st: _State, argv: list[str], strict: bool) -> None:
    """C's pre-pass: the last ``-mask`` and the last ``-img`` name SMV files whose headers
    initialise the detector, the mask first, then the image."""
    names: dict[str, str] = {}
    for i, token in enumerate(argv[:-1]):
        for name in cmatch.header_flags(token, strict):
            if argv[i + 1] not in FLAGS:
                names[name] = argv[i + 1]
    if "-mask" in names:
        st.current = f"-mask {names['-mask']}"
        st.parsed.mask_file = names["-mask"]
        smv = read_smv_input(st.cwd / names["-mask"], names["-mask"])
        _apply_header(st, smv, mask=True)
        st.cfg.detector.mask = np.array(smv.data, dtype=np.uint16)
    if "-img" in names:
        st.current = f"-img {names['-img']}"
        st.parsed.img_file = names["-img"]
        _apply_header(st, read_smv_input(st.cwd / names["-img"], names["-img"]), mask=False)


def _apply_header(st: _State, smv: SMVImage, mask: bool) -> None:
    det, beam, xtal = st.cfg.detector, st.cfg.beam, st.cfg.crystal
    det.spixels, det.fpixels = smv.shape
    value = smv.value("PIXEL_SIZE")
    if not math.isnan(value):
        det.pixel_size = value / 1000.0
    det.detsize_f = det.pixel_size * det.fpixels
    det.detsize_s = det.pixel_size * det.spixels
    simple = (
        ("DISTANCE", det, "distance", _mm),
        ("CLOSE_DISTANCE", det, "close_distance", _mm),
        ("WAVELENGTH", beam, "wavelength", _angstrom),
        ("BEAM_CENTER_X", det, "beam_x", _mm),
        ("ORGX", det, "orgx", float),
        ("ORGY", det, "orgy", float),
        ("PHI", xtal, "phi0", _deg),
        ("OSC_RANGE", xtal, "osc", _deg),
    )
    for key, obj, name, conv in simple:
        value = smv.value(key)
        if not math.isnan(value):
            setattr(obj, name, conv(value))
            section = {id(det): "detector", id(beam): "beam", id(xtal): "crystal"}[id(obj)]
            st.parsed.origins[f"{section}.{name}"] = f"{st.current} (header {key}={value:g})"
    value = smv.value("BEAM_CENTER_Y")
    if not math.isnan(value):
        det.beam_y = det.detsize_s - value / 1000.0 if mask else value / 1000.0
    # TWOTHETA is read by C into a variable it never uses: no effect.


def new_state(cwd: Path) -> _State:
    cfg = SimulationConfig()
    out = OutputOptions()
    return _State(cfg, out, ParsedArgs(cfg, out), cwd)


def parse_args(
    argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> ParsedArgs:
    """Parse a nanoBragg command line (without the program name) into configs.

    Relative input files (-mat, -sourcefile, -img, -mask) are read against ``cwd``; -hkl,
    -dump and the output names are kept as typed (the simulator and writer resolve them
    against the same ``cwd``). ``env`` (default ``os.environ``) supplies ``NB_PYTORCH_DTYPE``.

    Raises:
        ArgumentError: unknown flag, missing or garbled value.
        InputFileError: an input file read here is missing or malformed.
    """
    argv = [str(a) for a in argv]
    st = new_state(Path(cwd) if cwd is not None else Path.cwd())
    if any(token in HELP_FLAGS for token in argv):
        st.parsed.show_help = True
        return st.parsed
    env = os.environ if env is None else env
    if env.get(DTYPE_ENV):
        st.cfg.dtype = parse_dtype(env[DTYPE_ENV], f"${DTYPE_ENV}")
    strict = cmatch.wants_strict(argv)
    _read_headers(st, argv, strict)
    i, previous = 0, None
    while i < len(argv):
        if strict:
            flag, also = FLAGS.get(argv[i]), []
            if flag is None:
                raise _unknown(argv[i], previous)
        else:
            found = cmatch.resolve(argv, i, FLAGS)
            if found.notice:
                st.parsed.notices.append(found.notice)
            if found.flag is None:
                i += max(found.ignored, 1)
                continue
            flag, also = found.flag, found.also
        start = i
        values, i = (flag.reader or _read_fixed)(flag, argv, i)
        st.current = " ".join(argv[start:i])
        flag.apply(st, values)
        for other in also:  # C's collisions: the other flag reads the same tokens with atof
            other.apply(st, cmatch.c_values(other, argv, start))
        previous = flag
    _check_combinations(st.cfg)
    return st.parsed


def _check_combinations(cfg: SimulationConfig) -> None:
    """Combinations of flags that C would turn into inf/NaN images."""
    beam = cfg.beam
    if beam.flux != 0.0 and beam.exposure > 0.0 and beam.beamsize == 0.0:
        raise ArgumentError("-flux needs a non-zero -beamsize (fluence = flux*exposure/beamsize^2)")
