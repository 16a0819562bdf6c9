"""Optional ``torch.compile`` of the kernel's hot elementwise function.

Compilation fuses the ~30 elementwise operations per term (three grating functions, the F
lookup, squares) into one loop, which is several times faster than eager PyTorch on CPU. It
costs tens of seconds the first time (less once PyTorch's on-disk cache is warm), so it is only
used for large jobs. ``NB_COMPILE`` selects: ``auto`` (default; compile when a job has at least
``COMPILE_MIN_TERMS`` terms), ``1`` (always) or ``0`` (never). Any compilation failure falls back
to eager execution with a one-line warning on stderr. On the CPU the fused term stage
(nanobragg/fused_terms.py) replaces the term function where it applies; this is for the torch
path (CUDA, other shapes, ``NB_FUSED=0``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import torch

#: terms (sub-pixel x source x phi x mosaic x pixels) from which compiling pays off: eager
#: runs ~15-30 M terms/s per thread, so a compile of 10-30 s only pays off above this
COMPILE_MIN_TERMS = 1_000_000_000


def compile_mode() -> str:
    mode = os.environ.get("NB_COMPILE", "auto").strip().lower()
    return mode if mode in ("auto", "0", "1") else "auto"


def should_compile(terms: int, needs_grad: bool) -> bool:
    mode = compile_mode()
    if mode == "0" or needs_grad:
        return False
    return mode == "1" or terms >= COMPILE_MIN_TERMS


def with_fallback(fn: Callable, compiled: Callable) -> Callable:
    """Run ``compiled``; on any compiler error, warn once and use ``fn`` from then on."""
    state = {"broken": False}

    def run(*args):
        if not state["broken"]:
            try:
                return compiled(*args)
            except Exception as error:  # noqa: BLE001 - any backend failure means "use eager"
                state["broken"] = True
                first = str(error).splitlines()[0] if str(error) else type(error).__name__
                print(f"nanobragg: torch.compile unavailable ({first}); running eagerly",
                      file=sys.stderr)
        return fn(*args)

    return run


def maybe_compile(fn: Callable, terms: int, needs_grad: bool) -> Callable:
    if not should_compile(terms, needs_grad):
        return fn
    return with_fallback(fn, torch.compile(fn, dynamic=True))
