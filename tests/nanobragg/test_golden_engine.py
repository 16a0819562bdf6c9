"""The engine against every public golden float image of the C program.

float64, cast to float32 as C casts its double image: C's float image to the last bit. float32:
correlation >= 0.99999 and |sum ratio - 1| <= 1e-4 (and 1e-5 of the maximum against float64,
tests/nanobragg/test_term_stage.py). Input files are the vendored copies in tests/golden/data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from golden_cases import DATA_DIR, all_cases

from nanobragg.cli.args import parse_args
from nanobragg.simulator import Simulator

CASES = all_cases()


def _crop(case, image: np.ndarray) -> np.ndarray:
    """pilatus_roi stores only its inclusive ROI crop; every other case the whole image."""
    return case.stored_part(image)


def render(case, dtype: torch.dtype, workdir: Path) -> np.ndarray:
    (workdir / "data").symlink_to(DATA_DIR, target_is_directory=True)
    parsed = parse_args(case.args, cwd=workdir)
    config = parsed.simulation
    config.dtype = dtype
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        image = Simulator(config, cwd=workdir).run()
    finally:
        os.chdir(cwd)
    return _crop(case, image.detach().cpu().numpy())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_float64_matches_c(case, tmp_path):
    gold = case.float_image()
    ours = render(case, torch.float64, tmp_path).astype(np.float32)
    assert ours.shape == gold.shape
    differing = int((ours != gold).sum())
    assert differing == 0, f"{differing} pixels differ from C's float image"


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_float32_matches_c(case, tmp_path):
    gold = case.float_image().astype(np.float64)
    ours = render(case, torch.float32, tmp_path).astype(np.float64)
    assert ours.shape == gold.shape
    if gold.std() > 0:
        assert np.corrcoef(ours.ravel(), gold.ravel())[0, 1] >= 0.99999
    assert abs(ours.sum() / gold.sum() - 1) <= 1e-4
