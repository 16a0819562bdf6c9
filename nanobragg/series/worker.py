"""The process of a ``--workers`` pool: start-up and the one task it runs, per frame.

Kept free of heavy imports (the parent imports it too). A worker forked from the fork server
finds torch and nanobragg imported already (:mod:`nanobragg.series.preload`); a spawned one
imports them the way the console launcher does (:mod:`nanobragg.cli.launch`: no garbage
collection while a million objects are created, then ``gc.freeze``). The job arrives pickled
once by the parent (:func:`job_bytes`), as the pool initializer's argument, and the worker
builds its one :class:`~nanobragg.series.render.FrameRenderer` from it.

A worker must not outlive its parent: after a ``kill -9`` of the series command nothing tells
a pool worker to stop (its task queue has other holders), and it would sit there holding a
Simulator. The parent keeps the only write end of a pipe, the *lifeline*; a worker thread
blocks on the read end and ends the process when it reads end-of-file, i.e. when the parent has
gone, however it went.
"""

from __future__ import annotations

import gc
import os
import pickle
import threading

_RENDERER = None


def job_bytes(job) -> bytes:
    """The job as sent to every worker: pickled once here, unpickled once per worker."""
    return pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)


def start(payload: bytes, lifeline) -> None:
    """Pool initializer: watch the parent, import, unpickle the job, build the renderer
    (torch threads: the job's ``threads``)."""
    global _RENDERER
    threading.Thread(target=_exit_with_parent, args=(lifeline,), daemon=True,
                     name="nanobragg-series-lifeline").start()
    from nanobragg.allocator import retain_freed_memory

    retain_freed_memory()  # this process is ours, as the nanobragg command's is
    gc.disable()
    try:
        from nanobragg.series.render import FrameRenderer

        renderer = FrameRenderer(pickle.loads(payload))
    finally:
        gc.enable()
    gc.freeze()
    _RENDERER = renderer


def _exit_with_parent(lifeline) -> None:
    """Block until the parent's end of the lifeline closes, then end this process at once."""
    try:
        while True:
            lifeline.recv_bytes()
    except (EOFError, OSError):
        pass
    os._exit(1)


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
