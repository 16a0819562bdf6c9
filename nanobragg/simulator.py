"""The simulation pipeline: validated config -> physical models -> kernel inputs -> kernel -> image.

    sim = Simulator(config, cwd=Path("."), log=print)   # resolves detector, crystal, beam, F
    image = sim.run()                                   # torch.Tensor [slow, fast], photons/pixel
    sim.detector, sim.report                            # values for headers and stdout

Each stage hands the next a resolved object and owns no physics of its own:

1. ``config.validate(cwd)``: the config, in SI units;
2. the models, each resolving itself in C's order (:meth:`Simulator._resolve`): the axes of
   the convention (:mod:`nanobragg.convention`), the detector (:mod:`nanobragg.detector`),
   the crystal, its misset, phi sweep and mosaic domains (:mod:`nanobragg.crystal`), the
   oversampling (:mod:`nanobragg.sampling`), the work and its refusal
   (:mod:`nanobragg.workload`), the sources (:mod:`nanobragg.beam`) and the structure factors
   (:mod:`nanobragg.structure_factors`);
3. the frozen :class:`~nanobragg.kernel.KernelInputs` (:mod:`nanobragg.kernel_inputs`);
4. the kernel, chunk by chunk of pixels (:func:`nanobragg.kernel.render_chunk`, through
   :class:`nanobragg.trace.RenderRecorder` for traces and printouts);
5. the float image [slow, fast], and the run's measured values in :attr:`Simulator.report`.

:func:`simulate` is the one-call form.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from nanobragg import rng
from nanobragg.beam import build_sources, count_sources, fluence_from_config, water_background
from nanobragg.chunks import pixel_function, place_pixels, render_pixels
from nanobragg.config import SimulationConfig
from nanobragg.convention import run_axes
from nanobragg.crystal import (
    build_crystal,
    mosaic_domains,
    resolve_misset,
    resolve_mosaic,
    resolve_phi,
)
from nanobragg.detector import resolve_detector
from nanobragg.errors import ConfigError
from nanobragg.geometry3d import as_tensor
from nanobragg.kernel import KernelInputs, KernelState
from nanobragg.kernel_inputs import build_kernel_inputs, config_needs_grad, with_term_path
from nanobragg.report import SimulationReport
from nanobragg.sampling import choose_oversample
from nanobragg.setup_log import setup_lines
from nanobragg.structure_factors import (
    StructureFactorTable,
    fallback_warning,
    load_structure_factors,
    resolve_interpolation,
)
from nanobragg.trace import RenderRecorder
from nanobragg.workload import (
    Workload,
    check_workload,
    chunk_pixels,
    default_chunk_elements,
    max_terms_from,
    rendered_pixels,
)


class Simulator:
    """Resolves a :class:`SimulationConfig` into physical models and renders images."""

    def __init__(
        self,
        config: SimulationConfig,
        cwd: Path | None = None,
        log: Callable[[str], None] | None = None,
        chunk_elements: int | None = None,
        structure_factors: StructureFactorTable | None = None,
        force_running_sum: bool = False,
        max_terms: int | None = None,
    ) -> None:
        """``structure_factors``: a loaded table to use instead of the config's (refinement
        and series reuse one). ``force_running_sum`` reduces by C's running sum where plain
        sums give the same image (for tests that hold the two reductions together).
        ``max_terms`` bounds the render (None: ``$NB_MAX_TERMS`` or the default, 0: none); a
        render above it, or above the free memory, raises
        :class:`~nanobragg.errors.WorkloadError` before anything large is built."""
        config.validate(cwd)
        self.force_running_sum = force_running_sum
        self._given_table = structure_factors
        self.config = config
        self.cwd = Path.cwd() if cwd is None else Path(cwd)
        self.log = log or (lambda line: None)
        self.device = torch.device(config.device)
        self.chunk_elements = chunk_elements or default_chunk_elements(self.device)
        self.max_terms = max_terms_from(max_terms)
        #: messages produced while resolving, printed in C's order by setup_lines
        self.notes: dict[str, list[str]] = {}
        self._resolve()
        for line in setup_lines(self, self.notes):
            self.log(line)

    def _notes(self, stage: str, lines) -> None:
        self.notes.setdefault(stage, []).extend(lines)

    @property
    def steps(self) -> int:
        """C's ``steps`` (the normalisation of a pixel's sum)."""
        return self.workload.steps

    # ------------------------------------------------------------------ models
    def _resolve(self) -> None:
        """Each model resolves itself from its section of the config, in C's order (the
        shared random stream is drawn by the random misset first, then the mosaic)."""
        cfg = self.config
        self.axes = run_axes(cfg)
        self.detector = resolve_detector(cfg.detector, self.axes)
        self.wavelength = as_tensor(cfg.beam.wavelength)
        self.shared_rng = rng.Ran1()
        misset, notes = resolve_misset(cfg.crystal, cfg.seed, self.shared_rng)
        self._notes("misset", notes)
        self.crystal = build_crystal(cfg.crystal, self.wavelength, misset)
        self.phi = resolve_phi(cfg.crystal)
        self._resolve_sampling()
        self.umats = mosaic_domains(cfg.crystal, self.mosaic_spread, self.mosaic_domains,
                                    self.shared_rng)
        self.sources = build_sources(cfg.beam, self.axes.beam, self.axes.polar)
        self.fluence = fluence_from_config(cfg.beam)
        self.structure_factors = self._structure_factors()
        self.water_background = water_background(cfg.beam, self.fluence)
        self.report = SimulationReport.of(self)

    def _resolve_sampling(self) -> None:
        """Mosaic counts, oversampling and the workload (refused here when too large), before
        the orientation and source tables are built."""
        cfg = self.config
        self.mosaic_spread, self.mosaic_domains, warnings = resolve_mosaic(cfg.crystal)
        self.oversample, notes = choose_oversample(cfg.sampling.oversample, self.crystal,
                                                   self.wavelength, self.detector)
        self._notes("oversample", notes)
        self.workload = self._plan()
        self._notes("sampling", warnings)
        if self.detector.thickness > 0 and cfg.detector.attenuation_length is None:
            self._notes("sampling",
                        [f"WARNING: setting detector attenuation depth to {self.detector.mu:g} m"])

    def _plan(self) -> Workload:
        """Count the terms of the render, and refuse it if it is too large."""
        cfg = self.config
        work = Workload.of(self.detector, cfg.detector.mask, count_sources(cfg.beam),
                           self.phi.steps, self.mosaic_domains, self.oversample)
        check_workload(work, self.max_terms, self.chunk_elements, self.device.type, self.device)
        return work

    def _structure_factors(self) -> StructureFactorTable:
        """The F table (loaded once: :meth:`reconfigure` keeps it) and whether F is
        interpolated, which C decides from the N given on input (before -xtalsize sets N)."""
        sf_cfg, xtal = self.config.structure_factors, self.config.crystal
        if self._given_table is None:
            self._given_table = load_structure_factors(sf_cfg, self.cwd)
        table = self._given_table
        self._notes("structure_factors", table.messages)
        self.interpolate, note = resolve_interpolation(sf_cfg.interpolation,
                                                       (xtal.Na, xtal.Nb, xtal.Nc), table)
        if note is not None:
            self._notes("interpolation", [note])
        return table

    def reconfigure(self, config: SimulationConfig) -> None:
        """Adopt ``config`` for the next :meth:`run`, keeping the loaded structure factors.

        Used to render many frames with one Simulator: when only the spindle rotation (phi0,
        osc, phistep, phisteps) differs, only the phi sweep is resolved again; otherwise
        everything but the structure-factor table is. ``config.structure_factors`` must equal
        the current one. Nothing is printed.
        """
        config.validate(self.cwd)
        old = self.config
        if config.structure_factors != old.structure_factors:
            raise ConfigError("reconfigure: the structure factors cannot change")
        self.config = config
        if _only_rotation_differs(old, config):
            self.phi = resolve_phi(config.crystal)
            self.workload = self._plan()
            self.report = SimulationReport.of(self)
            return
        self.notes = {}
        self._resolve()

    # ------------------------------------------------------------------ rendering
    def kernel_inputs(self, dtype: torch.dtype | None = None) -> KernelInputs:
        """The kernel's inputs of these models, on the uncompiled torch term path."""
        return build_kernel_inputs(self, dtype, self.force_running_sum)

    def _render_inputs(self, pixels: int) -> KernelInputs:
        """The kernel's inputs with the term path of a render of ``pixels`` pixels."""
        return with_term_path(self.kernel_inputs(), self.structure_factors,
                              pixels * self.workload.per_pixel, config_needs_grad(self.config))

    def rendered_pixels(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(slow, fast) indices of the pixels C renders (ROI and mask), in memory order.

        Kept while the detector and the mask objects stay the same (a series renders every
        frame of a rotation with one Simulator); callers must not write into them."""
        g, mask = self.detector, self.config.detector.mask
        kept = getattr(self, "_rendered", None)
        if kept is not None and kept[0] is g and kept[1] is mask:
            return kept[2]
        pixels = rendered_pixels(g.fpixels, g.spixels, g.roi, mask)
        self._rendered = (g, mask, pixels)
        return pixels

    def run(
        self,
        progress: Callable[[int, int], None] | None = None,
        trace_pixel: tuple[int, int] | None = None,
        printout: Callable[[str], None] | None = None,
        printout_pixel: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Render the float image [slow, fast] (config dtype) in photons per pixel.

        With ``trace_pixel`` (slow, fast), ``self.trace`` holds that pixel's TRACE_PY lines.
        With ``printout``, C's ``-printout`` block of every pixel (or only ``printout_pixel``,
        given as (slow, fast)) is passed to it line by line while rendering.
        """
        slow, fast = self.rendered_pixels()
        inp = self._render_inputs(len(slow))
        recorder = RenderRecorder(self, slow, fast, trace_pixel, printout, printout_pixel)
        self.trace, state, g = [], KernelState(), self.detector
        values = render_pixels(inp, slow, fast, self._chunk(inp, recorder.active), state,
                               recorder, progress)
        image = place_pixels(values, slow, fast, g.spixels, g.fpixels)
        self.trace, self.state = recorder.trace, state
        self.report.solid_angle = state.omega_sum / self.steps
        warning = fallback_warning(state.extra)
        if warning is not None:
            self.report.interpolation_warning = warning
        return image

    def _chunk(self, inp: KernelInputs, recording: bool) -> int:
        """Pixels per chunk. The fused term stage sizes its chunks by evaluations, but not
        with a trace or a printout, whose chunks record the torch path's [K, N] parts."""
        fused = inp.fused is not None and not recording
        orientations = inp.orientations.shape[0] * inp.orientations.shape[1] if fused else None
        return chunk_pixels(self.workload, self.chunk_elements, orientations)

    def pixel_renderer(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """A function (slow[P], fast[P]) -> photons [P] for any pixels of this model.

        The result keeps the autograd graph to every tensor field of the config, so a caller
        can run forward and backward chunk by chunk (refinement); ROI and mask do not apply.
        """
        return pixel_function(self._render_inputs(self.detector.spixels * self.detector.fpixels))


_ROTATION_FIELDS = ("phi0", "osc", "phistep", "phisteps")


def _only_rotation_differs(old: SimulationConfig, new: SimulationConfig) -> bool:
    """True when ``new`` equals ``old`` but for the crystal's phi fields (sections compared by
    identity, as :func:`dataclasses.replace` keeps the untouched ones)."""
    sections = ("detector", "beam", "structure_factors", "sampling", "quirks")
    if any(getattr(old, name) is not getattr(new, name) for name in sections):
        return False
    if (old.dtype, old.device) != (new.dtype, new.device):
        return False
    if old.seed != new.seed and old.crystal.misset_random and old.crystal.misset_seed is None:
        return False  # the random misset follows the noise seed
    a, b = vars(old.crystal), vars(new.crystal)
    return all(a[k] is b[k] or k in _ROTATION_FIELDS for k in a)


def simulate(config: SimulationConfig, **kwargs) -> torch.Tensor:
    """Render one float image [slow, fast] (photons/pixel) for ``config``."""
    return Simulator(config, **kwargs).run()
