"""The lab-frame conventions (MOSFLM, DENZO, ADXV, XDS, DIALS, CUSTOM): the unit vectors each
one fixes before the detector is rotated, and the axes of a run.

A convention fixes seven directions at once: the beam, the detector's fast, slow and normal
axes, the two-theta axis, the polarization axis and the spindle. They belong to no single
model (the beam and the crystal read them too), so they are resolved here, once per run, from
the convention and, for CUSTOM, the vectors given in the detector, beam and crystal sections
(:func:`run_axes`); :func:`nanobragg.detector.resolve_detector` then places the detector.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nanobragg.config import Convention, SimulationConfig
from nanobragg.geometry3d import cross, unitize

# Axis presets (beam, fdet, sdet, odet, twotheta axis, polar, spindle) of each convention.
_PRESETS: dict[Convention, tuple[tuple[float, float, float], ...]] = {
    #                  beam       fdet        sdet        odet       2theta      polar   spindle
    Convention.MOSFLM: ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1),
                        (0, 0, 1)),
    Convention.DENZO: ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 0, -1), (0, 0, 1),
                       (0, 0, 1)),
    Convention.ADXV: ((0, 0, 1), (1, 0, 0), (0, -1, 0), (0, 0, 1), (-1, 0, 0), (1, 0, 0),
                      (1, 0, 0)),
    Convention.XDS: ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 0), (1, 0, 0),
                     (1, 0, 0)),
    Convention.DIALS: ((0, 0, 1), (1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 0), (0, 1, 0),
                       (0, 1, 0)),
    # CUSTOM starts from C's initial arrays: MOSFLM-like, but the 2theta axis is +y.
    Convention.CUSTOM: ((1, 0, 0), (0, 0, 1), (0, -1, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1),
                        (0, 0, 1)),
}


@dataclass(frozen=True)
class ConventionAxes:
    """Unit vectors fixed by the convention (or the CUSTOM flags), before detector rotations."""

    beam: torch.Tensor
    fdet: torch.Tensor
    sdet: torch.Tensor
    odet: torch.Tensor
    twotheta_axis: torch.Tensor
    polar: torch.Tensor
    spindle: torch.Tensor
    #: the given odet was replaced by fdet x sdet (C prints a warning)
    odet_regenerated: bool = False


def convention_axes(
    convention: Convention,
    custom: dict[str, tuple[float, float, float] | None] | None = None,
) -> ConventionAxes:
    """Preset vectors, with CUSTOM overrides (keys as the ConventionAxes fields), unitized.

    C regenerates odet as fdet x sdet whenever the given odet's length is not exactly 1.0
    (it prints "WARNING: auto-generating odet_vector"), so a hand-typed odet is replaced.
    """
    names = ("beam", "fdet", "sdet", "odet", "twotheta_axis", "polar", "spindle")
    raw = dict(zip(names, _PRESETS[convention], strict=True))
    if convention is Convention.CUSTOM and custom:
        raw.update({k: v for k, v in custom.items() if v is not None})
    vecs = {k: unitize(torch.tensor(v, dtype=torch.float64)) for k, v in raw.items()}
    ox, oy, oz = (float(c) for c in raw["odet"])
    regenerate = math.sqrt(ox * ox + oy * oy + oz * oz) != 1.0
    if regenerate:
        vecs["odet"] = unitize(cross(vecs["fdet"], vecs["sdet"]))
    return ConventionAxes(**vecs, odet_regenerated=regenerate)


def run_axes(config: SimulationConfig) -> ConventionAxes:
    """The axes of a run: the convention's presets with every CUSTOM vector of the config
    (detector axes, two-theta axis, beam, polarization, spindle)."""
    det, beam, xtal = config.detector, config.beam, config.crystal
    return convention_axes(det.convention, {
        "beam": beam.beam_vector, "fdet": det.fdet_vector, "sdet": det.sdet_vector,
        "odet": det.odet_vector, "twotheta_axis": det.twotheta_axis, "polar": beam.polar_vector,
        "spindle": xtal.spindle_axis,
    })
