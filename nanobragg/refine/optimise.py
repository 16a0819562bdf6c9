"""The optimiser loop: L-BFGS with a strong-Wolfe line search (default) or Adam.

Stopping rules, checked after every iteration: the largest gradient component (in the scaled
coordinates, i.e. in units of the starting standard errors) below ``gtol``; a relative loss
change below ``ftol``; ``max_iter`` iterations; a non-finite loss (the fit diverged: the last
finite iterate is kept and a warning recorded).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch.optim.lbfgs import _strong_wolfe

from nanobragg.errors import ConfigError, NanoBraggError
from nanobragg.refine.pixels import Selection, draw
from nanobragg.refine.problem import Pixels, Problem

Tensor = torch.Tensor
METHODS = ("lbfgs", "adam")


@dataclass(frozen=True)
class Settings:
    method: str = "lbfgs"
    max_iter: int = 100
    gtol: float = 1e-3
    ftol: float = 1e-10
    #: Adam's step in the scaled coordinates (units of starting standard errors)
    learning_rate: float = 0.1
    history_size: int = 20
    seed: int = 0


@dataclass
class Outcome:
    x: Tensor
    loss: float
    converged: bool
    iterations: int
    message: str
    history: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _Objective:
    """The loss as the optimiser sees it: remembers the last point (L-BFGS asks twice) and the
    last finite one, and redraws random pixels once per iteration."""

    def __init__(self, problem: Problem, selection: Selection, seed: int):
        self.problem, self.selection = problem, selection
        self.generator = torch.Generator().manual_seed(seed)
        self.pixels: list[Pixels] | None = None
        self.cache: tuple[Tensor, float, Tensor] | None = None
        self.best: tuple[Tensor, float] | None = None
        self.evaluations = 0
        self.new_draw()

    def new_draw(self) -> None:
        if self.selection.stochastic:
            self.pixels = [draw(img.pixels, self.selection.count, self.generator)
                           for img in self.problem.images]
            self.cache = None

    def __call__(self, x: Tensor) -> tuple[float, Tensor]:
        if self.cache is not None and torch.equal(self.cache[0], x):
            return self.cache[1], self.cache[2]
        try:
            if not bool(torch.isfinite(x).all()):
                raise ConfigError("non-finite parameters")
            loss, grad = self.problem.loss_and_grad(x, self.pixels)
        except NanoBraggError:  # the model refuses the values (e.g. a negative distance)
            loss, grad = math.inf, torch.zeros_like(x)
        self.evaluations += 1
        self.cache = (x.detach().clone(), loss, grad)
        if math.isfinite(loss) and (self.best is None or loss <= self.best[1]
                                    or self.selection.stochastic):
            self.best = (x.detach().clone(), loss)
        return loss, grad


class _LBFGS:
    """L-BFGS (two-loop recursion) with PyTorch's strong-Wolfe line search, whose first trial
    step is kept within a trust radius that doubles after each full step: far from the
    optimum (hundreds of standard errors, where the loss is not convex) an unlimited first
    step would jump into models the simulator refuses."""

    def __init__(self, history_size: int, radius: float = 1.0):
        self.history_size, self.radius = history_size, radius
        self.memory: list[tuple[Tensor, Tensor, float]] = []
        self.h_diag = 1.0

    def direction(self, grad: Tensor) -> Tensor:
        q = -grad.clone()
        alphas = []
        for s, y, rho in reversed(self.memory):
            a = rho * float(s @ q)
            q -= a * y
            alphas.append(a)
        r = q * self.h_diag
        for (s, y, rho), a in zip(self.memory, reversed(alphas), strict=True):
            r += s * (a - rho * float(y @ r))
        return r

    def step(self, x: Tensor, loss: float, grad: Tensor, objective) -> tuple[Tensor, float, Tensor]:
        d = self.direction(grad)
        gtd = float(grad @ d)
        if not gtd < 0:  # not a descent direction: forget the curvature pairs
            self.memory.clear()
            self.h_diag, d = 1.0, -grad.clone()
            gtd = float(grad @ d)
        length = float(d.norm())
        t0 = min(1.0, self.radius / length) if length > 0 else 1.0
        ceiling = abs(loss) * 10.0 + 1e6

        def evaluate(x0: Tensor, t: float, direction: Tensor) -> tuple[float, Tensor]:
            value, g = objective(x0 + t * direction)
            return (value, g) if math.isfinite(value) else (ceiling, torch.zeros_like(g))

        new_loss, new_grad, t, _ = _strong_wolfe(evaluate, x, t0, d, loss, grad, gtd)
        if not new_loss < loss:
            return x, loss, grad
        s, y = t * d, new_grad - grad
        ys = float(y @ s)
        if ys > 1e-10:
            self.memory.append((s, y, 1.0 / ys))
            del self.memory[: -self.history_size]
            self.h_diag = ys / float(y @ y)
        if t * length >= 0.99 * self.radius:
            self.radius *= 2.0
        return x + s, new_loss, new_grad


def run(problem: Problem, settings: Settings, selection: Selection,
        report: Callable[[dict], None] | None = None) -> Outcome:
    """Minimise the problem's loss from x = 0; ``report`` gets each iteration's record."""
    if settings.method not in METHODS:
        raise ValueError(settings.method)
    objective = _Objective(problem, selection, settings.seed)
    x = torch.zeros(problem.size, dtype=torch.float64)
    loss, grad = objective(x)
    if not math.isfinite(loss):
        return Outcome(x, loss, False, 0, "the starting model gives a non-finite loss",
                       warnings=["fit diverged: the loss at the starting model is not finite"])
    stepper = _stepper(settings, x, objective)
    first_grad = float(grad.abs().max()) if grad.numel() else 0.0
    history: list[dict] = []
    started = time.perf_counter()
    message, converged = "reached --max-iter", False
    for iteration in range(1, settings.max_iter + 1):
        before = x
        x, new_loss, grad = stepper(x, loss, grad)
        if selection.stochastic:
            objective.new_draw()
            new_loss, grad = objective(x)
        step = float((x - before).norm())
        record = {"iteration": iteration, "loss": new_loss, "delta_loss": new_loss - loss,
                  "step": step, "grad_max": float(grad.abs().max()) if grad.numel() else 0.0,
                  "evaluations": objective.evaluations,
                  "seconds": round(time.perf_counter() - started, 3),
                  "parameters": problem.labelled_values(x)}
        history.append(record)
        if report is not None:
            report(record)
        if not math.isfinite(new_loss) or not bool(torch.isfinite(x).all()):
            good, final = objective.best if objective.best else (torch.zeros_like(x), loss)
            return Outcome(good, final, False, iteration, "the fit diverged", history,
                           [f"fit diverged at iteration {iteration} (loss {new_loss}); the last "
                            "finite iterate is reported"])
        change = abs(loss - new_loss)
        loss = new_loss
        if record["grad_max"] < settings.gtol:
            message, converged = f"gradient below --gtol {settings.gtol:g}", True
            break
        if not selection.stochastic and change <= settings.ftol * max(1.0, abs(loss)):
            # a line search that cannot improve any more ends a fit whose gradient has
            # fallen by three orders of magnitude (or nearly to gtol): machine precision
            converged = record["grad_max"] < max(100 * settings.gtol, 1e-3 * first_grad)
            message = (f"relative loss change below --ftol {settings.ftol:g}" if converged else
                       "the line search made no progress (gradient still "
                       f"{record['grad_max']:.3g})")
            break
    return Outcome(x, loss, converged, len(history), message, history)


def _stepper(settings: Settings, x: Tensor, objective: _Objective):
    """One iteration: (x, loss, grad) -> (new x, its loss, its gradient)."""
    if settings.method == "lbfgs":
        lbfgs = _LBFGS(settings.history_size)
        return lambda x, loss, grad: lbfgs.step(x, loss, grad, objective)
    leaf = x.clone().requires_grad_(True)
    adam = torch.optim.Adam([leaf], lr=settings.learning_rate)

    def adam_step(x: Tensor, loss: float, grad: Tensor) -> tuple[Tensor, float, Tensor]:
        with torch.no_grad():
            leaf.copy_(x)
        leaf.grad = grad.clone()
        adam.step()
        new_loss, new_grad = objective(leaf.detach().clone())
        return leaf.detach().clone(), new_loss, new_grad

    return adam_step
