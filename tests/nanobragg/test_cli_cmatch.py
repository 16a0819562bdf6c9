"""Flags matched as the C program matches them: substring tests, collisions, ignored tokens.

Offline: the parsed configuration of command lines real scripts use, checked against what C's
argument loop does (facts from nanoBragg.c's loop, ``../shared/reference/c-nanobragg.md`` §2),
and one notice line per surprise. Live (``NB_C_BIN``): the same command lines run through C
and nanobragg give the same stdout and byte-identical images.
"""

from __future__ import annotations

import math
import os
import subprocess

import numpy as np
import pytest
from golden_cases import DATA_DIR, GOLDEN_DIR

from nanobragg.cli import cmatch
from nanobragg.cli.args import FLAGS, TABLE, ArgumentError, parse_args
from nanobragg.cli.main import main
from nanobragg.config import Convention, Pivot

DEG = math.pi / 180
CELL = ["-cell", "70", "80", "90", "90", "90", "90", "-default_F", "100"]
BEYOND_C = {"-mtz", "-mtz_column", "-cbf", "-h5", "-hdf5", "-trace_pixel", "-dtype", "-device",
            "-strict_flags", "-quirks", "-pngfile", "-max_terms"}


def parse(*args: str):
    return parse_args(list(args), cwd=GOLDEN_DIR, env={})


def test_every_c_spelling_of_the_table_is_read_by_c_as_that_flag():
    for flag in TABLE:
        for name in flag.names:
            acting = [FLAGS[rule.flag] for rule, _ in cmatch.c_rules(name, 10)]
            if name in BEYOND_C:
                assert acting == [], name  # nanobragg's own flags: no C test matches them
            else:
                assert any(f is flag for f in acting), name


def test_c_examples_dispstep_hdiv_vdiv_are_ignored_with_one_notice_each():
    p = parse(*CELL, "-lambda", "1", "-dispersion", "0.1", "-dispstep", "3", "-hdiv", "0.28",
              "-hdivstep", "0.02", "-vdiv", "0.28", "-vdivstep", "0.02")
    beam = p.simulation.beam
    assert beam.dispsteps is None and beam.hdivrange is None and beam.vdivrange is None
    assert beam.hdivstep == pytest.approx(0.02e-3) and beam.vdivstep == pytest.approx(0.02e-3)
    assert beam.dispersion == pytest.approx(0.001)
    assert p.notices == [
        "ignored '-dispstep 3', as the C program does (no flag of the C program matches "
        "-dispstep); did you mean -dispsteps?",
        "ignored '-hdiv 0.28', as the C program does (no flag of the C program matches -hdiv); "
        "did you mean -hdivstep?",
        "ignored '-vdiv 0.28', as the C program does (no flag of the C program matches -vdiv); "
        "did you mean -vdivstep?",
    ]


def test_script_spellings_convention_vert_axis_verbose_are_ignored():
    p = parse(*CELL, "-convention", "xds", "-vert_axis", "0", "0", "1", "-verbose")
    assert p.simulation.detector.convention is Convention.MOSFLM
    assert [n.split(",")[0] for n in p.notices] == [
        "ignored '-convention xds'", "ignored '-vert_axis 0 0 1'", "ignored '-verbose'"]


def test_stray_value_after_a_switch_is_ignored():
    p = parse(*CELL, "-oversample_thick", "0", "-N", "3")
    assert p.simulation.sampling.oversample_thick is True and p.simulation.crystal.Na == 3
    assert p.notices == ["ignored '0', as the C program does (it skips tokens that do not start "
                         "a flag after -oversample_thick)"]


def test_twotheta_axis_also_sets_twotheta_as_in_c():
    det = parse(*CELL, "-twotheta_axis", "1", "0", "0").simulation.detector
    assert det.twotheta_axis == (1.0, 0.0, 0.0) and det.convention is Convention.CUSTOM
    assert det.twotheta == pytest.approx(1 * DEG) and det.pivot is Pivot.SAMPLE


def test_trailing_curved_det_is_ignored_as_in_c():
    p = parse(*CELL, "-curved_det")
    assert p.simulation.detector.curved is False
    assert p.notices == ["ignored -curved_det as the last argument, as the C program does (it "
                         "acts only when another token follows it); put it before another flag"]
    assert parse("-curved_det", *CELL).simulation.detector.curved is True


def test_misset_seed_before_other_flags_takes_them_as_misset_angles():
    p = parse("-misset", "random", "-misset_seed", "5", "-N", "10", *CELL)
    xtal = p.simulation.crystal
    assert xtal.misset_random is False  # C: the random misset is replaced
    assert xtal.misset == pytest.approx((5 * DEG, 0.0, 10 * DEG))  # atof("-N") = 0
    assert xtal.misset_seed == 5 and xtal.Na == 10
    assert p.notices == ["-misset_seed also sets -misset 5 0 10, as in the C program (its test "
                         "for -misset matches -misset_seed); give -strict_flags to read flags "
                         "exactly"]
    last = parse(*CELL, "-misset", "random", "-misset_seed", "5")
    assert last.simulation.crystal.misset_random is True and last.notices == []


def test_substring_spelling_is_read_as_c_reads_it_and_named():
    p = parse(*CELL, "-mosaic_spreads", "0.5", "-mosaic_domain", "4", "-hkl_file", "x.hkl")
    xtal = p.simulation.crystal
    assert xtal.mosaic_spread == pytest.approx(0.5 * DEG) and xtal.mosaic_domains == 4
    assert str(p.simulation.structure_factors.hkl_file) == "x.hkl"
    assert p.notices == [
        "read -mosaic_spreads as -mosaic, as the C program does; spell it -mosaic",
        "read -mosaic_domain as -mosaic_domains, as the C program does; spell it "
        "-mosaic_domains",
        "read -hkl_file as -hkl, as the C program does; spell it -hkl",
    ]


def test_exact_spellings_give_no_notice():
    p = parse(*CELL, "-mosaic", "0.5", "-mosaic_domains", "4", "-printout_pixel", "1", "2",
              "-detector_thicksteps", "2", "-N", "2")
    assert p.notices == []


@pytest.mark.parametrize("switch", [["-strict_flags"], ["-quirks", "corrected"]])
def test_strict_flags_refuse_what_c_ignores(switch):
    with pytest.raises(ArgumentError, match="did you mean -dispsteps"):
        parse(*CELL, *switch, "-dispstep", "3")
    with pytest.raises(ArgumentError, match="unexpected argument '0'"):
        parse(*switch, *CELL, "-oversample_thick", "0")
    det = parse(*switch, *CELL, "-twotheta_axis", "1", "0", "0").simulation.detector
    assert det.twotheta == 0.0


def test_notice_is_one_stderr_line_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*CELL, "-detpixels", "8", "-noprogress", "-seed", "1", "-nonoise",
                 "-dispstep", "3"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == ["nanobragg: warning: ignored '-dispstep 3', as the C program does (no flag "
                   "of the C program matches -dispstep); did you mean -dispsteps?"]


# ------------------------------------------------------------------------------------------------
# live: C and nanobragg on the same surprising command lines
# ------------------------------------------------------------------------------------------------

SMALL = [*CELL, "-N", "5", "-lambda", "1", "-distance", "80", "-detpixels", "32", "-pixel", "0.2",
         "-seed", "7", "-noprogress", "-floatfile", "float.bin", "-intfile", "int.img",
         "-noisefile", "noise.img", "-pgmfile", "image.pgm"]
LIVE = {
    "dispstep_hdiv_vdiv": ["-dispersion", "0.1", "-dispstep", "3", "-hdiv", "0.28", "-hdivstep",
                           "0.02", "-vdiv", "0.28", "-vdivstep", "0.02"],
    "twotheta_axis": ["-twotheta_axis", "1", "0", "0"],
    "misset_seed_first": ["-misset_seed", "5", "-mosaic", "0"],
    "stray_and_trailing": ["-detector_thick", "50", "-oversample_thick", "0", "-convention",
                           "-verbose", "-curved_det"],
    "substring_spellings": ["-mosaic_spreads", "0.3", "-mosaic_domain", "3", "-mosaic_seed", "9",
                            "-hkl_file", "data/small_P1.hkl"],
}


def _c_run(c_bin: str, args: list[str], run_dir) -> str:
    run_dir.mkdir()
    (run_dir / "data").symlink_to(DATA_DIR, target_is_directory=True)
    done = subprocess.run([c_bin, *args], cwd=run_dir, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert done.returncode == 0, done.stdout[-2000:]
    return done.stdout


@pytest.mark.parametrize("extra", list(LIVE.values()), ids=list(LIVE))
def test_live_c_and_nanobragg_agree(extra, tmp_path, monkeypatch, capsys):
    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        pytest.skip("NB_C_BIN is not set: no C nanoBragg binary for the live check")
    args = [*SMALL, *extra]
    c_stdout = _c_run(c_bin, args, tmp_path / "c")
    ours = tmp_path / "py"
    ours.mkdir()
    (ours / "data").symlink_to(DATA_DIR, target_is_directory=True)
    monkeypatch.chdir(ours)
    assert main(["-dtype", "float64", *args]) == 0  # -curved_det stays last
    assert capsys.readouterr().out.splitlines() == c_stdout.splitlines()
    for name in ("int.img", "noise.img", "image.pgm"):
        assert (ours / name).read_bytes() == (tmp_path / "c" / name).read_bytes(), name
    c_float = np.fromfile(tmp_path / "c" / "float.bin", dtype="<f4")
    np.testing.assert_array_equal(np.fromfile(ours / "float.bin", dtype="<f4"), c_float)


def test_header_flags_match_as_in_cs_first_pass():
    p = parse(*CELL, "-imgfile", "data/header_160x120.img")
    det = p.simulation.detector
    assert (det.fpixels, det.spixels) == (160, 120) and p.img_file == "data/header_160x120.img"
    assert p.notices == ["read -imgfile as -img, as the C program does; spell it -img"]
    with pytest.raises(ArgumentError, match="unknown flag '-imgfile'"):
        parse("-strict_flags", *CELL, "-imgfile", "data/header_160x120.img")
