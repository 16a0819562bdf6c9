"""One image's model: a nanobragg command line whose numbers are replaced by tensors.

The starting model is parsed by the ``nanobragg`` command's own parser; for every evaluation
the refined values (natural units, see :mod:`nanobragg.refine.parameters`) are written into a
copy of its :class:`SimulationConfig` as tensors and a :class:`Simulator` is built from it, so
the physics (and its gradient) is exactly the simulator's. The structure factors are read once
and reused; refining ``F`` swaps the table's grid for a tensor.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from nanobragg.cli.args import parse_args
from nanobragg.cli.terms import flag_terms
from nanobragg.config import CrystalShape
from nanobragg.geometry3d import value
from nanobragg.refine.errors import RefineError
from nanobragg.refine.parameters import IMAGE_LEVEL
from nanobragg.simulator import Simulator
from nanobragg.structure_factors import StructureFactorTable, load_structure_factors

Tensor = torch.Tensor
#: background polynomial terms: name -> (power of x, power of y)
BACKGROUND_TERMS = {"background": (0, 0), "background_x": (1, 0), "background_y": (0, 1),
                    "background_xx": (2, 0), "background_xy": (1, 1), "background_yy": (0, 2)}
_CELL = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
_MISSET = ("misset_x", "misset_y", "misset_z")
_DETECTOR_ANGLES = ("rotx", "roty", "rotz", "twotheta")


class ImageModel:
    """The starting model of one image and the way to render it with refined values."""

    def __init__(self, argv: list[str], cwd: Path, table: StructureFactorTable | None = None):
        self.argv = list(argv)
        self.cwd = Path(cwd)
        parsed = parse_args(self.argv, self.cwd)
        if parsed.show_help:
            raise RefineError("the starting model's arguments ask for --help, not a model")
        self.parsed = parsed
        config = parsed.simulation
        if "-dtype" not in self.argv:
            config.dtype = torch.float64  # gradients and line searches want double precision
        self.config = config
        self.table = table if table is not None else load_table(config, self.cwd)
        with flag_terms(parsed):  # the library's refusals, named by the flags as nanobragg does
            start = Simulator(_copy_config(config), cwd=self.cwd, structure_factors=self.table)
        # the automatic oversampling follows N, lambda and distance: freeze the starting
        # choice, or the model would jump whenever a refined value crossed a threshold
        config.sampling = dataclasses.replace(config.sampling, oversample=start.oversample)
        self.report, self.detector = start.report, start.detector
        self.shape = (self.detector.spixels, self.detector.fpixels)
        self.terms_per_pixel = self.detector.thicksteps * start.steps

    # ------------------------------------------------------------------ starting values
    def start_value(self, name: str) -> float:
        """The starting model's value of ``name`` in natural units (a one-line error if the
        model cannot refine it)."""
        cfg, xtal, det = self.config, self.config.crystal, self.config.detector
        if name in _CELL:
            if xtal.cell is None:
                raise RefineError(f"{name}: the starting model gives no -cell (an -mat matrix "
                                  "cannot be refined by cell parameters)")
            i = _CELL.index(name)
            v = float(xtal.cell[i])
            return v if i < 3 else math.degrees(v)
        if name in _MISSET:
            if xtal.misset_random:
                raise RefineError(f"{name}: the starting model uses -misset random; give the "
                                  "three angles instead")
            return 0.0 if xtal.misset is None else math.degrees(float(xtal.misset[
                _MISSET.index(name)]))
        if name == "distance":
            return value(self.detector.distance) * 1e3
        if name in ("beam_x", "beam_y"):
            return value(getattr(self.detector, name)) * 1e3
        if name in _DETECTOR_ANGLES:
            return math.degrees(float(getattr(det, name)))
        if name == "lambda":
            return float(cfg.beam.wavelength) * 1e10
        if name == "mosaic":
            if not self.report.mosaic_spread > 0 or self.report.mosaic_domains < 2:
                raise RefineError("mosaic: the starting model has no mosaic spread (give "
                                  "-mosaic and -mosaic_domains > 1)")
            return math.degrees(self.report.mosaic_spread)
        if name in ("Na", "Nb", "Nc"):
            if max(xtal.sample_x, xtal.sample_y, xtal.sample_z) > 0:
                raise RefineError(f"{name}: the starting model sets the crystal size "
                                  "(-xtalsize), which overrides N; give -N instead")
            if xtal.shape is CrystalShape.SQUARE:
                raise RefineError(f"{name}: the square lattice function (the default shape) is "
                                  "defined for whole numbers of cells only; give -round_xtal "
                                  "(or -gauss_xtal) to refine N")
            return float(getattr(xtal, name))
        if name == "scale":
            return 1.0
        if name in BACKGROUND_TERMS:
            return 0.0
        raise RefineError(f"{name}: not a scalar parameter of the model")

    # ------------------------------------------------------------------ rendering
    def simulator(self, values: dict[str, Tensor], grid: Tensor | None) -> Simulator:
        """A Simulator of this model with ``values`` (natural units, tensors) written in."""
        cfg = _copy_config(self.config)
        xtal, det = cfg.crystal, cfg.detector
        if any(n in values for n in _CELL):
            cell = list(xtal.cell)
            for i, n in enumerate(_CELL):
                if n in values:
                    cell[i] = values[n] if i < 3 else torch.deg2rad(values[n])
            xtal.cell = tuple(cell)
        if any(n in values for n in _MISSET):
            misset = list(xtal.misset or (0.0, 0.0, 0.0))
            for i, n in enumerate(_MISSET):
                if n in values:
                    misset[i] = torch.deg2rad(values[n])
            xtal.misset = tuple(misset)
        if "distance" in values:
            det.distance = values["distance"] * 1e-3
        for n in ("beam_x", "beam_y"):
            if n in values:
                setattr(det, n, values[n] * 1e-3)
        for n in _DETECTOR_ANGLES:
            if n in values:
                setattr(det, n, torch.deg2rad(values[n]))
        if "lambda" in values:
            cfg.beam.wavelength = values["lambda"] * 1e-10
        if "mosaic" in values:
            xtal.mosaic_spread = torch.deg2rad(values["mosaic"])
        for n in ("Na", "Nb", "Nc"):
            if n in values:
                setattr(xtal, n, values[n])
        table = self.table if grid is None else self.table.with_grid_tensor(grid)
        return Simulator(cfg, cwd=self.cwd, structure_factors=table)

    def renderer(self, values: dict[str, Tensor], grid: Tensor | None
                 ) -> Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """(slow[P], fast[P]) -> (scale * simulated signal, background), both [P] float64."""
        physics = {k: v for k, v in values.items() if k not in IMAGE_LEVEL}
        render = self.simulator(physics, grid).pixel_renderer()
        scale = values.get("scale")
        spixels, fpixels = self.shape

        def model(slow: Tensor, fast: Tensor) -> tuple[Tensor, Tensor]:
            signal = render(slow, fast).to(torch.float64)
            if scale is not None:
                signal = signal * scale
            x = (fast.to(torch.float64) + 0.5) / fpixels * 2.0 - 1.0
            y = (slow.to(torch.float64) + 0.5) / spixels * 2.0 - 1.0
            background = torch.zeros_like(signal)
            for name, (px, py) in BACKGROUND_TERMS.items():
                if name in values:
                    background = background + values[name] * x ** px * y ** py
            return signal, background

        return model


def _copy_config(config):
    """A copy whose sections can take other values without touching ``config``."""
    return dataclasses.replace(
        config, detector=dataclasses.replace(config.detector),
        beam=dataclasses.replace(config.beam), crystal=dataclasses.replace(config.crystal))


def load_table(config, cwd: Path) -> StructureFactorTable:
    """The model's structure factors, read once (a -hkl file's Fdump cache goes to a
    temporary folder: a refinement leaves no files outside its output folder)."""
    sf = config.structure_factors
    if sf.hkl_file is None:
        return load_structure_factors(sf, cwd)
    hkl = sf.hkl_file if Path(sf.hkl_file).is_absolute() else Path(cwd) / sf.hkl_file
    with tempfile.TemporaryDirectory() as tmp:
        return load_structure_factors(
            dataclasses.replace(sf, hkl_file=hkl, dump_file=Path(tmp) / "Fdump.bin"), cwd)


def table_amplitudes(table: StructureFactorTable) -> np.ndarray:
    """F of every reflection of the table's listed range, flattened [h, k, l] (C order)."""
    hr, kr, lr = table.ranges
    return np.ascontiguousarray(table.grid[:hr, :kr, :lr]).reshape(-1)


def grid_from_amplitudes(table: StructureFactorTable, amplitudes: Tensor) -> Tensor:
    """The padded grid tensor holding ``amplitudes`` (see :func:`table_amplitudes`)."""
    hr, kr, lr = table.ranges
    inner = amplitudes.reshape(hr, kr, lr)
    return torch.nn.functional.pad(inner, (0, 1, 0, 1, 0, 1))
