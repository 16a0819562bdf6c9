"""Rendering frames: one :class:`FrameRenderer` (one Simulator) per process, reused for every
frame it renders, fed by a :class:`SeriesJob` that a worker receives once.

The job carries the frame arguments already parsed (input files read) and the loaded
structure-factor table, so a worker on another machine needs neither the input files nor a
second parse. A frame's bytes depend only on the job and the :class:`FrameSpec`; the
Simulator's random state is copied, never advanced, between frames (``docs/series.md``).
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nanobragg.cli.images import (
    DetectorImage,
    cbf_file_bytes,
    float_detector_image,
    int_detector_image,
    noise_detector_image,
    noise_of,
    smv_header_values,
)
from nanobragg.config import SimulationConfig
from nanobragg.io.raw import float_image_bytes
from nanobragg.io.scaling import image_stats, int_image, intfile_scale
from nanobragg.io.smv import smv_bytes
from nanobragg.series.plan import FrameSpec, frame_config

#: --format -> extension of the frame files (h5 frames are staged as raw pixels)
EXTENSIONS = {"smv": "img", "cbf": "cbf", "float": "bin", "h5": "raw"}


@dataclass
class SeriesJob:
    """What every worker needs, sent once per worker (pickled with the F table)."""

    config: SimulationConfig
    fmt: str
    write_noise: bool
    adc: float
    scale: float
    cwd: str
    structure_factors: object
    #: torch threads of a worker process (None: leave torch's default)
    threads: int | None = None
    #: identifies the job on a worker that keeps renderers between tasks
    key: str = ""

    @property
    def h5_dtype(self) -> np.dtype:
        """Pixel type of the NXmx frames: the 16-bit noise image, else the float image."""
        return np.dtype("<u2") if self.write_noise else np.dtype("<f4")


@dataclass(frozen=True)
class FrameResult:
    """A rendered frame: the bytes of its file, their sha256 (computed where the frame was
    rendered, so that workers hash in parallel) and what image they hold."""

    index: int
    data: bytes
    image: str
    sha256: str


@dataclass(frozen=True)
class FrameModel:
    """What encoding a frame reads of the Simulator that rendered it, taken right after the
    render: :meth:`FrameRenderer.encode` can then run in another thread while the Simulator is
    reconfigured for the next frame (``reconfigure`` rebinds these attributes, never mutates
    them, and the random state is copied)."""

    report: object
    config: SimulationConfig
    detector: object
    shared_rng: object


class FrameRenderer:
    """Renders frames of one job with one Simulator: :meth:`render_image` (torch, this
    thread) then :meth:`encode` (noise image, file bytes, hash: numpy and C, any thread)."""

    def __init__(self, job: SeriesJob) -> None:
        import torch

        from nanobragg.simulator import Simulator

        if job.threads:
            torch.set_num_threads(job.threads)
        self.job = job
        self.sim = Simulator(job.config, cwd=Path(job.cwd), structure_factors=job.structure_factors)

    def render(self, frame: FrameSpec) -> FrameResult:
        return self.encode(*self.render_image(frame), frame)

    def render_image(self, frame: FrameSpec) -> tuple[np.ndarray, FrameModel]:
        """The frame's float32 image and the model that encodes it."""
        sim = self.sim
        sim.reconfigure(frame_config(self.job.config, frame))
        image = sim.run().detach().to("cpu").numpy().astype(np.float32, copy=False)
        return image, FrameModel(sim.report, sim.config, sim.detector,
                                 copy.deepcopy(sim.shared_rng))

    def encode(self, image: np.ndarray, model: FrameModel, frame: FrameSpec) -> FrameResult:
        data, held = encode_frame(image, model, self.job, frame)
        return FrameResult(frame.index, data, held.description, hashlib.sha256(data).hexdigest())


def encode_frame(image: np.ndarray, sim, job: SeriesJob, frame: FrameSpec
                 ) -> tuple[bytes, DetectorImage]:
    """The frame file's bytes in ``job.fmt``, with the same pixels ``nanobragg`` writes for the
    frame's flags: float -> ``-floatfile``; smv -> ``-noisefile`` (``-intfile`` with
    ``-nonoise``); cbf -> ``-cbf``; h5 -> the ``-h5`` pixels, raw little-endian."""
    if job.fmt == "float":
        return float_image_bytes(image), float_detector_image(image)
    noise = noise_of(image, sim, frame.seed, job.adc) if job.write_noise else None
    if noise is not None:
        held = noise_detector_image(noise.image, frame.seed, job.adc)
    elif job.fmt == "h5":
        held = float_detector_image(image)
    else:
        roi = tuple(sim.detector.roi)
        stats = image_stats(image, roi, sim.config.detector.mask)
        scale = intfile_scale(job.scale, stats.max_I)
        held = int_detector_image(int_image(image, scale, job.adc, roi), scale, job.adc)
    if job.fmt == "smv":
        header = smv_header_values(sim)
        return smv_bytes(header.for_noise_image() if noise else header, held.pixels), held
    if job.fmt == "cbf":
        return cbf_file_bytes(sim, held, f"image_{frame.index + 1:05d}"), held
    return np.ascontiguousarray(held.pixels, dtype=job.h5_dtype).tobytes(), held
