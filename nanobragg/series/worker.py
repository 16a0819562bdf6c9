"""The process of a ``--workers`` pool: start-up and the one task it runs, per frame.

Kept free of heavy imports, so that a worker imports torch and nanobragg the way the console
launcher does (:mod:`nanobragg.cli.launch`: no garbage collection while a million objects are
created, then ``gc.freeze``) and only once the pool has started it: the job arrives pickled
once by the parent (:func:`job_bytes`), as the pool initializer's argument, and the worker
builds its one :class:`~nanobragg.series.render.FrameRenderer` from it.
"""

from __future__ import annotations

import gc
import pickle

_RENDERER = None


def job_bytes(job) -> bytes:
    """The job as sent to every worker: pickled once here, unpickled once per worker."""
    return pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)


def start(payload: bytes) -> None:
    """Pool initializer: import, unpickle the job, build the renderer (torch threads: the
    job's ``threads``)."""
    global _RENDERER
    gc.disable()
    try:
        from nanobragg.series.render import FrameRenderer

        renderer = FrameRenderer(pickle.loads(payload))
    finally:
        gc.enable()
    gc.freeze()
    _RENDERER = renderer


def ready() -> int:
    """A task that does nothing but report the worker's torch threads: submitted once per
    worker to start the pool early."""
    import torch

    return torch.get_num_threads() if _RENDERER is not None else 0


def render(frame):
    """Render one frame (a :class:`~nanobragg.series.plan.FrameSpec`) with this worker's
    renderer."""
    if _RENDERER is None:
        raise RuntimeError("series worker started without a job")
    return _RENDERER.render(frame)
