"""Gradients of the rendered image against finite differences (float64 gradcheck).

A tiny 6x6 detector off the direct beam keeps each evaluation cheap; every parameter the
engine documents as differentiable is checked on its own.
"""

from __future__ import annotations

import math

import pytest
import torch

from nanobragg.config import Convention, SimulationConfig
from nanobragg.simulator import Simulator


def base_config() -> SimulationConfig:
    cfg = SimulationConfig(dtype=torch.float64)
    cfg.crystal.cell = (60.0, 70.0, 80.0, math.radians(90), math.radians(95), math.radians(100))
    cfg.crystal.misset = (math.radians(5), math.radians(10), math.radians(15))
    cfg.crystal.Na = cfg.crystal.Nb = cfg.crystal.Nc = 4.0
    cfg.structure_factors.default_F = 100.0
    cfg.detector.fpixels = cfg.detector.spixels = 6
    cfg.detector.pixel_size = 0.2e-3
    cfg.detector.distance = 0.08
    cfg.detector.beam_x = 0.0035
    cfg.detector.beam_y = 0.0005
    cfg.sampling.oversample = 1
    return cfg


def render(cfg: SimulationConfig) -> torch.Tensor:
    return Simulator(cfg).run()


def _scalar(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def _set_cell(cfg, t, i):
    cell = list(cfg.crystal.cell)
    cell[i] = t
    cfg.crystal.cell = tuple(cell)


def _set_misset(cfg, t, i):
    misset = list(cfg.crystal.misset)
    misset[i] = t
    cfg.crystal.misset = tuple(misset)


def _set_mosaic(cfg, t):
    cfg.crystal.mosaic_spread = t
    cfg.crystal.mosaic_domains = 3


ANGLE, LENGTH_A, LENGTH_M = 1e-6, 1e-5, 1e-9

# name: (value, finite-difference step, how to put the tensor into the config)
PARAMETERS = {
    "cell_a": (60.0, LENGTH_A, lambda c, t: _set_cell(c, t, 0)),
    "cell_c": (80.0, LENGTH_A, lambda c, t: _set_cell(c, t, 2)),
    "cell_beta": (math.radians(95), ANGLE, lambda c, t: _set_cell(c, t, 4)),
    "cell_gamma": (math.radians(100), ANGLE, lambda c, t: _set_cell(c, t, 5)),
    "misset_x": (math.radians(5), ANGLE, lambda c, t: _set_misset(c, t, 0)),
    "misset_z": (math.radians(15), ANGLE, lambda c, t: _set_misset(c, t, 2)),
    "distance": (0.08, LENGTH_M, lambda c, t: setattr(c.detector, "distance", t)),
    "beam_x": (0.0035, LENGTH_M, lambda c, t: setattr(c.detector, "beam_x", t)),
    "beam_y": (0.0005, LENGTH_M, lambda c, t: setattr(c.detector, "beam_y", t)),
    "rotx": (0.02, ANGLE, lambda c, t: setattr(c.detector, "rotx", t)),
    "roty": (0.03, ANGLE, lambda c, t: setattr(c.detector, "roty", t)),
    "rotz": (0.01, ANGLE, lambda c, t: setattr(c.detector, "rotz", t)),
    "twotheta": (0.05, ANGLE, lambda c, t: setattr(c.detector, "twotheta", t)),
    "wavelength": (1.0e-10, 1e-16, lambda c, t: setattr(c.beam, "wavelength", t)),
    # C rounds each domain's angle to float32: a larger step keeps that rounding negligible
    "mosaic_spread": (math.radians(0.5), 1e-4, _set_mosaic),
    "Na": (4.0, 1e-6, lambda c, t: setattr(c.crystal, "Na", t)),
    "Nc": (4.0, 1e-6, lambda c, t: setattr(c.crystal, "Nc", t)),
}


@pytest.mark.parametrize("name", list(PARAMETERS))
def test_gradcheck(name):
    value, eps, apply = PARAMETERS[name]
    param = _scalar(value)

    def image_of(p: torch.Tensor) -> torch.Tensor:
        cfg = base_config()
        apply(cfg, p)
        return render(cfg)

    image = image_of(param)
    assert image.requires_grad, f"{name}: the image does not depend on the parameter"
    (grad,) = torch.autograd.grad(image.sum(), param)
    assert torch.isfinite(grad) and grad != 0, f"{name}: gradient {grad}"
    assert torch.autograd.gradcheck(image_of, (param,), eps=eps, atol=1e-5, rtol=1e-3)


def test_custom_convention_vectors_stay_fixed_inputs():
    cfg = base_config()
    cfg.detector.convention = Convention.CUSTOM
    cfg.detector.distance = _scalar(0.08)
    image = render(cfg)
    assert image.requires_grad
