"""The refinable parameters: names, command-line units, transforms, bounds and priors.

Every parameter is held in the units of the ``nanobragg`` command line (Å, deg, mm, cells) —
its *natural* value. The optimiser never sees natural values: each one is mapped to an
unconstrained coordinate ``u`` (log for positive quantities, a logistic map between bounds),
and ``u`` is shifted and scaled, ``x = (u - u_start) / step``, with ``step`` the expected
standard error at the start (from the Fisher information), so that a unit step in every
coordinate changes the fit by about the same amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nanobragg.refine.errors import RefineError


@dataclass(frozen=True)
class ParameterSpec:
    """One refinable quantity of the model."""

    name: str
    unit: str
    #: positive quantities are refined as log(value)
    positive: bool
    #: typical standard error (natural units) when the Fisher information gives none
    default_step: float
    description: str


def _spec(name: str, unit: str, positive: bool, step: float, text: str) -> ParameterSpec:
    return ParameterSpec(name, unit, positive, step, text)


_SPECS = [
    *(_spec(f"cell_{x}", "A", True, 1e-3, f"unit cell length {x} (-cell)") for x in "abc"),
    *(_spec(f"cell_{x}", "deg", False, 1e-2, f"unit cell angle {x} (-cell)")
      for x in ("alpha", "beta", "gamma")),
    *(_spec(f"misset_{x}", "deg", False, 1e-2, f"misset rotation about {x} (-misset)")
      for x in "xyz"),
    _spec("distance", "mm", True, 1e-2, "sample to detector distance (-distance)"),
    _spec("beam_x", "mm", False, 1e-2, "beam centre X (-Xbeam)"),
    _spec("beam_y", "mm", False, 1e-2, "beam centre Y (-Ybeam)"),
    *(_spec(f"rot{x}", "deg", False, 1e-2, f"detector rotation about {x} (-detector_rot{x})")
      for x in "xyz"),
    _spec("twotheta", "deg", False, 1e-2, "detector two-theta (-twotheta)"),
    _spec("lambda", "A", True, 1e-4, "wavelength (-lambda)"),
    _spec("mosaic", "deg", True, 1e-2, "mosaic spread (-mosaic)"),
    *(_spec(f"N{x}", "cells", True, 1e-2, f"unit cells along {x} (-N{x})") for x in "abc"),
    _spec("scale", "", True, 1e-2, "overall scale of the simulated image"),
    _spec("background", "photons", False, 1e-2, "constant background per pixel"),
    *(_spec(f"background_{x}", "photons", False, 1e-2,
            f"background polynomial coefficient of {x} (coordinates -1..1 across the detector)")
      for x in ("x", "y", "xx", "xy", "yy")),
    _spec("F", "", False, 1.0, "amplitude of every reflection of the -hkl table"),
]

SPECS: dict[str, ParameterSpec] = {s.name: s for s in _SPECS}
#: parameters applied after the simulation (the image is scale * simulation + background)
IMAGE_LEVEL = {"scale"} | {n for n in SPECS if n.startswith("background")}


def spec(name: str) -> ParameterSpec:
    """The spec of ``name``; a one-line error listing the valid names otherwise."""
    try:
        return SPECS[name]
    except KeyError:
        raise RefineError(
            f"--refine: unknown parameter {name!r} (known: {', '.join(SPECS)})") from None


def parse_names(text: str, option: str) -> list[str]:
    """``a,b,c`` (or a list) -> validated, de-duplicated names in order."""
    names = [n.strip() for n in text.split(",") if n.strip()] if isinstance(text, str) else text
    out: list[str] = []
    for name in names:
        if name not in SPECS:
            raise RefineError(
                f"{option}: unknown parameter {name!r} (known: {', '.join(SPECS)})")
        if name not in out:
            out.append(name)
    return out


@dataclass
class Parameter:
    """One unknown of the fit: a spec, for one image (``image``) or shared (None)."""

    spec: ParameterSpec
    image: int | None
    start: float
    bounds: tuple[float, float] | None = None
    #: Gaussian prior (mean, sigma) in natural units
    prior: tuple[float, float] | None = None
    #: scale of the optimiser coordinate in u (set from the Fisher information)
    step: float = 1.0

    @property
    def label(self) -> str:
        """The name in outputs: ``misset_x`` or, per image, ``misset_x@2`` (1-based)."""
        return self.spec.name if self.image is None else f"{self.spec.name}@{self.image + 1}"

    def check_start(self) -> None:
        if self.spec.positive and not self.start > 0:
            raise RefineError(f"{self.label}: starting value must be > 0 (got {self.start:g})")
        if self.bounds is not None:
            lo, hi = self.bounds
            if not lo < self.start < hi:
                raise RefineError(f"{self.label}: starting value {self.start:g} is not inside "
                                  f"the bounds {lo:g}:{hi:g}")

    # natural value <-> unconstrained coordinate u
    def to_u(self, value: float) -> float:
        if self.bounds is not None:
            lo, hi = self.bounds
            t = (value - lo) / (hi - lo)
            return math.log(t / (1.0 - t))
        return math.log(value) if self.spec.positive else value

    def from_u(self, u: torch.Tensor) -> torch.Tensor:
        if self.bounds is not None:
            lo, hi = self.bounds
            return lo + (hi - lo) * torch.sigmoid(u)
        return torch.exp(u) if self.spec.positive else u

    def dvalue_du(self, value: float) -> float:
        """d(natural)/du at ``value`` (the chain rule between the two scales)."""
        if self.bounds is not None:
            lo, hi = self.bounds
            t = (value - lo) / (hi - lo)
            return (hi - lo) * t * (1.0 - t)
        return value if self.spec.positive else 1.0


def parse_ranges(items: list[str], option: str) -> dict[str, tuple[float, float]]:
    """``NAME=A:B`` items (bounds lo:hi or prior mean:sigma) -> {name-or-label: (A, B)}."""
    out: dict[str, tuple[float, float]] = {}
    for item in items:
        name, sep, rest = item.partition("=")
        first, colon, second = rest.partition(":")
        try:
            pair = (float(first), float(second))
        except ValueError:
            pair = None
        if not sep or not colon or pair is None:
            raise RefineError(f"{option} {item!r}: expected NAME=A:B with two numbers")
        spec(name.partition("@")[0])
        out[name] = pair
    return out


def parse_starts(items: list[str]) -> dict[str, float]:
    """``--start NAME[@IMAGE]=VALUE`` items -> {label: value}."""
    out: dict[str, float] = {}
    for item in items:
        name, sep, text = item.partition("=")
        try:
            number = float(text)
        except ValueError:
            number = None
        if not sep or number is None:
            raise RefineError(f"--start {item!r}: expected NAME[@IMAGE]=VALUE")
        spec(name.partition("@")[0])
        out[name] = number
    return out
