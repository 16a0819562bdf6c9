"""What a run reports beside its image: the beam, spindle and sampling values C prints or writes
into headers, and, after a run, what it measured.

The detector's values (pixel counts, distances, beam centre, ROI, pivot ...) are not copied
here: their one home is the detector model (``sim.detector``, a
:class:`~nanobragg.detector.DetectorGeometry`).
"""

from __future__ import annotations

from dataclasses import dataclass

from nanobragg.geometry3d import value


@dataclass
class SimulationReport:
    """Plain numbers (SI units) of the resolved beam, spindle and sampling, and of the run."""

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

    @classmethod
    def of(cls, models) -> SimulationReport:
        """The values of resolved models (a :class:`~nanobragg.simulator.Simulator`), before
        a run."""
        phi = models.phi
        return cls(
            wavelength=value(models.wavelength), phi0=value(phi.phi0), osc=phi.osc,
            phisteps=phi.steps, phistep=phi.step, oversample=models.oversample,
            sources=len(models.sources.wavelengths), mosaic_domains=models.mosaic_domains,
            mosaic_spread=models.mosaic_spread, steps=models.steps, fluence=models.fluence,
        )
