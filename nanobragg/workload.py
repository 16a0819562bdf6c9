"""How much work a render is, counted before anything large is built, and the limits on it.

A render evaluates one *term* per (pixel, detector layer, sub-pixel, source, phi step, mosaic
domain). :class:`Workload` holds those counts; :class:`~nanobragg.simulator.Simulator` builds it
from the resolved geometry and C's step rules before it builds the orientation and source tables,
uses it as its own plan (steps, terms per chunk: :func:`chunk_pixels`, the pixels rendered:
:func:`rendered_pixels`), and refuses with :class:`WorkloadError`, in a fraction of a second, a
render that exceeds the term limit or the memory it would need.

The term limit is ``max_terms`` (the CLI's ``-max_terms N``), else the environment variable
``NB_MAX_TERMS``, else :data:`DEFAULT_MAX_TERMS`; 0 means no limit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nanobragg.errors import ConfigError, WorkloadError

if TYPE_CHECKING:  # torch is imported on use: the CLI reads this module before it needs torch
    import torch

MAX_TERMS_ENV = "NB_MAX_TERMS"
#: about an hour of a 2-core CPU (see TERMS_PER_SECOND); the 132-fold auto-oversampled
#: Pilatus 6M of issue 11 (1.1e11 terms) is above it
DEFAULT_MAX_TERMS = 10**11
#: rough rendering rates for the time estimate only: docs/performance.md measured 3.3e7 to
#: 5.7e7 terms/s warm in float32 on 2 CPU cores (benchmarks/workload_benchmarks.py rate
#: measures it again); the CUDA figure is an order of magnitude, not a measurement
TERMS_PER_SECOND = {"cpu": 3.0e7, "cuda": 2.0e9}
#: renders estimated to take longer than this get a one-line estimate before they start
LONG_RENDER_S = 10.0
#: peak bytes a chunk needs per term, with margin: measured 155-160 B at one term per pixel
#: (float32 and float64; the per-pixel stage weighs most there), ~50 B at 200 terms per pixel
BYTES_PER_TERM = 256
#: terms ([P, T, Sub, Src, Phi, Mos] elements) per chunk on the CPU: larger chunks gain little
#: (2^22: within 10 % of 2^20 across runs, for 1.5-1.7x the memory) and smaller ones pay
#: per-chunk overhead (2^18: ~30 % slower). Override with the environment variable
#: NB_CHUNK_ELEMENTS.
DEFAULT_CHUNK_ELEMENTS = 1 << 20
#: with the fused term stage a chunk counts each evaluation as at most this many terms (its
#: memory follows the evaluations; heavy case: 2^18 evaluations per chunk instead of 2^14)
FUSED_TERMS_PER_EVALUATION = 4
#: on a GPU the chunk takes this share of the free device memory, up to MAX_CHUNK_ELEMENTS
GPU_MEMORY_SHARE = 0.5
MAX_CHUNK_ELEMENTS = 1 << 26
#: bytes per rendered pixel outside the chunks (index tensors, values, image), per source
#: (direction, wavelength and the printed table row) and per orientation (three 3x3 tables)
BYTES_PER_PIXEL = 64
BYTES_PER_SOURCE = 400
BYTES_PER_ORIENTATION = 3 * 9 * 8 + 9 * 8


@dataclass(frozen=True)
class Workload:
    """The counts whose product is the number of terms of a render."""

    pixels: int
    subpixels: int
    layers: int
    sources: int
    phi_steps: int
    mosaic_domains: int
    oversample: int = 1

    @classmethod
    def of(cls, detector, mask: np.ndarray | None, sources: int, phi_steps: int,
           mosaic_domains: int, oversample: int) -> Workload:
        """The counts of a render on ``detector`` (a DetectorGeometry: its pixels inside the
        ROI and ``mask``, its layers)."""
        g = detector
        return cls(pixels=rendered_pixel_count(g.fpixels, g.spixels, g.roi, mask),
                   subpixels=oversample ** 2, layers=g.thicksteps, sources=sources,
                   phi_steps=phi_steps, mosaic_domains=mosaic_domains, oversample=oversample)

    @property
    def steps(self) -> int:
        """C's ``steps``: the terms per pixel and layer (the normalisation of the pixel sum)."""
        return self.subpixels * self.sources * self.phi_steps * self.mosaic_domains

    @property
    def per_pixel(self) -> int:
        return self.layers * self.steps

    @property
    def terms(self) -> int:
        return self.pixels * self.per_pixel

    def memory_bytes(self, chunk_elements: int) -> int:
        """Peak memory of the render, roughly: the largest chunk plus the per-pixel, per-source
        and per-orientation tables."""
        chunk_terms = min(max(chunk_elements, self.per_pixel), max(self.terms, 1))
        return (chunk_terms * BYTES_PER_TERM + self.pixels * BYTES_PER_PIXEL
                + self.sources * BYTES_PER_SOURCE
                + self.phi_steps * self.mosaic_domains * BYTES_PER_ORIENTATION)

    def estimated_seconds(self, device_type: str) -> float:
        return self.terms / TERMS_PER_SECOND.get(device_type, TERMS_PER_SECOND["cpu"])

    def describe(self) -> str:
        """``1048576 pixels x 4 sub-pixels (2-fold oversampling) x ... = 4.19e+06 terms``."""
        parts = [
            _count(self.pixels, "pixel"),
            f"{_count(self.subpixels, 'sub-pixel')} ({self.oversample}-fold oversampling)",
            _count(self.layers, "detector layer"),
            _count(self.sources, "source"),
            _count(self.phi_steps, "phi step"),
            _count(self.mosaic_domains, "mosaic domain"),
        ]
        return " x ".join(parts) + f" = {self.terms:.3g} terms"


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
        import torch

        free_bytes, _total = torch.cuda.mem_get_info(device)
        fitting = int(free_bytes * GPU_MEMORY_SHARE) // BYTES_PER_TERM
        return min(max(fitting, DEFAULT_CHUNK_ELEMENTS), MAX_CHUNK_ELEMENTS)
    return DEFAULT_CHUNK_ELEMENTS


def chunk_pixels(work: Workload, chunk_elements: int, orientations: int | None) -> int:
    """Pixels per chunk: ``chunk_elements`` terms on the torch path. With the fused term stage
    (``orientations``: its phi steps x mosaic domains; None on the torch path) a chunk keeps no
    [K, N] tensor, so its memory follows the evaluations (pixel, layer, sub-pixel, source): it
    counts each evaluation as at most FUSED_TERMS_PER_EVALUATION terms, which keeps the
    per-pixel stage's ops long."""
    per_pixel = work.per_pixel
    if orientations is not None:
        evaluations = max(1, per_pixel // orientations)
        per_pixel = min(per_pixel, evaluations * FUSED_TERMS_PER_EVALUATION)
    return max(1, chunk_elements // per_pixel)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "forever"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def term_limit(limit: float, source: str, shown: str) -> int:
    """``limit`` as a term limit (0 = none): the one rule on it, a whole number >= 0, refused
    in the words of ``source`` (``max_terms``, ``$NB_MAX_TERMS``, the CLI's ``-max_terms``)
    showing the value as ``shown``."""
    if not (math.isfinite(limit) and limit >= 0 and limit == int(limit)):
        raise ConfigError(f"{source}: expected a whole number of terms >= 0, got {shown}")
    return int(limit)


def max_terms_from(value: float | None, env: dict[str, str] | None = None) -> int:
    """The term limit: ``value`` if given, else ``$NB_MAX_TERMS``, else the default (0 = none)."""
    if value is not None:
        return term_limit(value, "max_terms", f"{value!r}")
    raw = (os.environ if env is None else env).get(MAX_TERMS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_TERMS
    try:
        limit = float(raw)
    except ValueError:
        limit = math.nan
    return term_limit(limit, MAX_TERMS_ENV, f"{raw!r}")


def available_memory_bytes(device_type: str, device=None) -> int | None:
    """Free memory of the device (CPU: MemAvailable of /proc/meminfo); None if unknown."""
    if device_type == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_workload(work: Workload, max_terms: int, chunk_elements: int, device_type: str,
                   device=None) -> None:
    """Refuse a render above ``max_terms`` (0 = no limit) or the free memory."""
    if max_terms and work.terms > max_terms:
        raise WorkloadError(template=(
            f"the render would evaluate {work.describe()}, above the limit of {max_terms:.3g} "
            f"(about {format_duration(work.estimated_seconds(device_type))} on {device_type}): "
            "reduce one of these counts, or raise the limit with {max_terms:usage} or "
            f"${MAX_TERMS_ENV} (0 = no limit)"))
    need = work.memory_bytes(chunk_elements)
    free = available_memory_bytes(device_type, device)
    if free is not None and need > free:
        raise WorkloadError(
            f"the render would need about {need / 2**30:.3g} GiB of memory ({work.describe()}), "
            f"but only {free / 2**30:.3g} GiB are free on {device_type}: reduce one of these "
            "counts")


def rendered_pixel_count(fpixels: int, spixels: int, roi: tuple[int, int, int, int],
                         mask: np.ndarray | None) -> int:
    """Pixels inside the inclusive ROI (and not 0 in the mask): what the simulator renders."""
    x0, x1, y0, y1 = roi
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, fpixels - 1), min(y1, spixels - 1)
    if x1 < x0 or y1 < y0:
        return 0
    if mask is None:
        return (x1 - x0 + 1) * (y1 - y0 + 1)
    return int(np.count_nonzero(np.asarray(mask)[y0:y1 + 1, x0:x1 + 1]))


def rendered_pixels(fpixels: int, spixels: int, roi: tuple[int, int, int, int],
                    mask: np.ndarray | None) -> tuple[torch.Tensor, torch.Tensor]:
    """(slow, fast) indices of the pixels :func:`rendered_pixel_count` counts, in memory order."""
    import torch

    x0, x1, y0, y1 = roi
    slow = torch.arange(spixels)
    fast = torch.arange(fpixels)
    if mask is None:  # a rectangle, row by row
        rows = slow[(slow >= y0) & (slow <= y1)]
        cols = fast[(fast >= x0) & (fast <= x1)]
        return rows.repeat_interleave(len(cols)), cols.repeat(len(rows))
    keep = ((fast[None, :] >= x0) & (fast[None, :] <= x1)
            & (slow[:, None] >= y0) & (slow[:, None] <= y1))
    keep &= torch.as_tensor(mask.astype("int64") != 0)
    s, f = torch.nonzero(keep, as_tuple=True)
    return s, f
