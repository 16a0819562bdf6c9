"""The detector images a run writes, and the headers of each file format, from a Simulator.

Shared by the single-image command (``-intfile``, ``-noisefile``, ``-cbf``, ``-h5``) and
``nanobragg-series``, so a frame of a series and the same image made by ``nanobragg`` are
written by the same code. The counting formats (CBF, NXmx) hold the noise image when noise is
on (Poisson photons + the ADC offset, clipped at 65535, exactly the ``-noisefile`` pixels);
with ``-nonoise`` CBF holds the int image (photons x scale + ADC offset) and NXmx the float
image (photons/pixel). Each file says which image it holds (CBF ``# Image:``, NXmx ``image``
attribute of the data and the detector description).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from nanobragg.io.cbf import CBFHeader, cbf_bytes
from nanobragg.io.nxmx import NXmxGeometry, NXmxScan, nxmx_bytes
from nanobragg.io.smv import SMVHeaderValues

#: the largest value of the 16-bit int and noise images
UINT16_CUTOFF = 65535


@dataclass(frozen=True)
class DetectorImage:
    """Pixels [slow, fast] of one image, what they are, and the value at which they clip."""

    pixels: np.ndarray
    description: str
    saturation: int | None


def smv_header_values(sim) -> SMVHeaderValues:
    """The int image's SMV header values from a Simulator's detector and report."""
    r = sim.report
    return SMVHeaderValues.from_detector(sim.detector, wavelength_m=r.wavelength,
                                         phi0_rad=r.phi0, osc_rad=r.osc)


def noise_of(image: np.ndarray, sim, seed: int, adc: float):
    """C's noise image of ``image`` (a :class:`~nanobragg.noise.NoiseResult`); the Simulator's
    shared random state is copied, not advanced, so every frame starts from the same state."""
    from nanobragg.noise import noise_image

    return noise_image(image, int(seed), adc, tuple(sim.detector.roi),
                       rng=copy.deepcopy(sim.shared_rng))


def noise_detector_image(noise_pixels: np.ndarray, seed: int, adc: float) -> DetectorImage:
    return DetectorImage(noise_pixels, f"noise image: Poisson photons + ADC offset {adc:g}, "
                         f"seed {seed}", UINT16_CUTOFF)


def int_detector_image(ints: np.ndarray, scale: float, adc: float) -> DetectorImage:
    return DetectorImage(ints, f"int image: photons x {scale:g} + ADC offset {adc:g}, no noise",
                         UINT16_CUTOFF)


def float_detector_image(image: np.ndarray) -> DetectorImage:
    return DetectorImage(np.asarray(image, dtype=np.float32),
                         "float image: photons/pixel, no noise", None)


def cbf_header(sim, image: DetectorImage) -> CBFHeader:
    g, r = sim.detector, sim.report
    pixel = float(g.pixel_size)
    return CBFHeader(
        pixel_size_m=pixel,
        distance_m=float(g.distance),
        wavelength_A=r.wavelength * 1e10,
        beam_x_px=float(g.fbeam) / pixel,
        beam_y_px=float(g.sbeam) / pixel,
        start_angle_deg=math.degrees(r.phi0),
        angle_increment_deg=math.degrees(r.osc),
        exposure_time_s=float(sim.config.beam.exposure),
        count_cutoff=image.saturation if image.saturation is not None else UINT16_CUTOFF,
        thickness_m=float(g.thickness or 0.0),
        two_theta_deg=math.degrees(float(g.twotheta)),
        image=image.description,
    )


def cbf_file_bytes(sim, image: DetectorImage, name: str = "image") -> bytes:
    return cbf_bytes(cbf_header(sim, image), image.pixels.astype(np.int32), name)


def nxmx_geometry(sim) -> NXmxGeometry:
    g, r = sim.detector, sim.report
    pixel = float(g.pixel_size)

    def vec(t) -> tuple[float, float, float]:
        x, y, z = (float(c) for c in t.detach().to("cpu").tolist())
        return (x, y, z)

    return NXmxGeometry(
        fpixels=g.fpixels, spixels=g.spixels, pixel_size_m=pixel,
        fdet=vec(g.fdet), sdet=vec(g.sdet), odet=vec(g.odet), pix0_m=vec(g.pix0),
        beam=vec(g.beam), spindle=vec(sim.axes.spindle),
        distance_m=float(g.distance), close_distance_m=float(g.close_distance),
        beam_center_px=(float(g.fbeam) / pixel, float(g.sbeam) / pixel),
        wavelength_A=r.wavelength * 1e10, thickness_m=float(g.thickness or 0.0),
        exposure_s=float(sim.config.beam.exposure),
    )


def h5_file_bytes(sim, image: DetectorImage, start_time: str) -> bytes:
    """A one-frame NXmx file of ``image``, at the run's spindle start and oscillation."""
    r = sim.report
    scan = NXmxScan([math.degrees(r.phi0)], math.degrees(r.osc))
    return nxmx_bytes(nxmx_geometry(sim), scan, image.pixels, image.description,
                      image.saturation, start_time)
