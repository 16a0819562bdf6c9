"""nanobragg: the nanoBragg X-ray diffraction simulator in PyTorch.

    import nanobragg
    config = nanobragg.SimulationConfig()               # SI units; see nanobragg.config
    config.crystal.cell = (100.0, 100.0, 100.0, *[math.pi / 2] * 3)   # Å and rad
    config.structure_factors.default_F = 300.0
    image = nanobragg.simulate(config)                  # torch.Tensor [slow, fast], photons/pixel

The names below are imported lazily, so that tools which only need a sub-package (``nb-compare``)
do not pay for importing torch.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

# OpenMP threads that spin while waiting collapse throughput (10x and more) as soon as another
# process shares the cores; passive waiting costs nothing measurable on an idle machine. Set
# before torch loads its OpenMP runtime; an explicit user setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

_EXPORTS = {
    "simulate": "nanobragg.simulator",
    "refine": "nanobragg.refine",
    "retain_freed_memory": "nanobragg.allocator",
    "Simulator": "nanobragg.simulator",
    "SimulationReport": "nanobragg.report",
    "SimulationConfig": "nanobragg.config",
    "DetectorConfig": "nanobragg.config",
    "BeamConfig": "nanobragg.config",
    "CrystalConfig": "nanobragg.config",
    "StructureFactorConfig": "nanobragg.config",
    "SamplingConfig": "nanobragg.config",
    "Quirks": "nanobragg.config",
    "Convention": "nanobragg.config",
    "Pivot": "nanobragg.config",
    "CrystalShape": "nanobragg.config",
    "Interpolation": "nanobragg.config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name == "refine":  # the package itself, callable as the function
        return import_module(_EXPORTS[name])
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'nanobragg' has no attribute {name!r}")
