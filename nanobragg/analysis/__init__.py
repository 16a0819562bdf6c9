"""Project analysis commands used by the parity loop (``python -m nanobragg.analysis``).

* ``scaling``: the per-factor scaling chain of one pixel for several dtypes (float32/float64),
  compared with a C trace, written as JSON and markdown.
* ``trace``: the ``TRACE_PY`` lines of one pixel, written to a file.

Both render through :class:`nanobragg.simulator.Simulator`, the same code path as the
``nanobragg`` command, so what they report is what the simulator computes.
"""

from nanobragg.analysis.render import CaseInput, render_pixel
from nanobragg.analysis.sweep import dtype_sweep

__all__ = ["CaseInput", "dtype_sweep", "render_pixel"]
