"""The fit as a function of one vector: images, unknowns, and the chunked loss and gradient.

The optimiser's vector ``x`` holds the scalar unknowns (see :mod:`~nanobragg.refine.parameters`)
followed by the amplitudes of the F table when ``F`` is refined (``F = F_start + step x``).
:meth:`Problem.loss_and_grad` evaluates the loss of every selected pixel chunk by chunk:
forward and backward per chunk, the gradient accumulating into ``x``, so its memory is that of
one chunk whatever the size of the image.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from nanobragg.refine.loss import Likelihood
from nanobragg.refine.model import ImageModel, grid_from_amplitudes
from nanobragg.refine.parameters import Parameter
from nanobragg.structure_factors import StructureFactorTable
from nanobragg.workload import default_chunk_elements

Tensor = torch.Tensor
Pixels = tuple[Tensor, Tensor]
#: a chunk with gradients keeps the forward's intermediates for the backward: a quarter of the
#: forward chunk keeps their peak near the forward's
GRAD_CHUNK_SHARE = 4


@dataclass
class ImageData:
    """One observed image and its model."""

    name: str
    model: ImageModel
    #: counts per pixel with the ADC offset removed, float64 [slow, fast]
    observed: Tensor
    #: pixels that may enter the loss (mask, finite values), bool [slow, fast]
    usable: np.ndarray
    #: the selected pixels (before any random draw)
    pixels: Pixels = field(default_factory=lambda: (torch.zeros(0, dtype=torch.int64),) * 2)


@dataclass
class FBlock:
    """Every amplitude of the (shared) structure-factor table as unknowns."""

    table: StructureFactorTable
    start: np.ndarray
    step: np.ndarray


class Problem:
    """Images, unknowns and likelihood; maps the optimiser's ``x`` to losses and gradients."""

    def __init__(self, images: list[ImageData], params: list[Parameter], f_block: FBlock | None,
                 likelihood: Likelihood) -> None:
        self.images, self.params, self.f_block = images, params, f_block
        self.likelihood = likelihood
        self.restart()
        self.frozen = torch.zeros(self.size, dtype=torch.bool)
        chunk_terms = max(1, default_chunk_elements() // GRAD_CHUNK_SHARE)
        self.chunk = [max(16, chunk_terms // img.model.terms_per_pixel) for img in images]

    def restart(self) -> None:
        """Take the parameters' (possibly changed) starting values as the origin of x."""
        self.u_start = torch.tensor([p.to_u(p.start) for p in self.params], dtype=torch.float64)

    @property
    def n_scalar(self) -> int:
        return len(self.params)

    @property
    def size(self) -> int:
        return self.n_scalar + (0 if self.f_block is None else len(self.f_block.start))

    # ------------------------------------------------------------------ x <-> natural values
    def natural(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """(scalar values [n_scalar], F amplitudes [n_F] or None) in natural units."""
        steps = torch.tensor([p.step for p in self.params], dtype=torch.float64)
        u = self.u_start + steps * x[: self.n_scalar]
        scalars = torch.stack([p.from_u(u[i]) for i, p in enumerate(self.params)]) \
            if self.params else x[:0]
        if self.f_block is None:
            return scalars, None
        fb = self.f_block
        amplitudes = (torch.as_tensor(fb.start) + torch.as_tensor(fb.step) * x[self.n_scalar:])
        return scalars, amplitudes

    def labelled_values(self, x: Tensor) -> dict[str, float]:
        """{label: natural value} of the scalar unknowns (F: the mean |F|)."""
        with torch.no_grad():
            scalars, amplitudes = self.natural(x)
        out = {p.label: float(scalars[i]) for i, p in enumerate(self.params)}
        if amplitudes is not None:
            out["F"] = float(amplitudes.abs().mean())
        return out

    def image_values(self, scalars: Tensor, image: int) -> dict[str, Tensor]:
        """The values the model of ``image`` takes (its own and the shared unknowns)."""
        return {p.spec.name: scalars[i] for i, p in enumerate(self.params)
                if p.image is None or p.image == image}

    def renderer(self, scalars: Tensor, amplitudes: Tensor | None, image: int):
        grid = None
        if amplitudes is not None:
            grid = grid_from_amplitudes(self.f_block.table, amplitudes)
        return self.images[image].model.renderer(self.image_values(scalars, image), grid)

    # ------------------------------------------------------------------ loss
    def prior_loss(self, scalars: Tensor) -> Tensor | None:
        terms = [0.5 * ((scalars[i] - p.prior[0]) / p.prior[1]) ** 2
                 for i, p in enumerate(self.params) if p.prior is not None]
        return torch.stack(terms).sum() if terms else None

    def chunks(self, image: int, pixels: Pixels):
        slow, fast = pixels
        step = self.chunk[image]
        for start in range(0, len(slow), step):
            yield slow[start:start + step], fast[start:start + step]

    def loss_and_grad(self, x: Tensor, pixels: list[Pixels] | None = None,
                      progress: Callable[[], None] | None = None) -> tuple[float, Tensor]:
        """The loss at ``x`` over the selected pixels and its gradient (float64 [size]).

        A non-finite loss is returned as it is (with a zero gradient): the caller decides.
        """
        x = x.detach().clone().requires_grad_(True)
        scalars, amplitudes = self.natural(x)
        total = 0.0
        for i, img in enumerate(self.images):
            model = self.renderer(scalars, amplitudes, i)
            for s, f in self.chunks(i, img.pixels if pixels is None else pixels[i]):
                signal, background = model(s, f)
                loss = self.likelihood.value(signal + background, img.observed[s, f])
                value = float(loss.detach())
                if not math.isfinite(value):
                    return value, torch.zeros(self.size, dtype=torch.float64)
                loss.backward(retain_graph=True)
                total += value
                if progress is not None:
                    progress()
        prior = self.prior_loss(scalars)
        if prior is not None:
            prior.backward()
            total += float(prior.detach())
        grad = x.grad if x.grad is not None else torch.zeros_like(x)
        return total, torch.where(self.frozen, 0.0, grad.detach())

    def reflection_photons(self, x: Tensor) -> np.ndarray:
        """Photons each reflection of the F table puts into the selected pixels, summed over
        the images (the signal is quadratic in each F: ``F/2 · ∂Σsignal/∂F`` is exactly its
        part, overlaps included, with nearest-neighbour lookup)."""
        scalars, amplitudes = self.natural(x.detach())
        amplitudes = amplitudes.detach().clone().requires_grad_(True)
        for i, img in enumerate(self.images):
            model = self.renderer(scalars.detach(), amplitudes, i)
            for s, f in self.chunks(i, img.pixels):
                model(s, f)[0].sum().backward(retain_graph=True)
        grad = amplitudes.grad if amplitudes.grad is not None else torch.zeros_like(amplitudes)
        return (0.5 * amplitudes.detach() * grad).numpy()

    @torch.no_grad()
    def predict(self, x: Tensor, image: int) -> tuple[np.ndarray, np.ndarray]:
        """(signal, background) of every pixel of ``image`` at ``x``, float64 [slow, fast]."""
        scalars, amplitudes = self.natural(x)
        model = self.renderer(scalars, amplitudes, image)
        spixels, fpixels = self.images[image].model.shape
        s, f = torch.meshgrid(torch.arange(spixels), torch.arange(fpixels), indexing="ij")
        signal = torch.empty(spixels * fpixels, dtype=torch.float64)
        background = torch.empty_like(signal)
        at = 0
        for cs, cf in self.chunks(image, (s.reshape(-1), f.reshape(-1))):
            sig, bkg = model(cs, cf)
            signal[at:at + len(cs)], background[at:at + len(cs)] = sig, bkg
            at += len(cs)
        shape = (spixels, fpixels)
        return signal.reshape(shape).numpy(), background.reshape(shape).numpy()

    def pixel_count(self, pixels: list[Pixels] | None = None) -> int:
        chosen = [img.pixels for img in self.images] if pixels is None else pixels
        return sum(len(s) for s, _ in chosen)
