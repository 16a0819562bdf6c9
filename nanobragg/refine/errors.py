"""The refinement's one error type: a one-line message naming the option, parameter or file."""

from __future__ import annotations

from nanobragg.errors import NanoBraggError


class RefineError(NanoBraggError):
    """Bad refinement input: unknown parameter, image of the wrong shape, unusable option."""
