"""``nanobragg-series``: rotation series and serial stills as one command.

Data flow: :mod:`~nanobragg.series.cli` parses the series flags and the frame's ordinary
``nanobragg`` arguments -> :mod:`~nanobragg.series.plan` lists the frames (seed, rotation or
orientation and shot parameters of each) -> an executor of :mod:`~nanobragg.series.executors`
(inline, local processes or Dask) renders them with one reused Simulator per process
(:mod:`~nanobragg.series.render`) -> :mod:`~nanobragg.series.store` writes each frame file
atomically and records it in ``manifest.jsonl``. See ``docs/series.md``.
"""

from nanobragg.errors import NanoBraggError


class SeriesError(NanoBraggError):
    """A bad series command line or output directory (one line, exit status 2)."""
