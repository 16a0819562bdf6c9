"""The per-pixel stage's fast forms held to their references, bit for bit.

* :func:`~nanobragg.detector.subpixel_components` (separable positions, component first)
  against :func:`~nanobragg.detector.subpixel_positions` (C's expression per sub-pixel);
* :func:`~nanobragg.geometry3d.sqrt` without autograd against the differentiable form;
* the whole-frame statistics of :func:`~nanobragg.io.scaling.image_stats` against the same
  frame seen through a ROI of a larger image.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from nanobragg.cli.args import parse_args
from nanobragg.detector import subpixel_components, subpixel_positions
from nanobragg.geometry3d import sqrt
from nanobragg.io.scaling import image_stats, int_image
from nanobragg.simulator import Simulator

BASE = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "100", "-N", "5",
        "-lambda", "1", "-distance", "100", "-pixel", "0.1", "-detpixels", "37"]
GEOMETRIES = {
    "plain": [],
    "rotated": ["-detector_rotx", "3", "-detector_roty", "-7", "-detector_rotz", "11",
                "-twotheta", "5"],
    "thick": ["-detector_thick", "0.3", "-detector_thicksteps", "3"],
    "curved": ["-curved_det"],
    "xds": ["-xds", "-ORGX", "11.5", "-ORGY", "20.25"],
}


def _geometry(extra: list[str], tmp_path: Path):
    cfg = parse_args([*BASE, *extra], cwd=tmp_path).simulation
    return Simulator(cfg, cwd=tmp_path).detector


def _bits(x: torch.Tensor) -> torch.Tensor:
    return x.contiguous().view(torch.int64)


@pytest.mark.parametrize("name", sorted(GEOMETRIES))
@pytest.mark.parametrize("oversample", [1, 2, 3])
def test_separable_positions_equal_c_expression(name: str, oversample: int, tmp_path) -> None:
    geom = _geometry(GEOMETRIES[name], tmp_path)
    gen = torch.Generator().manual_seed(oversample)
    slow = torch.randint(0, geom.spixels, (200,), generator=gen)
    fast = torch.randint(0, geom.fpixels, (200,), generator=gen)
    fast[:3] = torch.tensor([0, geom.fpixels - 1, 5])  # the table's ends
    comps = subpixel_components(geom, slow, fast, oversample)
    assert comps.shape == (3, 200, geom.thicksteps, oversample * oversample)
    for t in range(geom.thicksteps):
        ref = subpixel_positions(geom, slow, fast, oversample, t, torch.float64)
        got = comps[:, :, t].permute(1, 2, 0).reshape(ref.shape)
        assert torch.equal(_bits(got), _bits(ref))


def test_separable_positions_keep_the_gradient(tmp_path) -> None:
    pix0 = torch.tensor([0.1, -0.02, 0.03], dtype=torch.float64, requires_grad=True)
    fdet = torch.tensor([0.0, 0.6, 0.8], dtype=torch.float64, requires_grad=True)
    geom = dataclasses.replace(_geometry([], tmp_path), pix0=pix0, fdet=fdet)
    slow, fast = torch.tensor([0, 3, 7]), torch.tensor([2, 2, 9])
    weights = torch.arange(36, dtype=torch.float64).reshape(3, 4, 3)  # [P, Sub, xyz]
    comps = subpixel_components(geom, slow, fast, 2)[:, :, 0].permute(1, 2, 0)
    ref = subpixel_positions(geom, slow, fast, 2, 0, torch.float64).reshape(3, 4, 3)
    grads = [torch.autograd.grad((x * weights).sum(), (pix0, fdet)) for x in (comps, ref)]
    assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))
    assert torch.all(grads[0][1] != 0)


def test_sqrt_without_autograd_is_the_differentiable_value() -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.rand(100_000, dtype=torch.float64, generator=gen) * 10.0 ** torch.randint(
        -8, 8, (100_000,), generator=gen)
    plain = sqrt(x)
    graph = sqrt(x.clone().requires_grad_(True)).detach()
    assert torch.equal(_bits(plain), _bits(graph))
    assert torch.equal(plain, torch.as_tensor(np.sqrt(x.numpy())))


def test_whole_frame_statistics_equal_a_roi_of_a_larger_image() -> None:
    rng = np.random.default_rng(5)
    frame = (rng.gamma(0.3, 2.0, (40, 30)) * (rng.random((40, 30)) > 0.2)).astype(np.float32)
    big = np.zeros((50, 45), dtype=np.float32)
    big[4:44, 7:37] = frame
    roi = (7, 36, 4, 43)
    whole, through_roi = image_stats(frame), image_stats(big, roi)
    assert whole.max_index == (through_roi.max_index[0] - 4, through_roi.max_index[1] - 7)
    for field in ("max_I", "mean", "rms", "rmsd", "rendered", "roi_pixels"):
        assert getattr(whole, field) == getattr(through_roi, field)
    for scale in (1.0, 55000.0 / whole.max_I, 1e9):
        assert np.array_equal(int_image(frame, scale), int_image(big, scale, roi=roi)[4:44, 7:37])
