"""The hand-off from the resolved models to the kernel: :class:`~nanobragg.kernel.KernelInputs`.

The Simulator resolves one model per physical thing (detector, beam and sources, crystal and
phi sweep, structure factors); :func:`build_kernel_inputs` turns them into the frozen
``KernelInputs`` of one render (tensors on the device, in the dtypes the kernel wants, shapes in
the dataclass), and :func:`with_term_path` chooses how its term stage runs: the fused loop
(:mod:`nanobragg.fused_terms`) where it applies, else the torch term function, compiled for
large jobs (:mod:`nanobragg.accel`). Nothing here changes a value; it only moves and casts them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Protocol

import torch

from nanobragg.accel import maybe_compile
from nanobragg.beam import Sources
from nanobragg.config import SimulationConfig
from nanobragg.convention import ConventionAxes
from nanobragg.crystal import Crystal, PhiSweep, orientation_tables
from nanobragg.detector import DetectorGeometry
from nanobragg.fused_terms import fused_terms
from nanobragg.geometry3d import value
from nanobragg.kernel import KernelInputs, bragg_terms
from nanobragg.structure_factors import StructureFactorTable, f_lookup


class ResolvedModels(Protocol):
    """What :func:`build_kernel_inputs` reads of the resolved models (a Simulator is one)."""

    config: SimulationConfig
    device: torch.device
    detector: DetectorGeometry
    axes: ConventionAxes
    crystal: Crystal
    phi: PhiSweep
    #: mosaic domain rotations [Mos, 3, 3]
    umats: torch.Tensor
    sources: Sources
    structure_factors: StructureFactorTable
    interpolate: bool
    oversample: int
    fluence: float
    water_background: float
    steps: int


def build_kernel_inputs(models: ResolvedModels, dtype: torch.dtype | None = None,
                        force_running_sum: bool = False) -> KernelInputs:
    """The kernel's inputs of ``models`` in ``dtype`` (default: the config's), on the torch
    term path uncompiled (:func:`with_term_path` picks the path of a render)."""
    cfg, dev = models.config, models.device
    dtype = dtype or cfg.dtype
    xtal, f64 = models.crystal, torch.float64
    table_eff, table_first = orientation_tables(xtal, models.axes.spindle, models.phi.angles(),
                                                models.umats, cfg.quirks.phi_carryover)
    sampling = cfg.sampling
    inp = KernelInputs(
        geometry=models.detector,
        oversample=models.oversample,
        # the per-pixel stage runs in float64 whatever the dtype (kernel.render_chunk)
        incident=(-models.sources.directions).to(dev, f64),
        wavelengths=_source_wavelengths(models.sources, cfg.beam.wavelength).to(dev, f64),
        orientations=table_eff.to(dev, f64),
        orientations_first=table_first.to(dev, f64),
        n_cells=(xtal.Na.to(dev), xtal.Nb.to(dev), xtal.Nc.to(dev)),
        shape=xtal.shape,
        fudge=xtal.fudge,
        reciprocal=torch.stack([xtal.a_star, xtal.b_star, xtal.c_star]).to(dev, dtype),
        structure_factors=f_lookup(models.structure_factors, models.interpolate,
                                   cfg.quirks.interpolation_fallback),
        term_function=None,
        default_F=cfg.structure_factors.default_F,
        interpolate=models.interpolate,
        kahn_factor=cfg.beam.kahn_factor,
        nopolar=cfg.beam.nopolar,
        polar_vector=models.axes.polar.to(dev, f64),
        fluence=models.fluence,
        water_background=models.water_background,
        dmin=sampling.dmin,
        steps=models.steps,
        oversample_thick=sampling.oversample_thick,
        oversample_polar=sampling.oversample_polar,
        oversample_omega=sampling.oversample_omega,
        quirks=cfg.quirks,
        dtype=dtype,
        device=dev,
        force_running_sum=force_running_sum,
    )
    return replace(inp, term_function=bragg_terms(inp))


def with_term_path(inp: KernelInputs, table: StructureFactorTable, terms: int,
                   needs_grad: bool) -> KernelInputs:
    """``inp`` with the term path of a render of ``terms`` terms: the fused term sums of plain
    sums where they apply (the torch term function stays the fallback), else the torch term
    function, compiled for large jobs without gradients."""
    fused = None if needs_grad else fused_terms(inp, table)
    if fused is not None:
        return replace(inp, fused=fused)
    return replace(inp, term_function=maybe_compile(bragg_terms(inp), terms, needs_grad))


def config_needs_grad(config: SimulationConfig) -> bool:
    """True when a tensor of the config asks for a gradient (refinement)."""
    return any(isinstance(x, torch.Tensor) and x.requires_grad for x in _leaves(config))


def _leaves(config: SimulationConfig) -> Iterator[object]:
    """Every field value of the config's physical sections (tuples flattened)."""
    for section in (config.detector, config.beam, config.crystal):
        for field_value in vars(section).values():
            if isinstance(field_value, tuple):
                yield from field_value
            else:
                yield field_value


def _source_wavelengths(sources: Sources, wavelength) -> torch.Tensor:
    """The sources' wavelengths [Src] (m), in the autograd graph of a wavelength that asks for
    a gradient: every generated wavelength is proportional to lambda0."""
    lams = sources.wavelengths
    if isinstance(wavelength, torch.Tensor) and wavelength.requires_grad:
        lams = lams / value(wavelength) * wavelength
    return lams
