"""Refinement: fit the simulator to observed images, every parameter by autograd.

    import nanobragg
    result = nanobragg.refine(["obs.img"], "-cell 100 100 100 90 90 90 -N 10 ...",
                              ["distance", "beam_x", "beam_y", "scale"], out="fit")

``nanobragg.refine`` is this package and can be called as the function
:func:`nanobragg.refine.api.refine`; the console script is ``nanobragg-refine``
(:mod:`nanobragg.refine.cli`). See ``docs/refinement.md``.
"""

from __future__ import annotations

import sys
import types

from nanobragg.refine.api import RefinementResult, refine
from nanobragg.refine.errors import RefineError
from nanobragg.refine.optimise import Settings

__all__ = ["RefineError", "RefinementResult", "Settings", "refine"]


class _CallableModule(types.ModuleType):
    """Lets ``nanobragg.refine(...)`` call :func:`refine` although it names the package."""

    def __call__(self, *args, **kwargs) -> RefinementResult:
        return refine(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
