"""What each flag does to the configs: the appliers the flag table (:mod:`nanobragg.cli.flags`)
names, and the parse state they act on.

Values arrive converted by their kind (:mod:`nanobragg.cli.values`); units are converted here,
with C's arithmetic (:mod:`nanobragg.units`). Every assignment through :meth:`State.assign`
records the flag as typed, so that an error about a config field can name the flag.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nanobragg import units
from nanobragg.cli.options import ArgumentError, OutputOptions, ParsedArgs
from nanobragg.config import Convention, Pivot, Quirks, SimulationConfig, dtype_name_problem
from nanobragg.io.matrix import read_matrix
from nanobragg.io.table import read_sources, read_stol_table
from nanobragg.workload import term_limit


@dataclass
class State:
    cfg: SimulationConfig
    out: OutputOptions
    parsed: ParsedArgs
    cwd: Path
    #: the flag being applied and its values, as typed (recorded as the origin of what it sets)
    current: str = ""
    #: the table's name of the flag being applied (recorded as the setter of what it sets)
    flag: str = ""

    def assign(self, dotted: str, value: Any) -> None:
        obj, name = self.target(dotted)
        setattr(obj, name, value)
        self.parsed.origins[dotted] = self.current
        self.parsed.setters[dotted] = self.flag

    def target(self, dotted: str) -> tuple[Any, str]:
        section, _, name = dotted.rpartition(".")
        obj: Any = {"out": self.out, "": self.cfg}.get(section)
        if obj is None:
            obj = getattr(self.cfg, section)
        return obj, name


def new_state(cwd: Path) -> State:
    cfg = SimulationConfig()
    out = OutputOptions()
    return State(cfg, out, ParsedArgs(cfg, out), cwd)


Apply = Callable[[State, list[Any]], None]


def sets(*fields: str) -> Callable[[Apply], Apply]:
    """Mark an applier with the config fields it sets: the CLI names a library error about a
    field by the first flag of the table whose applier sets it (:mod:`nanobragg.cli.terms`)."""

    def mark(apply: Apply) -> Apply:
        apply.targets = fields  # type: ignore[attr-defined]
        return apply

    return mark


# ------------------------------------------------------------------------------------------------
# Generic appliers
# ------------------------------------------------------------------------------------------------


def set_(*targets: str, conv: Callable[[Any], Any] | None = None) -> Apply:
    """Set each target field to the (converted) first value."""

    def apply(st: State, values: list[Any]) -> None:
        value = conv(values[0]) if conv else values[0]
        for dotted in targets:
            st.assign(dotted, value)

    return sets(*targets)(apply)


def const(dotted: str, value: Any) -> Apply:
    def apply(st: State, values: list[Any]) -> None:
        st.assign(dotted, value)

    return sets(dotted)(apply)


def each(*appliers: Apply) -> Apply:
    def apply(st: State, values: list[Any]) -> None:
        for one in appliers:
            one(st, values)

    return sets(*(t for one in appliers for t in getattr(one, "targets", ())))(apply)


def nothing(st: State, values: list[Any]) -> None:
    """Parsed for compatibility; no effect (as in C)."""


def vector(dotted: str | None) -> Apply:
    """x y z of a direction; any vector flag switches to the CUSTOM convention."""

    def apply(st: State, values: list[Any]) -> None:
        st.cfg.detector.convention = Convention.CUSTOM
        if dotted is not None:
            obj, name = st.target(dotted)
            setattr(obj, name, (float(values[0]), float(values[1]), float(values[2])))

    return sets(dotted)(apply) if dotted is not None else apply


def convention(conv: Convention, pivot: Pivot) -> Apply:
    def apply(st: State, values: list[Any]) -> None:
        st.cfg.detector.convention = conv
        st.cfg.detector.pivot = pivot

    return apply


def path(v: str) -> Path:
    return Path(v)


# ------------------------------------------------------------------------------------------------
# Conversions (the physical rules on the values are the library's, nanobragg.validation)
# ------------------------------------------------------------------------------------------------


def term_count(v: float) -> int:
    return term_limit(v, "-max_terms", f"{v:g}")


def energy(v: float) -> float:
    """eV -> m; a photon energy of 0 has no wavelength (NaN, refused as not positive)."""
    return units.ev_wavelength(v) if v != 0 else math.nan


def close_distance(v: float) -> float:
    return units.mm(v)


def wavelength(v: float) -> float:
    return units.angstrom(v)


# ------------------------------------------------------------------------------------------------
# Flag-specific appliers
# ------------------------------------------------------------------------------------------------


def apply_pivot(st: State, values: list[Any]) -> None:
    word = str(values[0]).lower()
    if word not in ("beam", "sample"):
        raise ArgumentError(f"-pivot: expected 'beam' or 'sample', got {values[0]!r}")
    st.cfg.detector.pivot = Pivot(word)


@sets("detector.roi")
def apply_roi(st: State, values: list[Any]) -> None:
    st.assign("detector.roi", tuple(int(v) for v in values))


@sets("crystal.cell")
def apply_cell(st: State, values: list[Any]) -> None:
    """a [b c alpha beta gamma]: missing b, c default to a, missing angles to 90 degrees."""
    a = values[0]
    lengths = [a, *values[1:3]] + [a] * (3 - len(values[:3]))
    angles = [units.deg(v) for v in values[3:6]]
    angles += [math.pi / 2] * (3 - len(angles))
    st.cfg.crystal.cell = (*lengths, *angles)


def apply_misset(st: State, values: list[Any]) -> None:
    if values == ["random"]:
        st.cfg.crystal.misset_random = True
        st.cfg.crystal.misset = None
    else:
        st.cfg.crystal.misset_random = False
        st.cfg.crystal.misset = tuple(units.deg(v) for v in values)


@sets("detector.attenuation_length")
def apply_detector_abs(st: State, values: list[Any]) -> None:
    """Attenuation length in um; ``inf`` or 0 turn absorption off (thickness 0, mu 0)."""
    value = values[0]
    if value == math.inf or value == 0.0:
        st.assign("detector.thickness", 0.0)
        st.cfg.detector.attenuation_length = math.inf
        return
    st.assign("detector.attenuation_length", units.um(value))


@sets("crystal.amatrix")
def apply_mat(st: State, values: list[Any]) -> None:
    name = values[0]
    st.cfg.crystal.amatrix = read_matrix(st.cwd / name, name)
    st.cfg.crystal.amatrix_name = name
    st.parsed.mat_file = name


def apply_sourcefile(st: State, values: list[Any]) -> None:
    name = values[0]
    st.assign("beam.sources", read_sources(st.cwd / name, name))
    st.parsed.source_file = name


def apply_stol(st: State, values: list[Any]) -> None:
    """Read (to refuse missing or empty files, as C does), then ignore: C never uses it."""
    read_stol_table(st.cwd / values[0], values[0])
    st.parsed.table_files.append((st.current.split()[0], values[0]))
    st.cfg.structure_factors.stol_file = values[0]


def apply_mtz(st: State, values: list[Any]) -> None:
    name = values[0]
    if not name.lower().endswith(".mtz"):
        raise ArgumentError(f"-mtz: {name!r} does not end in .mtz")
    st.cfg.structure_factors.hkl_file = Path(name)


def apply_dtype(st: State, values: list[Any]) -> None:
    st.cfg.dtype = parse_dtype(values[0], "-dtype")


def parse_dtype(word: str, source: str) -> str:
    """The precision named by ``word`` (kept by name: the parser does not load torch)."""
    problem = dtype_name_problem(word)
    if problem is not None:
        raise ArgumentError(f"{source}: {problem}")
    return word


def apply_quirks(st: State, values: list[Any]) -> None:
    word = values[0]
    if word not in ("c", "corrected"):
        raise ArgumentError(f"-quirks: expected 'c' or 'corrected', got {word!r}")
    st.cfg.quirks = Quirks() if word == "c" else Quirks.corrected()


def apply_trace(st: State, values: list[Any]) -> None:
    slow, fast = int(values[0]), int(values[1])
    if slow < 0 or fast < 0:
        raise ArgumentError(f"-trace_pixel: pixel indices must not be negative, got {slow} {fast}")
    st.out.trace_pixel = (slow, fast)


def apply_printout_pixel(st: State, values: list[Any]) -> None:
    st.out.printout = True
    st.out.printout_pixel = (int(values[0]), int(values[1]))


def apply_n(st: State, values: list[Any]) -> None:
    for name in ("crystal.Na", "crystal.Nb", "crystal.Nc"):
        st.assign(name, float(values[0]))
