"""Standard errors and correlations from the Fisher information, computed chunk by chunk.

For the scalar unknowns the information is ``Jᵀ W J`` (Poisson: ``W = 1/model``), with the
Jacobian columns ``∂model/∂p`` of a chunk obtained by forward-mode autograd, one pass per
unknown, and Gaussian priors adding ``1/σ²``. For the F table, whose unknowns are too many
for a dense matrix, the diagonal of the information is computed with one backward pass: where
each pixel's signal comes from one reflection (nearest-neighbour lookup, separated spots) the
model depends on ``F`` through ``F²``, so ``Σ_p W_p (∂m_p/∂F)² = (2/F) Σ_p W_p s_p ∂m_p/∂F``
with ``s`` the pixel's signal; F's errors are conditional on the other unknowns.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
import torch.autograd.forward_ad as fwAD

from nanobragg.refine.problem import Pixels, Problem

Tensor = torch.Tensor


@dataclass
class Information:
    """Fisher information of the scalar unknowns (natural units) and F's diagonal."""

    scalar: np.ndarray
    f_diagonal: np.ndarray | None


def information(problem: Problem, x: Tensor, pixels: list[Pixels] | None = None) -> Information:
    n = problem.n_scalar
    scalars, amplitudes = problem.natural(x.detach())
    scalars = scalars.detach()
    info = torch.zeros((n, n), dtype=torch.float64)
    f_grad = None
    if amplitudes is not None:
        amplitudes = amplitudes.detach().clone().requires_grad_(True)
    for i, img in enumerate(problem.images):
        relevant = [j for j, p in enumerate(problem.params) if p.image in (None, i)]
        chosen = img.pixels if pixels is None else pixels[i]
        with fwAD.dual_level(), warnings.catch_warnings():
            # torch loads its forward-mode decompositions through torch.jit on first use
            warnings.filterwarnings("ignore", "`torch.jit.script` is deprecated",
                                    DeprecationWarning)
            duals = [problem.renderer(fwAD.make_dual(scalars, _unit(n, j)),
                                      None if amplitudes is None else amplitudes.detach(), i)
                     for j in relevant]
            plain = problem.renderer(scalars, amplitudes, i)
            for s, f in problem.chunks(i, chosen):
                signal, background = plain(s, f)
                model = signal + background
                weights = problem.likelihood.weights(model.detach())
                if relevant:
                    jac = torch.stack([_tangent(render(s, f), len(s)) for render in duals], 1)
                    block = jac.T @ (weights[:, None] * jac)
                    index = torch.tensor(relevant)
                    info[index[:, None], index[None, :]] += block
                if amplitudes is not None:
                    (model * (weights * signal).detach()).sum().backward(retain_graph=True)
    if amplitudes is not None:
        f_grad = amplitudes.grad if amplitudes.grad is not None else torch.zeros_like(amplitudes)
        magnitude = amplitudes.detach().abs()
        f_grad = torch.where(magnitude > 0, 2.0 * f_grad / magnitude.clamp_min(1e-300), 0.0)
        f_grad = f_grad.clamp_min(0.0).numpy()
    return Information(info.numpy(), f_grad)


def _unit(n: int, j: int) -> Tensor:
    e = torch.zeros(n, dtype=torch.float64)
    e[j] = 1.0
    return e


def _tangent(parts: tuple[Tensor, Tensor], size: int) -> Tensor:
    total = parts[0] + parts[1]
    tangent = fwAD.unpack_dual(total).tangent
    return torch.zeros(size, dtype=torch.float64) if tangent is None else tangent.detach()


@dataclass
class Uncertainties:
    """Standard errors (natural units; NaN where undetermined) and the correlation matrix."""

    stderr: np.ndarray
    correlation: np.ndarray
    f_stderr: np.ndarray | None
    #: unknowns the data do not constrain (no information), by index
    undetermined: list[int]
    singular: bool = False


def uncertainties(problem: Problem, info: Information, loss: float) -> Uncertainties:
    """Invert the information (plus priors); unit-weight least squares scales by χ²/dof."""
    n = problem.n_scalar
    matrix = info.scalar.copy()
    for i, p in enumerate(problem.params):
        if p.prior is not None:
            matrix[i, i] += 1.0 / p.prior[1] ** 2
    live = [i for i in range(n) if matrix[i, i] > 0 and not bool(problem.frozen[i])]
    undetermined = [i for i in range(n) if i not in live]
    variance_scale = 1.0
    if not problem.likelihood.noise_known:
        dof = max(1, problem.pixel_count() - len(live))
        variance_scale = 2.0 * loss / dof
    cov = np.full((n, n), np.nan)
    singular = False
    if live:
        sub = matrix[np.ix_(live, live)]
        try:
            inv = np.linalg.inv(sub)
            singular = not np.all(np.isfinite(inv)) or np.any(np.diag(inv) <= 0)
        except np.linalg.LinAlgError:
            inv, singular = np.linalg.pinv(sub), True
        cov[np.ix_(live, live)] = inv * variance_scale
    with np.errstate(invalid="ignore", divide="ignore"):
        stderr = np.sqrt(np.diag(cov))
        correlation = cov / np.outer(stderr, stderr)
    f_stderr = None
    if info.f_diagonal is not None:
        with np.errstate(divide="ignore"):
            f_stderr = np.where(info.f_diagonal > 0,
                                np.sqrt(variance_scale / np.where(info.f_diagonal > 0,
                                                                  info.f_diagonal, 1.0)),
                                np.nan)
    return Uncertainties(stderr, correlation, f_stderr, undetermined, singular)
