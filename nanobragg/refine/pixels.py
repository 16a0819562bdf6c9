"""Which pixels enter the loss: all, shoeboxes around predicted spots, or a random subset."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nanobragg.refine.errors import RefineError

#: a spot is where the starting model exceeds this share of its 99.9th percentile ...
SPOT_LEVEL = 0.02
#: ... widened by this many pixels on each side (the shoebox)
SHOEBOX_HALF_WIDTH = 3


@dataclass(frozen=True)
class Selection:
    """``all``, ``spots`` or ``random`` (with ``count`` pixels drawn each iteration)."""

    kind: str = "all"
    count: int = 0

    @classmethod
    def parse(cls, text: str) -> Selection:
        if text in ("all", "spots"):
            return cls(text)
        head, _, number = text.partition(":")
        if head == "random" and number.isdigit() and int(number) > 0:
            return cls("random", int(number))
        raise RefineError(f"--pixels: expected all, spots or random:K, got {text!r}")

    @property
    def stochastic(self) -> bool:
        return self.kind == "random"


def spot_mask(signal: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Shoeboxes around the spots the model predicts (bool [slow, fast], within ``usable``)."""
    values = signal[usable]
    if values.size == 0:
        return usable.copy()
    level = SPOT_LEVEL * float(np.percentile(values, 99.9))
    peaks = torch.as_tensor((signal > level) & usable, dtype=torch.float32)[None, None]
    width = 2 * SHOEBOX_HALF_WIDTH + 1
    grown = torch.nn.functional.max_pool2d(peaks, width, stride=1, padding=SHOEBOX_HALF_WIDTH)
    return grown[0, 0].numpy().astype(bool) & usable


def indices(mask: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(slow, fast) int64 indices of the True pixels, in memory order."""
    slow, fast = np.nonzero(mask)
    return torch.as_tensor(slow, dtype=torch.int64), torch.as_tensor(fast, dtype=torch.int64)


def draw(pixels: tuple[torch.Tensor, torch.Tensor], count: int, generator: torch.Generator
         ) -> tuple[torch.Tensor, torch.Tensor]:
    """``count`` pixels drawn without replacement (all of them if there are fewer), sorted."""
    slow, fast = pixels
    if count >= len(slow):
        return slow, fast
    pick = torch.randperm(len(slow), generator=generator)[:count].sort().values
    return slow[pick], fast[pick]
