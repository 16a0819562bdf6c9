"""Per-pixel likelihoods: Poisson (optionally with Gaussian read-out noise) or least squares.

The Poisson loss is written as the deviance, ``Σ m - o + o log(o/m)`` (≥ 0, 0 for a perfect
model), which differs from the negative log-likelihood only by a constant: its minimum, its
gradient and its curvature are the likelihood's. Read-out noise of σ counts is folded in by
the usual shifted-Poisson approximation, ``o + σ² ~ Poisson(m + σ²)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from nanobragg.refine.errors import RefineError

Tensor = torch.Tensor
#: the model is floored here so that a negative background cannot make the loss NaN
MODEL_FLOOR = 1e-10
LOSSES = ("poisson", "gaussian")


@dataclass(frozen=True)
class Likelihood:
    kind: str = "poisson"
    #: Gaussian read-out noise (counts); for least squares the per-pixel sigma (0: unit)
    readout_sigma: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in LOSSES:
            raise RefineError(f"--loss: expected poisson or gaussian, got {self.kind!r}")
        if not self.readout_sigma >= 0:
            raise RefineError(f"--readout-sigma: must be >= 0, got {self.readout_sigma:g}")

    def value(self, model: Tensor, observed: Tensor) -> Tensor:
        """The summed loss of the pixels (0-d tensor, float64)."""
        if self.kind == "gaussian":
            sigma2 = self.readout_sigma ** 2 if self.readout_sigma > 0 else 1.0
            return 0.5 * ((observed - model) ** 2).sum() / sigma2
        shift = self.readout_sigma ** 2
        m = (model + shift).clamp_min(MODEL_FLOOR)
        o = (observed + shift).clamp_min(0.0)
        log_ratio = torch.where(o > 0, torch.log(o.clamp_min(MODEL_FLOOR)) - torch.log(m),
                                torch.zeros_like(m))
        return (m - o + o * log_ratio).sum()

    def weights(self, model: Tensor) -> Tensor:
        """Fisher weights W of the pixels (information = Jᵀ W J)."""
        if self.kind == "gaussian":
            sigma2 = self.readout_sigma ** 2 if self.readout_sigma > 0 else 1.0
            return torch.full_like(model, 1.0 / sigma2)
        return 1.0 / (model + self.readout_sigma ** 2).clamp_min(MODEL_FLOOR)

    @property
    def noise_known(self) -> bool:
        """False for unit-weight least squares: errors then scale with the residual variance."""
        return self.kind == "poisson" or self.readout_sigma > 0
