"""Command-line parser: the golden cases' arguments, C's semantics and the usage text."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from golden_cases import GOLDEN_DIR, all_cases, case

from nanobragg.cli.args import (
    FLAGS,
    TABLE,
    ArgumentError,
    OutputOptions,
    is_number,
    parse_args,
    suggest,
)
from nanobragg.cli.terms import flag_terms
from nanobragg.cli.usage import usage_text
from nanobragg.config import Convention, CrystalShape, Interpolation, Pivot, Quirks
from nanobragg.io.table import read_sources

CELL = ["-cell", "70", "80", "90", "90", "90", "90", "-default_F", "100"]
DEG = math.pi / 180


def parse(*args: str, env: dict[str, str] | None = None):
    return parse_args(list(args), cwd=GOLDEN_DIR, env=env or {})


def golden(case_id: str):
    return parse_args(case(case_id).args, cwd=GOLDEN_DIR, env={})


# ------------------------------------------------------------------------------------------------
# every golden case parses, and spot checks of many of them
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("gc", all_cases(), ids=lambda c: c.id)
def test_every_golden_case_parses(gc):
    parsed = parse_args(gc.args, cwd=GOLDEN_DIR, env={})
    parsed.simulation.validate()
    assert parsed.outputs.floatfile == "float.bin"
    assert parsed.outputs.intfile == "int.img"
    assert parsed.outputs.progress is False
    assert parsed.simulation.seed == gc.meta["seed"]


def test_memo_case():
    p = golden("memo_512")
    cfg, det = p.simulation, p.simulation.detector
    assert cfg.crystal.cell == pytest.approx((100, 100, 100, math.pi / 2, math.pi / 2, math.pi / 2))
    assert cfg.structure_factors.default_F == 300
    assert (cfg.crystal.Na, cfg.crystal.Nb, cfg.crystal.Nc) == (10, 10, 10)
    assert cfg.beam.wavelength == pytest.approx(1e-10)
    assert det.distance == pytest.approx(0.1) and det.pivot is Pivot.BEAM
    assert (det.fpixels, det.spixels, det.pixel_size) == (512, 512, pytest.approx(1e-4))
    assert cfg.sampling.oversample == 1
    assert cfg.crystal.phisteps == 1 and cfg.crystal.osc is None and cfg.crystal.phistep is None
    assert cfg.crystal.mosaic_domains == 1 and cfg.crystal.mosaic_spread is None
    assert det.convention is Convention.MOSFLM


def test_img_header_case():
    p = golden("img_header")
    det, cfg = p.simulation.detector, p.simulation
    assert (det.fpixels, det.spixels) == (160, 120)
    assert det.pixel_size == pytest.approx(0.15e-3)
    assert det.distance == pytest.approx(0.150)
    assert cfg.beam.wavelength == pytest.approx(1.2e-10)
    assert cfg.crystal.phi0 == pytest.approx(5 * DEG)
    assert cfg.crystal.osc == pytest.approx(0.5 * DEG)
    assert (det.beam_x, det.beam_y) == (pytest.approx(9.5e-3), pytest.approx(11e-3))
    assert det.detsize_f == pytest.approx(160 * 0.15e-3)
    assert det.twotheta == 0.0 and det.pivot is None  # header values do not move the pivot
    assert p.img_file == "data/header_160x120.img"


def test_mask_case_flips_beam_center_y():
    p = golden("mask")
    det = p.simulation.detector
    assert (det.fpixels, det.spixels) == (256, 256)
    assert det.distance == pytest.approx(0.110)
    assert det.beam_x == pytest.approx(12e-3)
    assert det.beam_y == pytest.approx(256 * 0.1e-3 - 14e-3)  # detsize_s - BEAM_CENTER_Y
    assert det.mask.shape == (256, 256) and det.mask.dtype == np.uint16
    assert int((det.mask == 0).sum()) == 8816
    assert (det.mask[100:156, 120:136] == 0).all() and det.mask[99, 119] != 0


def test_custom_pivot_cases():
    sample = golden("custom_pivot_sample").simulation.detector
    assert sample.convention is Convention.CUSTOM and sample.pivot is Pivot.SAMPLE
    assert sample.fdet_vector == (0.0871557, 0.0, 0.9961947)
    assert (sample.close_x, sample.close_y) == (pytest.approx(6e-3), pytest.approx(6.5e-3))
    beam = golden("custom_pivot_beam").simulation
    assert beam.detector.convention is Convention.CUSTOM and beam.detector.pivot is Pivot.BEAM
    assert beam.beam.beam_vector == (1.0, 0.0, 0.0)
    assert beam.detector.sdet_vector == (0.0697565, -0.9975641, 0.0)


def test_pilatus_roi_case():
    p = golden("pilatus_roi")
    cfg, det, out = p.simulation, p.simulation.detector, p.outputs
    assert det.convention is Convention.CUSTOM
    assert det.pivot is Pivot.SAMPLE  # the trailing -twotheta 0 asks for SAMPLE, as in C
    assert det.roi == (1448, 1703, 1120, 1375)
    assert (det.fpixels, det.spixels) == (2463, 2527)
    assert det.pixel_size == pytest.approx(0.172e-3)
    assert cfg.crystal.spindle_axis == (-1.0, 0.0, 0.0)
    assert cfg.beam.beam_vector == (0.00051387949, 0.0, -0.99999986)
    assert cfg.beam.flux == 1e18 and cfg.beam.beamsize == pytest.approx(1e-3)
    assert (cfg.crystal.Na, cfg.crystal.Nb, cfg.crystal.Nc) == (36, 47, 29)
    assert cfg.crystal.osc == pytest.approx(0.1 * DEG) and cfg.crystal.phisteps == 10
    assert cfg.structure_factors.interpolation is Interpolation.NEAREST
    assert out.write_noise is False and out.write_pgm is False
    assert cfg.crystal.amatrix.shape == (3, 3)
    assert not hasattr(det, "pix0_vector")  # -pix0_vector_mm only switches to CUSTOM


def test_misset_random_case():
    xtal = golden("misset_random").simulation.crystal
    assert xtal.misset_random is True and xtal.misset is None
    assert xtal.misset_seed == 42  # -misset_seed sets angles as in C, the later -misset wins


def test_sourcefile_case_rows_with_nan():
    src = golden("sourcefile").simulation.beam.sources
    assert src.shape == (5, 5)
    np.testing.assert_array_equal(src[0], [-10.0, 0.0, 0.0, 1.0, 1.0e-10])
    assert np.isnan(src[2, 4]) and src[2, 3] == 0.5
    assert src[3, :2].tolist() == [-10.0, -0.05] and np.isnan(src[3, 2:]).all()
    assert src[4, 4] == pytest.approx(0.98e-10)


def test_amatrix_case():
    p = golden("amat_hkl_nearest")
    m = p.simulation.crystal.amatrix
    np.testing.assert_array_equal(
        m,
        [[0.01214963, 0.02546154, -0.00087968],
         [-0.01451536, 0.00000807, 0.02825911],
         [0.01705250, 0.00089825, 0.02468136]],
    )
    assert p.simulation.beam.wavelength == pytest.approx(6.2e-10)
    assert str(p.simulation.structure_factors.hkl_file) == "data/small_P1.hkl"
    assert p.simulation.crystal.cell is None


@pytest.mark.parametrize(
    ("case_id", "convention", "pivot"),
    [
        ("mosflm_default", Convention.MOSFLM, Pivot.BEAM),
        ("xds_orgx", Convention.XDS, Pivot.SAMPLE),
        ("twotheta_xds", Convention.XDS, Pivot.SAMPLE),
        ("twotheta_mosflm", Convention.MOSFLM, Pivot.SAMPLE),  # requested; MOSFLM forces BEAM
        ("dials", Convention.DIALS, Pivot.BEAM),  # C's -dials sets BEAM; the engine forces SAMPLE
        ("adxv", Convention.ADXV, Pivot.BEAM),
        ("denzo", Convention.DENZO, Pivot.BEAM),
        ("close_distance", Convention.MOSFLM, Pivot.SAMPLE),
    ],
)
def test_conventions_and_requested_pivots(case_id, convention, pivot):
    det = golden(case_id).simulation.detector
    assert det.convention is convention and det.pivot is pivot


def test_assorted_golden_values():
    assert golden("xds_orgx").simulation.detector.orgx == 40.5
    assert golden("xds_orgx").simulation.detector.orgy == 70.25
    assert golden("twotheta_xds").simulation.detector.twotheta == pytest.approx(15 * DEG)
    assert golden("energy").simulation.beam.wavelength == pytest.approx(12398.42 / 9000 * 1e-10)
    thick = golden("detector_thickness").simulation.detector
    assert thick.thickness == pytest.approx(450e-6) and thick.thicksteps == 3
    assert thick.attenuation_length == pytest.approx(320e-6)
    det = golden("detsize").simulation.detector
    assert det.detsize_f == det.detsize_s == pytest.approx(12e-3) and det.fpixels is None
    rect = golden("rect_detpixels").simulation.detector
    assert (rect.fpixels, rect.spixels) == (160, 96)
    xtal = golden("na_nb_nc").simulation.crystal
    assert (xtal.Na, xtal.Nb, xtal.Nc) == (3, 6, 9)
    size = golden("xtalsize").simulation.crystal
    assert size.sample_x == size.sample_y == size.sample_z == pytest.approx(0.037e-6)
    out = golden("adc_scale").outputs
    assert (out.adc, out.scale) == (10.0, 2.5)
    assert golden("pgmscale").outputs.pgmscale == 3.0
    disp = golden("dispersion").simulation.beam
    assert disp.dispersion == pytest.approx(0.02) and disp.dispsteps == 5
    div = golden("divergence_round").simulation.beam
    assert div.hdivrange == div.vdivrange == pytest.approx(2e-3)
    assert (div.hdivsteps, div.vdivsteps, div.round_div) == (5, 5, True)
    sq = golden("divergence_square").simulation.beam
    assert sq.round_div is False and sq.vdivrange == pytest.approx(1e-3)
    mos = golden("mosaic").simulation.crystal
    assert mos.mosaic_spread == pytest.approx(0.8 * DEG)
    assert (mos.mosaic_domains, mos.mosaic_seed) == (8, 777)
    phi = golden("phi_sweep").simulation.crystal
    assert phi.phi0 == pytest.approx(10 * DEG) and phi.osc == pytest.approx(2 * DEG)
    assert golden("dmin").simulation.sampling.dmin == pytest.approx(12e-10)
    assert golden("water").simulation.beam.water_size == pytest.approx(0.06e-6)
    assert golden("fluence").simulation.beam.fluence == 1e30
    assert golden("gauss_xtal").simulation.crystal.shape is CrystalShape.GAUSS
    assert golden("round_xtal").simulation.crystal.fudge == 1.3
    assert golden("tophat_spots").simulation.crystal.shape is CrystalShape.TOPHAT
    assert golden("nopolar").simulation.beam.nopolar is True
    assert golden("polar_kahn_0p5").simulation.beam.kahn_factor == 0.5
    pv = golden("polar_vector_custom").simulation
    assert pv.beam.polar_vector == (0.0, 0.6, 0.8)
    assert pv.detector.convention is Convention.CUSTOM
    assert golden("curved_det").simulation.detector.curved is True
    assert golden("point_pixel").simulation.detector.point_pixel is True
    assert golden("oversample_omega").simulation.sampling.oversample_omega is True
    assert golden("roi").simulation.detector.roi == (20, 90, 30, 100)
    tri = golden("triclinic_misset").simulation.crystal
    assert tri.cell[3:] == pytest.approx((80 * DEG, 95 * DEG, 105 * DEG))
    assert tri.misset == pytest.approx((12 * DEG, -7 * DEG, 25 * DEG))
    assert golden("interpolate_explicit").simulation.structure_factors.interpolation is (
        Interpolation.TRICUBIC
    )
    assert golden("interpolate_auto_N2").simulation.structure_factors.interpolation is (
        Interpolation.AUTO
    )
    rot = golden("detector_rotations").simulation.detector
    assert (rot.rotx, rot.roty, rot.rotz) == pytest.approx((3 * DEG, 5 * DEG, 7 * DEG))
    flux = golden("flux_exposure_beamsize").simulation.beam
    assert (flux.flux, flux.exposure, flux.beamsize) == (1e20, 2.0, pytest.approx(0.05e-3))


# ------------------------------------------------------------------------------------------------
# C semantics
# ------------------------------------------------------------------------------------------------


def test_defaults():
    p = parse()
    assert p.outputs == OutputOptions()
    assert p.outputs.files() == [
        ("-floatfile", "floatimage.bin"),
        ("-intfile", "intimage.img"),
        ("-pgmfile", "image.pgm"),
        ("-noisefile", "noiseimage.img"),
    ]
    assert p.outputs.adc == 40.0 and p.simulation.seed is None
    assert p.simulation.dtype is torch.float32 and p.simulation.device == "cpu"


def test_later_flags_win():
    p = parse(*CELL, "-distance", "100", "-lambda", "1", "-wavelength", "2", "-distance", "50")
    assert p.simulation.detector.distance == pytest.approx(0.05)
    assert p.simulation.beam.wavelength == pytest.approx(2e-10)
    p = parse("-lambda", "1", "-energy", "12398.42")
    assert p.simulation.beam.wavelength == pytest.approx(1e-10)


def test_negative_and_exponent_values():
    p = parse("-Xbeam", "-5e-3", "-misset", "-10", "2.5E+1", "-.5", "-phi", "-3")
    assert p.simulation.detector.beam_x == pytest.approx(-5e-6)
    assert p.simulation.crystal.misset == pytest.approx((-10 * DEG, 25 * DEG, -0.5 * DEG))
    assert p.simulation.crystal.phi0 == pytest.approx(-3 * DEG)
    p = parse("-fdet_vector", "0", "-1", "0", "-seed", "-7")
    assert p.simulation.detector.fdet_vector == (0.0, -1.0, 0.0)
    assert p.simulation.seed == -7


def test_unit_conversions_follow_c_arithmetic():
    p = parse("-distance", "0.1", "-pixel", "0.172", "-lambda", "0.9768", "-twotheta", "7")
    assert p.simulation.detector.distance == 0.1 / 1000.0
    assert p.simulation.detector.pixel_size == 0.172 / 1000.0
    assert p.simulation.beam.wavelength == 0.9768 / 1e10
    assert p.simulation.detector.twotheta == 7 / (180.0 * (1 / math.pi))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-cell", "50"], (50, 50, 50, 90, 90, 90)),
        (["-cell", "50", "60"], (50, 60, 50, 90, 90, 90)),
        (["-cell", "50", "60", "70", "80"], (50, 60, 70, 80, 90, 90)),
        (["-cell", "50", "60", "70", "80", "85", "95", "-N", "3"], (50, 60, 70, 80, 85, 95)),
        (["-cell", "50", "-N", "3"], (50, 50, 50, 90, 90, 90)),
    ],
)
def test_cell_trailing_values_optional(args, expected):
    cell = parse(*args).simulation.crystal.cell
    assert cell[:3] == pytest.approx(expected[:3])
    assert cell[3:] == pytest.approx(tuple(a * DEG for a in expected[3:]))


def test_n_sets_all_three_and_na_overrides():
    xtal = parse("-N", "7", "-Nb", "2").simulation.crystal
    assert (xtal.Na, xtal.Nb, xtal.Nc) == (7, 2, 7)


def test_crystal_size_flags():
    xtal = parse("-xtalsize", "0.1", "-sample_y", "0.2", "-heigh", "0.3").simulation.crystal
    assert (xtal.sample_x, xtal.sample_y, xtal.sample_z) == pytest.approx((1e-4, 2e-4, 3e-4))


def test_vector_flags_switch_to_custom_and_convention_flag_resets():
    det = parse("-mosflm", "-odet_vector", "1", "0", "0").simulation.detector
    assert det.convention is Convention.CUSTOM
    det = parse("-odet_vector", "1", "0", "0", "-xds").simulation.detector
    assert det.convention is Convention.XDS and det.pivot is Pivot.SAMPLE
    det = parse("-pix0_vector_mm", "1", "2", "3").simulation.detector
    assert det.convention is Convention.CUSTOM


def test_no_substring_collisions_with_strict_flags():
    det = parse("-strict_flags", "-twotheta_axis", "1", "0", "0").simulation.detector
    assert det.twotheta == 0.0 and det.pivot is None  # C would set twotheta = 1 deg
    assert det.twotheta_axis == (1.0, 0.0, 0.0)
    xtal = parse("-misset_seed", "5", *CELL, "-quirks", "corrected").simulation.crystal
    assert xtal.misset is None and xtal.misset_seed == 5


@pytest.mark.parametrize(
    ("args", "pivot"),
    [
        (["-distance", "80"], Pivot.BEAM),
        (["-Xbeam", "3"], Pivot.BEAM),
        (["-Ybeam", "3"], Pivot.BEAM),
        (["-close_distance", "80"], Pivot.SAMPLE),
        (["-twotheta", "3"], Pivot.SAMPLE),
        (["-Xclose", "3"], Pivot.SAMPLE),
        (["-Yclose", "3"], Pivot.SAMPLE),
        (["-ORGX", "3"], Pivot.SAMPLE),
        (["-ORGY", "3"], Pivot.SAMPLE),
        (["-twotheta", "3", "-pivot", "beam"], Pivot.BEAM),
        (["-pivot", "sample", "-distance", "80"], Pivot.BEAM),
        (["-distance", "80", "-pivot", "SAMPLE"], Pivot.SAMPLE),
        (["-xds", "-distance", "80"], Pivot.BEAM),
    ],
)
def test_pivot_requests(args, pivot):
    assert parse(*args).simulation.detector.pivot is pivot


def test_misset_random_and_angles_later_wins():
    xtal = parse("-misset", "random", "-misset", "1", "2", "3").simulation.crystal
    assert xtal.misset_random is False and xtal.misset == pytest.approx((DEG, 2 * DEG, 3 * DEG))
    xtal = parse("-misset", "1", "2", "3", "-misset", "random").simulation.crystal
    assert xtal.misset_random is True and xtal.misset is None


@pytest.mark.parametrize("word", ["inf", "0", "INF"])
def test_detector_abs_inf_or_zero_turns_absorption_off(word):
    det = parse("-detector_thick", "300", "-detector_abs", word).simulation.detector
    assert det.thickness == 0.0 and det.attenuation_length == math.inf


def test_detector_abs_then_thickness():
    det = parse("-detector_absorb", "inf", "-detector_thick", "300", "-thicksteps", "4")
    assert det.simulation.detector.thickness == pytest.approx(300e-6)
    assert det.simulation.detector.thicksteps == 4
    assert det.simulation.detector.attenuation_length == math.inf


def test_output_switches():
    out = parse("-nopgm", "-pgmscale", "2").outputs
    assert out.write_pgm is True and out.pgmscale == 2.0
    out = parse("-pgmfile", "a.pgm", "-nopgm", "-nonoise").outputs
    assert out.write_pgm is False and out.write_noise is False and out.pgmfile == "a.pgm"
    out = parse("-nonoise", "-noiseimage", "n.img").outputs
    assert out.write_noise is True and out.noisefile == "n.img"
    out = parse("-floatimage", "f.bin", "-intimage", "i.img", "-noprogress", "-progress").outputs
    assert (out.floatfile, out.intfile, out.progress) == ("f.bin", "i.img", True)
    out = parse("-printout_pixel", "3", "4").outputs
    assert out.printout is True and out.printout_pixel == (3, 4)
    assert parse("-trace_pixel", "4", "46").outputs.trace_pixel == (4, 46)
    out = parse("-cbf", "x.cbf", "-hdf5", "x.h5").outputs
    assert (out.cbf_file, out.h5_file) == ("x.cbf", "x.h5")
    assert [f for f, _ in out.files()][-2:] == ["-cbf", "-h5"]


def test_polar_and_nopolar_later_wins():
    assert parse("-nopolar", "-polar", "0.3").simulation.beam.nopolar is False
    assert parse("-polar", "0.3", "-nopolar").simulation.beam.nopolar is True


def test_raw_sampling_values_left_for_the_engine():
    cfg = parse("-phisteps", "4").simulation
    assert cfg.crystal.phisteps == 4 and cfg.crystal.osc is None and cfg.crystal.phistep is None
    cfg = parse("-phistep", "0.5", "-hdivstep", "0.1", "-divsteps", "3").simulation
    assert cfg.crystal.phistep == pytest.approx(0.5 * DEG)
    assert cfg.beam.hdivstep == pytest.approx(1e-4) and cfg.beam.hdivrange is None
    assert (cfg.beam.hdivsteps, cfg.beam.vdivsteps) == (3, 3)


def test_structure_factor_flags(tmp_path):
    sf = parse("-hkl", "x.hkl", "-dump", "my.bin", "-nointerpolate").simulation.structure_factors
    assert (str(sf.hkl_file), str(sf.dump_file)) == ("x.hkl", "my.bin")
    assert sf.interpolation is Interpolation.NEAREST
    p = parse("-mtz", "data.mtz", "-mtz_column", "FP")
    assert str(p.simulation.structure_factors.hkl_file) == "data.mtz"
    assert p.simulation.structure_factors.mtz_column == "FP"


def test_run_control_flags(monkeypatch):
    assert parse("-dtype", "float64").simulation.dtype is torch.float64
    assert parse(env={"NB_PYTORCH_DTYPE": "float64"}).simulation.dtype is torch.float64
    cfg = parse("-dtype", "float32", env={"NB_PYTORCH_DTYPE": "float64"}).simulation
    assert cfg.dtype is torch.float32
    assert parse("-quirks", "corrected").simulation.quirks == Quirks.corrected()
    assert parse("-quirks", "c").simulation.quirks == Quirks()
    assert parse("-device", "cpu").simulation.device == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    parsed = parse("-device", "cuda")  # the library refuses it, in the flag's words
    with pytest.raises(ArgumentError, match="^-device: device 'cuda': CUDA is not available"):
        with flag_terms(parsed):
            parsed.simulation.validate()


def test_img_is_read_first_and_later_flags_override_it():
    p = parse("-distance", "77", "-img", "data/header_160x120.img", "-pixel", "0.2")
    det = p.simulation.detector
    assert det.distance == pytest.approx(0.077)  # header first, then the flags in order
    assert det.pixel_size == pytest.approx(0.2e-3) and det.fpixels == 160


def test_img_wins_over_mask_header():
    p = parse("-img", "data/header_160x120.img", "-mask", "data/mask_256.img")
    det = p.simulation.detector
    assert (det.fpixels, det.spixels) == (160, 120)  # the mask is read first, then -img
    assert det.beam_y == pytest.approx(11e-3)
    assert det.mask.shape == (256, 256)  # kept: the engine refuses the size mismatch


def test_help_flag_and_suggestions():
    assert parse("-cell", "1", "-h").show_help is True
    assert suggest("-distanse") == "-distance"
    assert suggest("--detpixels") == "-detpixels"
    assert suggest("-Mosaic_Domains") == "-mosaic_domains"
    assert suggest("-zzzzzzzz") is None


def test_is_number():
    for token in ("1", "-1", "+2.5", "-5e-3", "1E10", ".5", "5."):
        assert is_number(token)
    for token in ("abc", "1e", "--1", "1.2.3", "", "inf", "nan", "0x10", "1_000"):
        assert not is_number(token)


def test_usage_lists_every_flag_with_units_and_defaults():
    text = usage_text()
    for flag in TABLE:
        for name in flag.names:
            assert name in text
        assert flag.help.split()[0] in text
    assert "-cell 100 100 100 90 90 90 -default_F 300 -N 10" in text
    assert "[mm; default: 100]" in text  # -distance
    assert len(FLAGS) > 140


def test_sourcefile_reading_follows_c(tmp_path):
    path = tmp_path / "src.txt"
    path.write_text("\n  \t\n1,2;3 4:5!6\n7 abc 9\n-1e-1\n")
    rows = read_sources(path, "src.txt")
    assert rows.shape == (3, 5)
    assert rows[0].tolist() == [1, 2, 3, 4, 5]  # extra columns ignored
    assert rows[1, :3].tolist() == [7, 0, 9] and np.isnan(rows[1, 3:]).all()  # atof("abc") = 0
    assert rows[2, 0] == -0.1 and np.isnan(rows[2, 1:]).all()
    path.write_text("1 2 3 4 5e-11")  # no final newline: read like any other line (deviation)
    assert read_sources(path, "src.txt")[0, 4] == 5e-11


# ------------------------------------------------------------------------------------------------
# end to end through main() (in-process), against the golden files
# ------------------------------------------------------------------------------------------------

E2E_CASES = ["memo_512", "mask", "img_header", "roi", "xds_orgx"]


def _run_main(argv, cwd, monkeypatch, capsys):
    from nanobragg.cli.main import main

    monkeypatch.chdir(cwd)
    monkeypatch.delenv("NB_PYTORCH_DTYPE", raising=False)
    status = main(argv)
    return status, capsys.readouterr()


def _golden_dir(tmp_path):
    (tmp_path / "data").symlink_to(GOLDEN_DIR / "data")
    return tmp_path


def _output_tail(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("solid angle"))
    return lines[start:]


@pytest.mark.parametrize("case_id", E2E_CASES)
def test_golden_case_end_to_end(case_id, tmp_path, monkeypatch, capsys):
    gc = case(case_id)
    status, captured = _run_main(gc.args + ["-dtype", "float64"], _golden_dir(tmp_path),
                                 monkeypatch, capsys)
    assert status == 0, captured.err
    assert captured.err == ""
    for kind in ("int", "noise", "pgm"):
        name = gc.meta["outputs"][kind]
        assert (tmp_path / name).read_bytes() == gc.file(kind).read_bytes(), name
    ours = np.fromfile(tmp_path / "float.bin", dtype="<f4").reshape(gc.shape)
    np.testing.assert_allclose(ours, gc.float_image(), rtol=1e-5, atol=1e-6)
    assert _output_tail(captured.out) == _output_tail(gc.file("stdout").read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["data", "float.bin", "int.img", "noise.img", "image.pgm"]
    )


def test_fabio_reads_our_smv_and_extra_outputs(tmp_path, monkeypatch, capsys):
    import fabio  # the test extra installs fabio and h5py: a missing one must fail, not skip
    import h5py
    argv = ["-cell", "50", "50", "50", "90", "90", "90", "-default_F", "10", "-N", "3",
            "-detpixels", "24", "-detpixels_s", "20", "-distance", "90", "-seed", "3",
            "-noprogress", "-cbf", "x.cbf", "-h5", "x.h5"]
    status, captured = _run_main(argv, tmp_path, monkeypatch, capsys)
    assert status == 0, captured.err
    floats = np.fromfile(tmp_path / "floatimage.bin", dtype="<f4").reshape(20, 24)
    for name in ("intimage.img", "noiseimage.img"):
        img = fabio.open(str(tmp_path / name))
        raw = (tmp_path / name).read_bytes()
        pixels = np.frombuffer(raw[-2 * 480 :], "<u2").reshape(20, 24)
        np.testing.assert_array_equal(img.data, pixels)
        assert float(img.header["DISTANCE"]) == 90 and int(img.header["SIZE1"]) == 24
        assert float(img.header["PIXEL_SIZE"]) == 0.1
    # with noise on, the counting formats hold the noise image (issue 14)
    noise = fabio.open(str(tmp_path / "noiseimage.img")).data
    cbf = fabio.open(str(tmp_path / "x.cbf"))
    np.testing.assert_array_equal(cbf.data, noise)
    assert "noise image" in cbf.header["_array_data.header_contents"]
    import hdf5plugin  # noqa: F401 - registers the bitshuffle filter for reading
    with h5py.File(tmp_path / "x.h5") as h5:
        np.testing.assert_array_equal(h5["entry/data/data"][0], noise)
    assert floats.shape == (20, 24)
    assert "writing floatimage.bin as 480 4-byte floats" in captured.out
    assert (tmp_path / "image.pgm").read_bytes().startswith(b"P5\n24 20\n# pixels scaled by ")


def test_failed_write_leaves_no_output(tmp_path, monkeypatch, capsys):
    import nanobragg.cli.main as cli_main

    real = cli_main.atomic_open
    calls = []

    def flaky(path):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", str(path))
        return real(path)

    monkeypatch.setattr(cli_main, "atomic_open", flaky)
    argv = ["-cell", "50", "-default_F", "10", "-detpixels", "8", "-seed", "1", "-noprogress"]
    status, captured = _run_main(argv, tmp_path, monkeypatch, capsys)
    assert status == 2 and len(calls) == 3
    assert captured.err.startswith("nanobragg: error: cannot write ")
    assert "No space left" in captured.err and len(captured.err.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_exits_130_without_outputs(tmp_path, monkeypatch, capsys):
    from nanobragg.simulator import Simulator

    def interrupted(self, progress=None, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(Simulator, "run", interrupted)
    argv = ["-cell", "50", "-default_F", "10", "-detpixels", "8", "-seed", "1"]
    status, captured = _run_main(argv, tmp_path, monkeypatch, capsys)
    assert status == 130 and "interrupted" in captured.err
    assert list(tmp_path.iterdir()) == []


def test_progress_bar_only_after_delay():
    import io

    from nanobragg.cli.main import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(stream, delay_s=3600)
    bar(5, 10)
    bar.close()
    assert stream.getvalue() == ""
    bar = ProgressBar(stream, delay_s=0.0, width=10)
    bar(5, 10)
    bar.close()
    assert "[#####.....]  50%" in stream.getvalue() and stream.getvalue().endswith("\n")


def test_max_position_is_last_subpixel():
    from nanobragg.cli.main import max_position
    from nanobragg.io.scaling import ImageStats

    stats = ImageStats(5.0, (4, 46), 0, 0, 0, 1, 1)
    assert max_position(stats, 1e-4, 1) == pytest.approx((0.00465, 0.00045))
    fdet, sdet = max_position(stats, 1e-4, 3)
    sub = 1e-4 / 3
    assert fdet == pytest.approx(sub * (46 * 3 + 2) + sub / 2)
    assert sdet == pytest.approx(sub * (4 * 3 + 2) + sub / 2)
    assert max_position(ImageStats(0.0, None, 0, 0, 0, 1, 1), 1e-4, 2) == (0.0, 0.0)


def test_trace_pixel_prints_trace_lines(tmp_path, monkeypatch, capsys):
    argv = ["-cell", "50", "-default_F", "10", "-N", "3", "-detpixels", "8", "-seed", "1",
            "-noprogress", "-nonoise", "-nopgm", "-trace_pixel", "2", "5"]
    status, captured = _run_main(argv, tmp_path, monkeypatch, capsys)
    assert status == 0, captured.err
    lines = captured.out.splitlines()
    assert "TRACE_CONFIG: tracing pixel (spixel=2, fpixel=5)" in lines
    assert sum(line.startswith("TRACE_PY: ") for line in lines) > 10
    # inside the detector but outside the -roi: rendered as C does, with a warning line
    status, captured = _run_main(argv + ["-roi", "0", "3", "0", "3"], tmp_path, monkeypatch,
                                 capsys)
    assert status == 0 and "-trace_pixel 2 5: pixel is not rendered" in captured.out
    # outside the detector: refused before the render (bad-input corpus: trace_off_detector)
