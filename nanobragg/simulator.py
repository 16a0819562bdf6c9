"""The simulation pipeline: validated config -> physical models -> kernel -> float image.

    sim = Simulator(config, cwd=Path("."), log=print)   # resolves geometry, crystal, beam, F
    image = sim.run()                                   # torch.Tensor [slow, fast], photons/pixel
    sim.report                                          # values for headers and stdout

:func:`simulate` is the one-call form.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import torch

from nanobragg import rng
from nanobragg.accel import maybe_compile
from nanobragg.beam import (
    Sources,
    build_sources,
    count_sources,
    fluence_from_config,
    water_background,
)
from nanobragg.config import Interpolation, SimulationConfig
from nanobragg.crystal import (
    Crystal,
    PhiSweep,
    build_crystal,
    mosaic_domains,
    orientation_tables,
    resolve_misset,
    resolve_mosaic,
    resolve_phi,
)
from nanobragg.detector import DetectorGeometry, convention_axes, resolve_detector
from nanobragg.errors import ConfigError
from nanobragg.fused_terms import fused_terms
from nanobragg.geometry3d import as_tensor, value
from nanobragg.kernel import (
    KernelInputs,
    KernelState,
    bragg_terms,
    render_chunk,
)
from nanobragg.sampling import choose_oversample
from nanobragg.setup_log import setup_lines
from nanobragg.trace import printout_lines, trace_lines
from nanobragg.workload import Workload, check_workload, max_terms_from, rendered_pixel_count

#: terms ([P, T, Sub, Src, Phi, Mos] elements) per chunk on the CPU: larger chunks gain little
#: (2^22: within 10 % of 2^20 across runs, for 1.5-1.7x the memory) and smaller ones pay
#: per-chunk overhead (2^18: ~30 % slower). Override with the environment variable
#: NB_CHUNK_ELEMENTS.
DEFAULT_CHUNK_ELEMENTS = 1 << 20
#: peak bytes a chunk needs per term, with margin: measured 155-160 B at one term per pixel
#: (float32 and float64; the per-pixel stage weighs most there), ~50 B at 200 terms per pixel
CHUNK_BYTES_PER_TERM = 256
#: with the fused term stage a chunk counts each evaluation as at most this many terms (its
#: memory follows the evaluations; heavy case: 2^18 evaluations per chunk instead of 2^14)
FUSED_TERMS_PER_EVALUATION = 4
#: on a GPU the chunk takes this share of the free device memory, up to MAX_CHUNK_ELEMENTS
GPU_MEMORY_SHARE = 0.5
MAX_CHUNK_ELEMENTS = 1 << 26


def default_chunk_elements(device: torch.device | None = None) -> int:
    """Terms per chunk: ``NB_CHUNK_ELEMENTS`` if set; on CUDA, sized from the free device
    memory (large chunks keep a GPU busy); otherwise ``DEFAULT_CHUNK_ELEMENTS``."""
    raw = os.environ.get("NB_CHUNK_ELEMENTS", "").strip()
    if raw:
        try:
            return max(1, int(float(raw)))
        except ValueError:
            raise ConfigError(f"NB_CHUNK_ELEMENTS: not a number: {raw!r}") from None
    if device is not None and device.type == "cuda":
        free_bytes, _total = torch.cuda.mem_get_info(device)
        fitting = int(free_bytes * GPU_MEMORY_SHARE) // CHUNK_BYTES_PER_TERM
        return min(max(fitting, DEFAULT_CHUNK_ELEMENTS), MAX_CHUNK_ELEMENTS)
    return DEFAULT_CHUNK_ELEMENTS


#: the detector's values a :class:`SimulationReport` shows as plain numbers (C prints them and
#: writes them into headers); the detector derives them from its frame, the report only
#: converts them (enums to their names, tensors to floats or tuples of floats)
DETECTOR_VALUES = frozenset({
    "fpixels", "spixels", "pixel_size", "detsize_f", "detsize_s", "distance", "close_distance",
    "beam_x", "beam_y", "fbeam", "sbeam", "fclose", "sclose", "close_x", "close_y", "orgx",
    "orgy", "dials_origin_mm", "twotheta", "convention", "pivot", "roi",
})


@dataclass
class SimulationReport:
    """Resolved quantities the C program prints or writes into headers (SI units).

    The detector's (``fpixels``, ``distance``, ``fbeam``, ``orgx``, ``pivot``, ... see
    :data:`DETECTOR_VALUES`) are read from ``detector`` on access, as plain numbers; the rest
    are the beam, spindle and sampling values and, after a run, what it measured.
    """

    detector: DetectorGeometry | None = None
    wavelength: float = 0.0
    phi0: float = 0.0
    osc: float = 0.0
    phisteps: int = 1
    phistep: float = 0.0
    oversample: int = 1
    sources: int = 1
    mosaic_domains: int = 1
    mosaic_spread: float = 0.0
    steps: int = 1
    fluence: float = 0.0
    #: Σω/steps after a run (C's "solid angle subtended by detector")
    solid_angle: float = 0.0
    interpolation_warning: str | None = None
    lines: list[str] = field(default_factory=list)

    def __getattr__(self, name: str):
        # only reached when ``name`` is not a field: the detector's values
        detector = self.__dict__.get("detector")
        if name not in DETECTOR_VALUES or detector is None:
            raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")
        return _plain(getattr(detector, name))


def _plain(x):
    """A report value: enum -> its name, 0-d tensor -> float, [n] tensor -> tuple of floats."""
    if isinstance(x, Enum):
        return x.value
    if isinstance(x, torch.Tensor):
        return value(x) if x.dim() == 0 else tuple(value(v) for v in x)
    return x


class Simulator:
    """Resolves a :class:`SimulationConfig` into physical models and renders images."""

    def __init__(
        self,
        config: SimulationConfig,
        cwd: Path | None = None,
        log: Callable[[str], None] | None = None,
        chunk_elements: int | None = None,
        structure_factors=None,
        force_running_sum: bool = False,
        max_terms: int | None = None,
    ) -> None:
        """``force_running_sum`` reduces by C's running sum where plain sums give the same
        image (for tests that hold the two reductions together). ``max_terms`` bounds the
        render (None: ``$NB_MAX_TERMS`` or the default, 0: none); a render above it, or above
        the free memory, raises :class:`~nanobragg.errors.WorkloadError` before anything large
        is built."""
        config.validate(cwd)
        self.force_running_sum = force_running_sum
        #: a StructureFactorTable to use instead of loading the config's (refinement reuses one)
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

    def _note(self, stage: str, line: str) -> None:
        self.notes.setdefault(stage, []).append(line)

    def _notes(self, stage: str, lines: list[str]) -> None:
        for line in lines:
            self._note(stage, line)

    # ------------------------------------------------------------------ set-up
    def _resolve(self) -> None:
        """Each model resolves itself from its section of the config, in C's order (the
        shared random stream is drawn by the random misset first, then the mosaic)."""
        cfg = self.config
        det_cfg, beam_cfg, xtal_cfg = cfg.detector, cfg.beam, cfg.crystal
        self.axes = convention_axes(det_cfg.convention, {
            "beam": beam_cfg.beam_vector, "fdet": det_cfg.fdet_vector,
            "sdet": det_cfg.sdet_vector, "odet": det_cfg.odet_vector,
            "twotheta_axis": det_cfg.twotheta_axis, "polar": beam_cfg.polar_vector,
            "spindle": xtal_cfg.spindle_axis,
        })
        self.geometry: DetectorGeometry = resolve_detector(det_cfg, self.axes)
        self.wavelength = as_tensor(beam_cfg.wavelength)
        self.shared_rng = rng.Ran1()
        misset, notes = resolve_misset(xtal_cfg, cfg.seed, self.shared_rng)
        self._notes("misset", notes)
        self.crystal: Crystal = build_crystal(xtal_cfg, self.wavelength, misset)
        self.phi: PhiSweep = resolve_phi(xtal_cfg)
        spread, domains, warnings = resolve_mosaic(xtal_cfg)
        self.oversample, notes = choose_oversample(cfg.sampling.oversample, self.crystal,
                                                   self.wavelength, self.geometry)
        self._notes("oversample", notes)
        self.workload = self._plan(domains)
        self._notes("sampling", warnings)
        if self.geometry.thickness > 0 and det_cfg.attenuation_length is None:
            self._note("sampling",
                       f"WARNING: setting detector attenuation depth to {self.geometry.mu:g} m")
        self.mosaic_spread, self.mosaic_domains = spread, domains
        self.umats = mosaic_domains(xtal_cfg, spread, domains, self.shared_rng)
        self.sources: Sources = build_sources(beam_cfg, self.axes.beam, self.axes.polar)
        self.fluence = fluence_from_config(beam_cfg)
        self.steps = self.workload.steps
        self.structure_factors = self._structure_factors()
        self.water_background = water_background(beam_cfg, self.fluence)
        self.report = self._make_report()

    def _plan(self, domains: int) -> Workload:
        """Count the terms of the render, and refuse it if it is too large, before the
        orientation and source tables are built."""
        g = self.geometry
        work = Workload(
            pixels=rendered_pixel_count(g.fpixels, g.spixels, g.roi, self.config.detector.mask),
            subpixels=self.oversample ** 2, layers=g.thicksteps,
            sources=count_sources(self.config.beam), phi_steps=self.phi.steps,
            mosaic_domains=domains, oversample=self.oversample)
        check_workload(work, self.max_terms, self.chunk_elements, self.device.type, self.device)
        return work

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
            self.workload = self._plan(self.mosaic_domains)
            self.steps = self.workload.steps
            self.report = self._make_report()
            return
        self.notes = {}
        self._resolve()

    def _structure_factors(self):
        from nanobragg.structure_factors import load_structure_factors

        sf_cfg = self.config.structure_factors
        if self._given_table is None:  # loaded once: reconfigure() keeps it
            self._given_table = load_structure_factors(sf_cfg, self.cwd)
        table = self._given_table
        for line in table.messages:
            self._note("structure_factors", line)
        mode = sf_cfg.interpolation
        if mode is Interpolation.AUTO:
            # C decides before the crystal size adjusts N, so from the N given on input
            xtal = self.config.crystal
            small = min(value(xtal.Na), value(xtal.Nb), value(xtal.Nc))
            interpolate = small <= 2
            self._note("interpolation",
                       "auto-selected tricubic interpolation of structure factors" if interpolate
                       else "auto-selected no interpolation")
        else:
            interpolate = mode is Interpolation.TRICUBIC
        self.interpolate = bool(interpolate and table.has_data)
        return table

    def _make_report(self) -> SimulationReport:
        return SimulationReport(
            detector=self.geometry, wavelength=value(self.wavelength),
            phi0=value(self.phi.phi0), osc=self.phi.osc, phisteps=self.phi.steps,
            phistep=self.phi.step, oversample=self.oversample,
            sources=len(self.sources.wavelengths), mosaic_domains=self.mosaic_domains,
            mosaic_spread=self.mosaic_spread, steps=self.steps, fluence=self.fluence,
        )

    # ------------------------------------------------------------------ rendering
    def kernel_inputs(self, dtype: torch.dtype | None = None) -> KernelInputs:
        dtype = dtype or self.config.dtype
        dev = self.device
        phi = self.phi.angles()
        table_eff, table_first = orientation_tables(self.crystal, self.axes.spindle, phi,
                                                    self.umats, self.config.quirks.phi_carryover)
        xtal = self.crystal
        sf = self._sf_callable()
        inp = KernelInputs(
            geometry=self.geometry,
            oversample=self.oversample,
            # the per-pixel stage runs in float64 whatever the dtype (kernel.render_chunk)
            incident=(-self.sources.directions).to(dev, torch.float64),
            wavelengths=self._wavelengths().to(dev, torch.float64),
            orientations=table_eff.to(dev, torch.float64),
            orientations_first=table_first.to(dev, torch.float64),
            n_cells=(xtal.Na.to(dev), xtal.Nb.to(dev), xtal.Nc.to(dev)),
            shape=xtal.shape,
            fudge=xtal.fudge,
            reciprocal=torch.stack([xtal.a_star, xtal.b_star, xtal.c_star]).to(dev, dtype),
            structure_factors=sf,
            term_function=None,
            default_F=self.config.structure_factors.default_F,
            interpolate=self.interpolate,
            kahn_factor=self.config.beam.kahn_factor,
            nopolar=self.config.beam.nopolar,
            polar_vector=self.axes.polar.to(dev, torch.float64),
            fluence=self.fluence,
            water_background=self.water_background,
            dmin=self.config.sampling.dmin,
            steps=self.steps,
            oversample_thick=self.config.sampling.oversample_thick,
            oversample_polar=self.config.sampling.oversample_polar,
            oversample_omega=self.config.sampling.oversample_omega,
            quirks=self.config.quirks,
            dtype=dtype,
            device=dev,
        )
        inp.term_function = bragg_terms(inp)
        inp.force_running_sum = self.force_running_sum
        return inp

    def _attach_term_function(self, inp: KernelInputs, pixels: int) -> None:
        """The fused term function of plain sums, compiled for large jobs (accel)."""
        inp.fused = None if self._needs_grad() else fused_terms(inp, self.structure_factors)
        if inp.fused is not None:
            return  # the compiled loop replaces the term function where it applies
        inp.term_function = maybe_compile(bragg_terms(inp), pixels * self.workload.per_pixel,
                                          self._needs_grad())

    def _chunk_pixels(self, inp: KernelInputs, recording: bool) -> int:
        """Pixels per chunk: ``chunk_elements`` terms on the torch path. The fused term stage
        keeps no [K, N] tensor, so its memory follows the evaluations (pixel, layer, sub-pixel,
        source): a chunk counts each evaluation as at most FUSED_TERMS_PER_EVALUATION terms,
        which keeps the per-pixel stage's ops long. Not with a trace or a printout, whose
        chunks record the torch path's [K, N] parts."""
        per_pixel = self.workload.per_pixel
        if inp.fused is not None and not recording:
            orientations = inp.orientations.shape[0] * inp.orientations.shape[1]
            evaluations = max(1, per_pixel // orientations)
            per_pixel = min(per_pixel, evaluations * FUSED_TERMS_PER_EVALUATION)
        return max(1, self.chunk_elements // per_pixel)

    def _needs_grad(self) -> bool:
        return any(isinstance(x, torch.Tensor) and x.requires_grad for x in _leaves(self.config))

    def _wavelengths(self) -> torch.Tensor:
        lams = self.sources.wavelengths
        wl = self.config.beam.wavelength
        if isinstance(wl, torch.Tensor) and wl.requires_grad:
            # keep the graph: every generated wavelength is proportional to lambda0
            lams = lams / value(wl) * wl
        return lams

    def _sf_callable(self):
        table = self.structure_factors
        if not table.has_data:
            return None
        interpolate, quirks = self.interpolate, self.config.quirks

        def lookup(h, k, l, live: torch.Tensor, state: KernelState) -> torch.Tensor:
            if not interpolate:
                return table.nearest(h, k, l)
            if not quirks.interpolation_fallback:
                return table.lookup(h, k, l, interpolate=True)
            fstate = state.extra.get("fallback")
            f, fstate = table.lookup_with_fallback(h, k, l, live, fstate)
            state.extra["fallback"] = fstate
            return f

        return lookup

    def rendered_pixels(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(slow, fast) indices of the pixels C renders (ROI and mask), in memory order.

        Kept while the detector geometry and the mask objects stay the same (a series renders
        every frame of a rotation with one Simulator); callers must not write into them."""
        g, mask = self.geometry, self.config.detector.mask
        kept = getattr(self, "_rendered", None)
        if kept is not None and kept[0] is g and kept[1] is mask:
            return kept[2]
        pixels = self._find_rendered_pixels()
        self._rendered = (g, mask, pixels)
        return pixels

    def _find_rendered_pixels(self) -> tuple[torch.Tensor, torch.Tensor]:
        g = self.geometry
        x0, x1, y0, y1 = g.roi
        slow = torch.arange(g.spixels)
        fast = torch.arange(g.fpixels)
        mask = self.config.detector.mask
        if mask is None:  # a rectangle, row by row
            rows = slow[(slow >= y0) & (slow <= y1)]
            cols = fast[(fast >= x0) & (fast <= x1)]
            return rows.repeat_interleave(len(cols)), cols.repeat(len(rows))
        keep = ((fast[None, :] >= x0) & (fast[None, :] <= x1)
                & (slow[:, None] >= y0) & (slow[:, None] <= y1))
        keep &= torch.as_tensor(mask.astype("int64") != 0)
        s, f = torch.nonzero(keep, as_tuple=True)
        return s, f

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
        inp = self.kernel_inputs()
        slow, fast = self.rendered_pixels()
        self._attach_term_function(inp, len(slow))
        state = KernelState()
        total = len(slow)
        values = torch.empty(total, dtype=inp.dtype, device=self.device)
        self.trace = []
        trace_at = self._trace_index(slow, fast, trace_pixel)
        chunk = self._chunk_pixels(inp, recording=trace_at is not None or printout is not None)
        for start in range(0, total, chunk):
            s = slow[start:start + chunk].to(self.device)
            f = fast[start:start + chunk].to(self.device)
            rows = self._printout_rows(s, f, printout, printout_pixel)
            traced = trace_at is not None and start <= trace_at < start + chunk
            record = {"inputs": inp} if traced or rows else None
            values[start:start + chunk] = render_chunk(inp, s, f, state, record)
            if traced:
                self.trace = trace_lines(self, record, trace_at - start)
            for row in rows:
                for line in printout_lines(self, record, row, int(s[row]), int(f[row])):
                    printout(line)
            if progress is not None:
                progress(min(start + chunk, total), total)
        g = self.geometry
        if total == g.spixels * g.fpixels:  # every pixel, in memory order
            image = values
        else:
            image = torch.zeros(g.spixels * g.fpixels, dtype=inp.dtype, device=self.device)
            if total:
                image = image.index_put(
                    (slow.to(self.device) * g.fpixels + fast.to(self.device),), values)
        self.report.solid_angle = state.omega_sum / self.steps
        fb = state.extra.get("fallback")
        if fb is not None and getattr(fb, "event", None) is not None:
            self.report.interpolation_warning = fb.event.c_text()
        self.state = state
        return image.reshape(g.spixels, g.fpixels)


    def pixel_renderer(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """A function (slow[P], fast[P]) -> photons [P] for any pixels of this model.

        The result keeps the autograd graph to every tensor field of the config, so a caller
        can run forward and backward chunk by chunk (refinement); ROI and mask do not apply.
        """
        inp = self.kernel_inputs()
        self._attach_term_function(inp, self.geometry.spixels * self.geometry.fpixels)
        state = KernelState()

        def render(slow: torch.Tensor, fast: torch.Tensor) -> torch.Tensor:
            return render_chunk(inp, slow.to(self.device), fast.to(self.device), state)

        return render

    @staticmethod
    def _printout_rows(slow, fast, printout, pixel) -> list[int]:
        if printout is None:
            return []
        if pixel is None:
            return list(range(len(slow)))
        return torch.nonzero((slow == pixel[0]) & (fast == pixel[1])).flatten().tolist()

    def _trace_index(self, slow, fast, pixel) -> int | None:
        if pixel is None:
            return None
        hit = torch.nonzero((slow == pixel[0]) & (fast == pixel[1]))
        return int(hit[0]) if len(hit) else None


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


def _leaves(config: SimulationConfig):
    """Every field value of the config's sections (tuples flattened)."""
    for section in (config.detector, config.beam, config.crystal):
        for field_value in vars(section).values():
            if isinstance(field_value, tuple):
                yield from field_value
            else:
                yield field_value


def simulate(config: SimulationConfig, **kwargs) -> torch.Tensor:
    """Render one float image [slow, fast] (photons/pixel) for ``config``."""
    return Simulator(config, **kwargs).run()

