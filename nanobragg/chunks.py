"""The kernel stage: the rendered pixels through the kernel chunk by chunk, then into the image.

The pixels C renders (ROI and mask, :func:`nanobragg.workload.rendered_pixels`) go through
:func:`nanobragg.kernel.render_chunk` in chunks of :func:`nanobragg.workload.chunk_pixels`
pixels, in memory order, so that what carries over from pixel to pixel
(:class:`~nanobragg.kernel.KernelState`: the first sweep of the phi carry-over, C's one-time
interpolation fallback, Σω) sees C's order, and a render's memory follows the chunk size, not
its number of terms.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from nanobragg.kernel import KernelInputs, KernelState, render_chunk
from nanobragg.trace import RenderRecorder


def render_pixels(inp: KernelInputs, slow: torch.Tensor, fast: torch.Tensor, chunk: int,
                  state: KernelState, recorder: RenderRecorder,
                  progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """The values [P] (kernel dtype) of pixels (slow[P], fast[P]), ``chunk`` pixels at a time;
    ``progress(done, total)`` after each chunk."""
    total = len(slow)
    values = torch.empty(total, dtype=inp.dtype, device=inp.device)
    for start in range(0, total, chunk):
        s = slow[start:start + chunk].to(inp.device)
        f = fast[start:start + chunk].to(inp.device)
        values[start:start + chunk] = recorder.render_chunk(inp, start, s, f, state)
        if progress is not None:
            progress(min(start + chunk, total), total)
    return values


def place_pixels(values: torch.Tensor, slow: torch.Tensor, fast: torch.Tensor, spixels: int,
                 fpixels: int) -> torch.Tensor:
    """The image [spixels, fpixels]: ``values`` at (slow, fast), 0 elsewhere (no scatter when
    every pixel was rendered, in memory order)."""
    if len(values) == spixels * fpixels:
        return values.reshape(spixels, fpixels)
    image = torch.zeros(spixels * fpixels, dtype=values.dtype, device=values.device)
    if len(values):
        image = image.index_put(
            (slow.to(values.device) * fpixels + fast.to(values.device),), values)
    return image.reshape(spixels, fpixels)


def pixel_function(inp: KernelInputs) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A function (slow[P], fast[P]) -> values [P] for any pixels, in any order, keeping the
    autograd graph (refinement renders its pixels chunk by chunk, forward and backward)."""
    state = KernelState()

    def render(slow: torch.Tensor, fast: torch.Tensor) -> torch.Tensor:
        return render_chunk(inp, slow.to(inp.device), fast.to(inp.device), state)

    return render
