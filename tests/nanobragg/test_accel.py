"""torch.compile of the kernel's term function: same image as eager, clean fallback.

The term function is the torch path's; these tests turn the fused term stage off
(``NB_FUSED=0``, nanobragg/fused_terms.py), which otherwise replaces it on the CPU.
"""

from __future__ import annotations

import math

import pytest
import torch

from nanobragg import accel
from nanobragg.config import SimulationConfig
from nanobragg.simulator import Simulator


@pytest.fixture(autouse=True)
def torch_path(monkeypatch):
    monkeypatch.setenv("NB_FUSED", "0")


def small_config() -> SimulationConfig:
    cfg = SimulationConfig()
    cfg.crystal.cell = (100.0, 100.0, 100.0, math.pi / 2, math.pi / 2, math.pi / 2)
    cfg.crystal.Na = cfg.crystal.Nb = cfg.crystal.Nc = 10.0
    cfg.crystal.mosaic_spread, cfg.crystal.mosaic_domains = math.radians(0.5), 3
    cfg.structure_factors.default_F = 300.0
    cfg.detector.fpixels = cfg.detector.spixels = 32
    cfg.sampling.oversample = 2
    return cfg


def test_compile_failure_falls_back_to_eager(monkeypatch, capsys):
    def broken(fn, **kwargs):
        def run(*args):
            raise RuntimeError("no C++ compiler")
        return run

    monkeypatch.setenv("NB_COMPILE", "1")
    monkeypatch.setattr(torch, "compile", broken)
    eager_image = Simulator(small_config()).run()
    monkeypatch.setenv("NB_COMPILE", "0")
    assert torch.equal(eager_image, Simulator(small_config()).run())
    assert "torch.compile unavailable (no C++ compiler); running eagerly" in capsys.readouterr().err


def test_compile_is_only_used_for_large_jobs(monkeypatch):
    monkeypatch.setenv("NB_COMPILE", "auto")
    assert not accel.should_compile(10**6, needs_grad=False)
    assert accel.should_compile(accel.COMPILE_MIN_TERMS, needs_grad=False)
    assert not accel.should_compile(accel.COMPILE_MIN_TERMS, needs_grad=True)


@pytest.mark.heavy
def test_compiled_image_matches_eager(monkeypatch):
    monkeypatch.setenv("NB_COMPILE", "0")
    eager_image = Simulator(small_config()).run()
    monkeypatch.setenv("NB_COMPILE", "1")
    compiled_image = Simulator(small_config()).run()
    assert torch.allclose(compiled_image, eager_image, rtol=1e-5, atol=0)
