"""The term count before a render is the render's own plan: counted sources equal the sources
built, and the plan's terms equal what the renderer evaluates. The fast reader of plain-number
tables reads exactly what C's tokenizer reads."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nanobragg.beam import build_sources, count_sources
from nanobragg.config import BeamConfig, SimulationConfig
from nanobragg.errors import WorkloadError
from nanobragg.io import table
from nanobragg.simulator import Simulator
from nanobragg.workload import Workload, check_workload, rendered_pixel_count

BEAM = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
POLAR = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)


@pytest.mark.parametrize("beam", [
    BeamConfig(),
    BeamConfig(hdivrange=1e-3, vdivrange=1e-3, hdivsteps=5, vdivsteps=5),
    BeamConfig(hdivrange=1e-3, vdivrange=1e-3, hdivsteps=6, vdivsteps=4, round_div=False),
    BeamConfig(hdivrange=2e-3, vdivrange=0.0, hdivsteps=7, dispersion=0.01, dispsteps=3),
    BeamConfig(hdivrange=1e-3, vdivrange=2e-3, hdivstep=1e-4, vdivstep=3e-4),
    BeamConfig(sources=np.array([[-10, 0, 0, 1, 1e-10], [-10, 0.1, 0, 1, np.nan]])),
], ids=["single", "round_5x5", "square_6x4", "h_only_dispersion", "steps_given", "file"])
def test_counted_sources_are_the_sources_built(beam):
    built = build_sources(beam, BEAM, POLAR)
    assert count_sources(beam) == len(built.wavelengths)
    if beam.sources is None:  # the ellipse cut as C's scalar loop makes it
        assert len(built.divergence_grid) * built.dispsteps == len(built.wavelengths)


def test_round_divergence_grid_is_cut_as_c_cuts_it():
    # C keeps (h, v) when 4*(h^2/hr^2 + v^2/vr^2) <= 1.1 (odd counts: no half-step shift);
    # 5x5 over a range of 1: h^2 + v^2 <= 0.275 keeps the centre, the 8 points on the axes and
    # the 4 at (+-0.25, +-0.25)
    beam = BeamConfig(hdivrange=1.0, vdivrange=1.0, hdivsteps=5, vdivsteps=5)
    grid = build_sources(beam, BEAM, POLAR).divergence_grid
    kept = {(round(h, 6), round(v, 6)) for h, v in grid}
    expected = {(h, v) for h in (-0.5, -0.25, 0.0, 0.25, 0.5) for v in (-0.5, -0.25, 0.0, 0.25,
                                                                          0.5)
                if 4 * (h * h + v * v) <= 1.1}
    assert kept == expected and len(kept) == 13


def test_plan_is_what_the_renderer_evaluates():
    cfg = SimulationConfig()
    cfg.crystal.cell = (50.0, 50.0, 50.0, math.pi / 2, math.pi / 2, math.pi / 2)
    cfg.structure_factors.default_F = 10.0
    cfg.detector.fpixels = cfg.detector.spixels = 6
    cfg.detector.roi = (1, 4, 0, 2)
    cfg.detector.thickness, cfg.detector.thicksteps = 1e-4, 2
    cfg.sampling.oversample = 2
    cfg.beam.dispersion, cfg.beam.dispsteps = 0.01, 3
    cfg.crystal.mosaic_spread, cfg.crystal.mosaic_domains = 0.01, 2
    cfg.crystal.osc, cfg.crystal.phisteps = 0.01, 3
    sim = Simulator(cfg)
    work = sim.workload
    assert (work.pixels, work.subpixels, work.layers, work.sources, work.phi_steps,
            work.mosaic_domains) == (4 * 3, 4, 2, 3, 3, 2)
    assert sim.steps == work.steps == 4 * 3 * 3 * 2
    inp = sim.kernel_inputs()
    slow, _fast = sim.rendered_pixels()
    assert len(slow) == work.pixels
    assert work.per_pixel == (inp.geometry.thicksteps * sim.oversample ** 2
                              * len(inp.wavelengths) * inp.orientations.shape[0]
                              * inp.orientations.shape[1])


def test_rendered_pixel_count_with_roi_and_mask():
    mask = np.ones((5, 7), dtype=np.uint16)
    mask[1, 2] = mask[4, 6] = 0
    assert rendered_pixel_count(7, 5, (0, 7, 0, 5), None) == 35  # C's default max = count
    assert rendered_pixel_count(7, 5, (2, 3, 1, 1), mask) == 1
    assert rendered_pixel_count(7, 5, (0, 7, 0, 5), mask) == 33
    assert rendered_pixel_count(7, 5, (6, 3, 0, 5), None) == 0


def test_limits():
    work = Workload(pixels=10, subpixels=4, layers=1, sources=5, phi_steps=1, mosaic_domains=1)
    assert work.terms == 200
    check_workload(work, 200, 1 << 20, "cpu")
    check_workload(work, 0, 1 << 20, "cpu")  # 0 = no limit
    with pytest.raises(WorkloadError, match="200 terms, above the limit of 199"):
        check_workload(work, 199, 1 << 20, "cpu")
    huge = Workload(pixels=1, subpixels=1, layers=1, sources=1, phi_steps=10**12,
                    mosaic_domains=1)
    with pytest.raises(WorkloadError, match="GiB of memory"):
        check_workload(huge, 0, 1 << 20, "cpu")


PLAIN_TABLES = [
    "1 2 3\n\n4,5;6:7!8 9 10\n",
    "1 2 3 4 5 6 7\r\n-1e-3 .5 +2.\n",
    " \t\n1\n2 3",
    "\n\n5 6\n-10 0 0 1 1e-10",
    "-10\t0\t0\t1\t1E-10\r\n",
]
EXACT_ONLY = ["1 2 x\n", "1e 2\n", "1-2 3\n", "nan 1\n", "1\r2\n", "0x10 1\n"]


@pytest.mark.parametrize("text", PLAIN_TABLES + EXACT_ONLY)
def test_fast_table_reader_reads_what_the_exact_tokenizer_reads(text, monkeypatch):
    raw = text.encode()
    fast = table._plain_table(raw, 5)
    assert (fast is None) == (text in EXACT_ONLY)
    monkeypatch.setattr(table, "_plain_table", lambda raw, ncols: None)
    exact = table._read_rows(raw, 5)
    if fast is not None:
        for got, want in zip(fast, exact, strict=True):
            assert np.array_equal(got, want, equal_nan=True), (text, fast, exact)


#: lines that are blank or not for the tokenizer only because of where their CRs stand
CR_TABLES = ["\r\r\n1\n", "\r \r\n", " \r\n\r", "1\r\r\n\r\r", "\r\t2\n", "\r", "x\r\n\n\n"]


@pytest.mark.parametrize("text", PLAIN_TABLES + EXACT_ONLY + CR_TABLES)
def test_row_count_without_parsing_is_the_tokenizers_count(text, monkeypatch):
    # the term count of a -sourcefile render is taken from this count, before any parse
    raw = text.encode()
    monkeypatch.setattr(table, "_plain_table", lambda raw, ncols: None)
    assert table.count_rows(raw) == len(table._read_rows(raw, 5)[0]), text
