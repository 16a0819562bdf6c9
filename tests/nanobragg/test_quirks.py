"""C-compatible mode (default) against corrected-physics mode, quirk by quirk.

Every golden case renders identically in both modes unless it carries one of the kernel quirks,
and then it differs; each quirk is also checked against what the corrected physics should give.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from golden_cases import DATA_DIR, all_cases, case

from nanobragg.cli.args import parse_args
from nanobragg.config import Quirks, SimulationConfig
from nanobragg.simulator import Simulator

#: golden quirk tags that the physics switch corrects
KERNEL_QUIRKS = {
    "phi_carryover": "phi_carryover",
    "oversample_omega_running_sum": "running_sum_oversample",
    "oversample_polar_running_sum": "running_sum_oversample",
    "thickness_last_layer": "last_layer_capture",
    "water_double_scaling": "water_double_scaling",
}


def config_for(case_id: str, tmp_path, quirks: Quirks | None = None) -> SimulationConfig:
    data = tmp_path / "data"
    if not data.exists():
        data.symlink_to(DATA_DIR, target_is_directory=True)
    cfg = parse_args(case(case_id).args, cwd=tmp_path).simulation
    cfg.dtype = torch.float64
    if quirks is not None:
        cfg.quirks = quirks
    return cfg


def render(cfg: SimulationConfig, tmp_path) -> np.ndarray:
    return Simulator(cfg, cwd=tmp_path).run().numpy()


CASES = [c for c in all_cases() if c.has("float")]


@pytest.mark.parametrize("gc", CASES, ids=[c.id for c in CASES])
def test_modes_differ_exactly_where_a_quirk_applies(gc, tmp_path):
    c_mode = render(config_for(gc.id, tmp_path), tmp_path)
    corrected = render(config_for(gc.id, tmp_path, Quirks.corrected()), tmp_path)
    tagged = [t for t in gc.meta["quirks"] if t in KERNEL_QUIRKS]
    if tagged == ["water_double_scaling"]:
        # The golden water case uses the default fluence (r_e² fluence = 1 to 1e-16) and one
        # step, where scaling the background twice is invisible: the modes agree to rounding.
        # test_water_corrected_background_is_scaled_once makes the difference visible.
        np.testing.assert_allclose(corrected, c_mode, rtol=1e-12, atol=0)
    elif tagged:
        assert np.abs(corrected - c_mode).max() > 1e-6 * np.abs(c_mode).max(), tagged
    else:
        np.testing.assert_array_equal(corrected, c_mode)


def test_each_switch_only_changes_its_own_quirk(tmp_path):
    """Turning one switch off changes phi_from_zero only for phi_carryover."""
    base = render(config_for("phi_from_zero", tmp_path), tmp_path)
    for name in ("running_sum_oversample", "last_layer_capture", "water_double_scaling",
                 "interpolation_fallback", "zero_thickness_capture"):
        other = render(config_for("phi_from_zero", tmp_path, replace(Quirks(), **{name: False})),
                       tmp_path)
        np.testing.assert_array_equal(other, base)


def test_phi_carryover_corrected_uses_the_true_phi_zero_orientation(tmp_path):
    """Corrected phi = 0 is the unrotated crystal; a tiny nonzero phi0 in C mode gives the same."""
    corrected = render(config_for("phi_from_zero", tmp_path, Quirks.corrected()), tmp_path)
    nudged_cfg = config_for("phi_from_zero", tmp_path)
    nudged_cfg.crystal.phi0 = 1e-300  # not == 0, so C's rotation happens: by ~0 rad
    nudged = render(nudged_cfg, tmp_path)
    np.testing.assert_allclose(corrected, nudged, rtol=1e-12, atol=0)
    golden = case("phi_from_zero").float_image()
    assert np.abs(corrected - golden).max() > 1e-3 * golden.max()


def test_running_sum_corrected_keeps_every_subpixel(tmp_path):
    """C keeps ~1/oversample^2 of the image with -oversample_omega; corrected keeps all of it."""
    quirky = render(config_for("oversample_omega", tmp_path), tmp_path)
    corrected = render(config_for("oversample_omega", tmp_path, Quirks.corrected()), tmp_path)
    plain_cfg = config_for("oversample_omega", tmp_path)
    plain_cfg.sampling.oversample_omega = False
    plain = render(plain_cfg, tmp_path)
    assert abs(quirky.sum() / plain.sum() - 0.25) < 0.02
    assert abs(corrected.sum() / plain.sum() - 1.0) < 2e-3


def test_thickness_corrected_weights_each_layer(tmp_path):
    """Corrected: Σ_t capture_t · I_t; C: capture_last · Σ_t I_t. Where the intensity is about
    the same in every layer, their ratio is Σ_t capture_t / (layers · capture_last)."""
    cfg = config_for("detector_thickness", tmp_path)
    quirky = render(cfg, tmp_path)
    corrected = render(config_for("detector_thickness", tmp_path, Quirks.corrected()), tmp_path)
    geom = Simulator(cfg, cwd=tmp_path).detector
    assert geom.thicksteps == 3
    # capture fractions of the 3 layers at normal incidence (parallax = 1)
    mu, step = geom.mu, geom.thickstep
    caps = [math.exp(-t * step * mu) - math.exp(-(t + 1) * step * mu) for t in range(3)]
    expected = sum(caps) / (3 * caps[-1])
    ratio = corrected.sum() / quirky.sum()
    assert abs(ratio - expected) / expected < 0.02, (ratio, expected)


def test_water_corrected_background_is_scaled_once(tmp_path):
    """Corrected background = I_bg · P · ω; C scales it again by r_e² fluence / steps.

    A fluence of 1e30 and 2x2 oversampling (steps = 4) make the double scaling visible.
    """
    from nanobragg.kernel import KernelState, render_chunk

    def water_only(quirks: Quirks | None) -> tuple[Simulator, np.ndarray]:
        cfg = config_for("water", tmp_path, quirks)
        # background only: every F is 0 (a table of one zero reflection, as C needs F from
        # somewhere to run at all)
        (tmp_path / "zero.hkl").write_text("0 0 0 0.0\n")
        cfg.structure_factors.hkl_file = tmp_path / "zero.hkl"
        cfg.structure_factors.default_F = 0.0
        cfg.beam.fluence = 1e30
        cfg.sampling.oversample = 2
        sim = Simulator(cfg, cwd=tmp_path)
        return sim, sim.run().numpy()

    sim, corrected = water_only(Quirks.corrected())
    record: dict = {"inputs": sim.kernel_inputs()}
    render_chunk(record["inputs"], torch.tensor([0]), torch.tensor([0]), KernelState(), record)
    omega, capture, polar = (float(f[0]) for f in record["pixel_factors"])
    assert corrected[0, 0] == pytest.approx(sim.water_background * polar * omega * capture,
                                            rel=1e-12)
    _, quirky = water_only(None)
    r_e_sqr_fluence = 7.94079248018965e-30 * 1e30
    assert quirky[0, 0] == pytest.approx(corrected[0, 0] * r_e_sqr_fluence / sim.steps, rel=1e-12)
    assert sim.steps == 4


FALLBACK_ARGS = ["-cell", "20", "20", "20", "90", "90", "90", "-hkl", "data/medium_P1.hkl",
                 "-N", "2", "-lambda", "1", "-distance", "50", "-detpixels", "64", "-pixel", "1.5",
                 "-oversample", "1", "-nonoise", "-nopgm", "-noprogress"]


def _fallback_image(run_dir, quirks: Quirks) -> tuple[Simulator, np.ndarray]:
    run_dir.mkdir()
    (run_dir / "data").symlink_to(DATA_DIR, target_is_directory=True)
    cfg = parse_args(FALLBACK_ARGS, cwd=run_dir).simulation
    cfg.dtype = torch.float64
    cfg.quirks = quirks
    sim = Simulator(cfg, cwd=run_dir)
    return sim, sim.run().numpy()


def test_interpolation_fallback_switches_once(tmp_path):
    """A 20 Å cell reaches |h| > 10 on this detector: C warns once and goes nearest for the
    rest of the image; corrected mode interpolates wherever the neighbourhood is in range."""
    sim, quirky = _fallback_image(tmp_path / "c", Quirks())
    _, corrected = _fallback_image(tmp_path / "fixed", Quirks.corrected())
    warning = sim.report.interpolation_warning
    assert warning.startswith("WARNING: out of range for three point interpolation: "
                              "h,k,l,h0,k0,l0: -8.25813,11.4483,-11.4483,-8,11,-11")
    differ = np.flatnonzero((quirky != corrected).ravel())
    assert len(differ) > 0
    first_after_switch = differ[0]
    # every pixel before the switch is interpolated identically in both modes
    np.testing.assert_array_equal(quirky.ravel()[:first_after_switch],
                                  corrected.ravel()[:first_after_switch])


@pytest.mark.live_c
def test_interpolation_fallback_matches_c(tmp_path):
    import os
    import subprocess

    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        pytest.skip("NB_C_BIN is not set: no C nanoBragg binary for the live fallback check")
    run_dir = tmp_path / "c"
    run_dir.mkdir()
    (run_dir / "data").symlink_to(DATA_DIR, target_is_directory=True)
    subprocess.run([c_bin, *FALLBACK_ARGS, "-floatfile", "float.bin"], cwd=run_dir, check=True,
                   capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    c_image = np.fromfile(run_dir / "float.bin", dtype="<f4").reshape(64, 64)
    _, ours = _fallback_image(tmp_path / "py", Quirks())
    assert np.abs(ours.astype(np.float32) - c_image).max() <= 1e-6 * c_image.max()


#: -oversample_thick without a sensor thickness (the case of quirk zero_thickness_capture)
THIN_ARGS = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "300", "-N", "10",
             "-detpixels", "32", "-pixel", "0.4", "-distance", "100", "-oversample", "2"]


def _thin_image(tmp_path, quirks: Quirks, *extra: str) -> np.ndarray:
    cfg = parse_args([*THIN_ARGS, *extra], cwd=tmp_path).simulation
    cfg.dtype = torch.float64
    cfg.quirks = quirks
    return Simulator(cfg).run().numpy()


def test_zero_thickness_oversample_thick_is_c_zero_image(tmp_path):
    """C's capture fraction of a layer without thickness is exp(0) - exp(0) = 0 under
    -oversample_thick (its float image of THIN_ARGS is all zeros, checked live below); the
    corrected mode captures everything, which is the image without -oversample_thick."""
    plain = _thin_image(tmp_path, Quirks())
    assert plain.max() > 0
    assert not _thin_image(tmp_path, Quirks(), "-oversample_thick").any()
    corrected = _thin_image(tmp_path, Quirks.corrected(), "-oversample_thick")
    np.testing.assert_allclose(corrected, _thin_image(tmp_path, Quirks.corrected()),
                               rtol=1e-12, atol=0)


@pytest.mark.live_c
def test_zero_thickness_oversample_thick_matches_c(tmp_path):
    import os
    import subprocess

    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        pytest.skip("NB_C_BIN is not set: no C nanoBragg binary for the live zero-thickness check")
    subprocess.run([c_bin, *THIN_ARGS, "-oversample_thick", "-floatfile", "float.bin"],
                   cwd=tmp_path, check=True, capture_output=True)
    c_image = np.fromfile(tmp_path / "float.bin", dtype="<f4").reshape(32, 32)
    ours = _thin_image(tmp_path, Quirks(), "-oversample_thick").astype(np.float32)
    np.testing.assert_array_equal(ours, c_image)
