"""Resolve a nanoBragg command line (or a golden case) and render it with a pixel trace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from nanobragg.cli.args import parse_args
from nanobragg.golden import GoldenCase
from nanobragg.simulator import Simulator

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float64": torch.float64}


@dataclass(frozen=True)
class CaseInput:
    """The nanoBragg arguments to render and, for a golden case, its stored C outputs."""

    args: list[str]
    cwd: Path
    golden: Path | None = None

    @classmethod
    def from_golden(cls, case_dir: Path) -> CaseInput:
        case = GoldenCase.load(case_dir)
        return cls(args=case.args, cwd=case_dir.parent, golden=case_dir)

    def c_trace_path(self) -> Path | None:
        if self.golden is None:
            return None
        path = self.golden / "trace.log"
        return path if path.is_file() else None

    def c_image(self) -> np.ndarray | None:
        """The golden case's float image (float32 [slow, fast]), if it has one."""
        if self.golden is None:
            return None
        case = GoldenCase.load(self.golden)
        return case.float_image() if case.has("float") else None


@dataclass
class PixelRender:
    dtype: str
    image: np.ndarray
    trace: list[str]


def render_pixel(case: CaseInput, pixel: tuple[int, int], dtype: str) -> PixelRender:
    """Render the whole image in ``dtype`` and trace ``pixel`` (slow, fast)."""
    if dtype not in DTYPES:
        raise ValueError(f"unknown dtype {dtype!r} (use {', '.join(DTYPES)})")
    config = parse_args(case.args, cwd=case.cwd, env={}).simulation
    sim = Simulator(config.with_dtype(DTYPES[dtype]), cwd=case.cwd)
    image = sim.run(trace_pixel=pixel)
    return PixelRender(dtype, image.detach().cpu().double().numpy(), list(sim.trace))
