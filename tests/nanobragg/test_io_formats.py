"""Output formats (raw float, SMV, PGM), scaling and statistics against the golden files."""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import stat
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from golden_cases import DATA_DIR, all_cases
from golden_cases import case as _golden_case

from nanobragg.io import scaling
from nanobragg.io.atomic import atomic_open, atomic_path, atomic_write_bytes
from nanobragg.io.pgm import pgm_bytes, read_pgm, write_pgm
from nanobragg.io.raw import float_image_bytes, read_float_image, write_float_image
from nanobragg.io.smv import (
    RTD,
    SMV_HEADER_BYTES,
    SMVHeaderValues,
    c_atof,
    c_format_g,
    header_geometry,
    header_value,
    parse_smv_bytes,
    read_smv,
    smv_bytes,
    smv_header_bytes,
    smv_header_text,
    write_smv,
)

#: One parsed GoldenCase per id (case.yaml is parsed once per test module).
case = functools.cache(_golden_case)

FULL_CASES = [c.id for c in all_cases() if c.has("float") and c.has("int")]
PGM_CASES = [cid for cid in FULL_CASES if case(cid).has("pgm")]
NOISE_CASES = [cid for cid in FULL_CASES if case(cid).has("noise")]


def _flag(args: list[str], flag: str, count: int = 1) -> list[str] | None:
    """Values of the last occurrence of an exact flag in argv, None if absent."""
    if flag not in args:
        return None
    i = len(args) - 1 - args[::-1].index(flag)
    return args[i + 1 : i + 1 + count]


class _Options:
    """The output-related options of a golden case."""

    def __init__(self, case_id: str) -> None:
        args = case(case_id).args
        roi = _flag(args, "-roi", 4)
        self.roi = tuple(int(v) for v in roi) if roi else None
        self.adc = float(_flag(args, "-adc")[0]) if _flag(args, "-adc") else 40.0
        self.scale = float(_flag(args, "-scale")[0]) if _flag(args, "-scale") else 0.0
        self.pgmscale = float(_flag(args, "-pgmscale")[0]) if _flag(args, "-pgmscale") else 0.0
        mask = _flag(args, "-mask")
        self.mask = read_smv(DATA_DIR / Path(mask[0]).name).data if mask else None


def _stdout_lines(case_id: str) -> list[str]:
    return case(case_id).file("stdout").read_text().splitlines()


def test_case_lists() -> None:
    assert len(FULL_CASES) == 51 and len(PGM_CASES) == 51 and len(NOISE_CASES) == 51
    assert {"roi", "mask", "adc_scale", "pgmscale"} <= set(FULL_CASES)


# ----------------------------------------------------------------------------------------------
# Statistics and scales printed on stdout
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", FULL_CASES)
def test_stats_and_scales_match_stdout(case_id: str) -> None:
    opts = _Options(case_id)
    image = case(case_id).float_image()
    stats = scaling.image_stats(image, opts.roi, opts.mask)
    lines = _stdout_lines(case_id)
    max_line = next(line for line in lines if line.startswith("max_I = "))
    fdet, sdet = (float(v) for v in max_line.split()[-2:])
    assert stats.max_line(fdet, sdet) == max_line
    assert stats.mean_line() in lines
    int_scale = scaling.intfile_scale(opts.scale, stats.max_I)
    pgm = scaling.pgm_scale(opts.pgmscale, stats.rmsd, int_scale)
    for line in scaling.scale_lines(int_scale, pgm):
        assert line in lines
    meta = case(case_id).meta["image_stats"]
    assert stats.max_I == meta["max"]
    assert list(stats.max_index) == meta["argmax_slow_fast"]


def test_mask_case_counts_rendered_and_roi_pixels_differently() -> None:
    opts = _Options("mask")
    stats = scaling.image_stats(case("mask").float_image(), opts.roi, opts.mask)
    assert stats.rendered == 256 * 256 - 8816
    assert stats.roi_pixels == 256 * 256


def test_roi_case_counts() -> None:
    stats = scaling.image_stats(case("roi").float_image(), (20, 90, 30, 100))
    assert stats.rendered == stats.roi_pixels == 71 * 71


def test_default_scales() -> None:
    assert scaling.intfile_scale(0.0, 0.0) == 1.0
    assert scaling.intfile_scale(0.0, 110.0) == 500.0
    assert scaling.intfile_scale(2.5, 110.0) == 2.5
    assert scaling.pgm_scale(0.0, 0.0, 7.0) == 7.0
    assert scaling.pgm_scale(0.0, 2.0, 7.0) == 25.0
    assert scaling.pgm_scale(3.0, 2.0, 7.0) == 3.0


def test_stats_of_empty_and_zero_images() -> None:
    zero = scaling.image_stats(np.zeros((3, 4), np.float32))
    assert zero.max_I == 0.0 and zero.max_index is None
    assert zero.mean == zero.rms == zero.rmsd == 0.0
    single = scaling.image_stats(np.array([[4.0]], np.float32))
    assert (single.mean, single.rms, single.rmsd) == (4.0, 4.0, 0.0)



def test_stats_sum_in_c_loop_order_across_blocks() -> None:
    """C adds pixel after pixel in double; a pairwise sum rounds differently. One large value
    followed by many small ones spans several of the summation blocks."""
    values = np.full(3 * 2**15 + 7, 0.7, np.float32)
    values[0] = 3e16
    expected = 0.0
    for v in values.tolist():
        expected += v
    assert expected != float(np.sum(values.astype(np.float64)))  # the order is visible here
    stats = scaling.image_stats(values.reshape(1, -1))
    assert stats.mean == expected / values.size

# ----------------------------------------------------------------------------------------------
# int.img / noise.img (SMV)
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", FULL_CASES)
def test_int_image_file_byte_identical(case_id: str) -> None:
    opts = _Options(case_id)
    image = case(case_id).float_image()
    stats = scaling.image_stats(image, opts.roi, opts.mask)
    data = scaling.int_image(
        image, scaling.intfile_scale(opts.scale, stats.max_I), opts.adc, opts.roi
    )
    golden = case(case_id).file("int").read_bytes()
    values = SMVHeaderValues.from_header(read_smv(case(case_id).file("int")).header)
    mine = smv_bytes(values, data)
    assert len(mine) == len(golden)
    assert mine[:SMV_HEADER_BYTES] == golden[:SMV_HEADER_BYTES]
    assert mine == golden


@pytest.mark.parametrize("case_id", NOISE_CASES)
def test_noise_header_byte_identical(case_id: str) -> None:
    golden = case(case_id).file("noise").read_bytes()
    smv = parse_smv_bytes(golden)
    assert smv_bytes(SMVHeaderValues.from_header(smv.header), smv.data) == golden


def test_int_image_edge_values() -> None:
    image = np.array([[0.0, 1.0, 65535.0, 1e9, -100.0, 0.49999997, np.nan]], np.float32)
    out = scaling.int_image(image, 1.0, 0.0)
    assert out.tolist() == [[0, 1, 65535, 65535, 0, 1, 0]]
    # floorf's float argument: 0.5 + (2^-25 below 0.5) rounds to 1.0 in float32
    assert scaling.int_image(np.array([[0.49999997]], np.float32), 1.0, 0.0)[0, 0] == 1
    masked = scaling.int_image(np.zeros((2, 2), np.float32), 9.0, 40.0, (1, 1, 0, 0))
    assert masked.tolist() == [[0, 40], [0, 0]]


def test_pgm_image_edge_values() -> None:
    image = np.array([[0.0, 2.9, 300.0, -0.5, -3.2, np.nan]], np.float32)
    assert scaling.pgm_image(image, 1.0).tolist() == [[0, 2, 255, 0, 253, 0]]


def _memo_geometry_values(**overrides: float) -> SMVHeaderValues:
    """memo_512's detector values, under the names the detector model gives them."""
    pixel = 0.0001
    detector = dict(
        fpixels=512,
        spixels=512,
        pixel_size=pixel,
        distance=0.1,
        beam_x=0.02565,
        beam_y=0.02565,
        fbeam=0.02565 + 0.5 * pixel,
        sbeam=0.02565 + 0.5 * pixel,
        detsize_s=512 * pixel,
        dials_origin_mm=(-25.7, 25.7, -100.0),
        orgx=257.5,
        orgy=257.5,
        close_distance=0.1,
        twotheta=0.0,
    )
    return SMVHeaderValues.from_detector(SimpleNamespace(**{**detector, **overrides}),
                                         wavelength_m=1e-10, phi0_rad=0.0, osc_rad=1.0 / RTD)


def test_header_from_geometry_matches_memo_512() -> None:
    golden = case("memo_512").file("int").read_bytes()[:SMV_HEADER_BYTES]
    assert smv_header_bytes(_memo_geometry_values()) == golden
    noise = case("memo_512").file("noise").read_bytes()[:SMV_HEADER_BYTES]
    assert smv_header_bytes(_memo_geometry_values().for_noise_image()) == noise


def test_noise_header_writes_a_negative_zero_beam_as_zero() -> None:
    """C: int image (Sbeam-0.0*px)*1000 prints -0, noise image (Sbeam+0.0*px)*1000 prints 0."""
    values = _memo_geometry_values(sbeam=-0.0, fbeam=-0.0)
    int_text, noise_text = (smv_header_text(v) for v in (values, values.for_noise_image()))
    assert "DENZO_X_BEAM=-0;\nDENZO_Y_BEAM=-0;" in int_text
    assert "DENZO_X_BEAM=0;\nDENZO_Y_BEAM=0;" in noise_text
    changed = [a for a, b in zip(int_text.splitlines(), noise_text.splitlines(), strict=True)
               if a != b]
    assert changed == ["DENZO_X_BEAM=-0;", "DENZO_Y_BEAM=-0;"]


# pilatus_roi: C's int.img is not vendored (12 MB) but its sha256 is.  Header values as the C
# binary wrote them (smv_header_bytes_actual = 518: the text overflows 512 bytes, no padding).
PILATUS_HEADER = {
    "SIZE1": "2463",
    "SIZE2": "2527",
    "PIXEL_SIZE": "0.172",
    "DISTANCE": "231.275",
    "WAVELENGTH": "0.9768",
    "BEAM_CENTER_X": "217.742",
    "BEAM_CENTER_Y": "213.907",
    "ADXV_CENTER_X": "217.889",
    "ADXV_CENTER_Y": "219.601",
    "MOSFLM_CENTER_X": "214.957",
    "MOSFLM_CENTER_Y": "217.803",
    "DENZO_X_BEAM": "215.043",
    "DENZO_Y_BEAM": "217.889",
    "DIALS_ORIGIN": "-230.192,216.343,216.476",
    "XDS_ORGX": "1266.44",
    "XDS_ORGY": "1244.15",
    "CLOSE_DISTANCE": "231.272",
    "PHI": "0",
    "OSC_START": "0",
    "OSC_RANGE": "0.1",
    "TWOTHETA": "0",
    "BYTE_ORDER": "little_endian",
}


def test_pilatus_roi_full_int_image_with_overflowing_header() -> None:
    c = case("pilatus_roi")
    meta = c.meta
    slow, fast = c.shape
    roi_meta = meta["roi"]
    roi = (roi_meta["xmin"], roi_meta["xmax"], roi_meta["ymin"], roi_meta["ymax"])
    full = np.zeros((slow, fast), np.float32)
    full[roi[2] : roi[3] + 1, roi[0] : roi[1] + 1] = c.float_image()
    stats = scaling.image_stats(full, roi)
    lines = _stdout_lines("pilatus_roi")
    assert stats.mean_line() in lines
    int_scale = scaling.intfile_scale(0.0, stats.max_I)
    assert scaling.scale_lines(int_scale) == [line for line in lines if "intfile_scale" in line]
    values = SMVHeaderValues.from_header(PILATUS_HEADER)
    header = smv_header_bytes(values)
    assert len(header) == meta["smv_header_bytes_actual"] == 518
    assert header.endswith(b"}\f")
    content = smv_bytes(values, scaling.int_image(full, int_scale, 40.0, roi))
    expected = meta["raw_outputs_not_stored"]["int.img"]
    assert len(content) == expected["bytes"]
    assert hashlib.sha256(content).hexdigest() == expected["sha256"]
    back = parse_smv_bytes(content)
    assert back.shape == (slow, fast)
    assert back.header["XDS_ORGX"] == "1266.44"


def test_write_and_read_smv_roundtrip(tmp_path: Path) -> None:
    values = _memo_geometry_values()
    data = np.arange(512 * 512, dtype=np.uint32).reshape(512, 512).astype(np.uint16)
    path = tmp_path / "x.img"
    write_smv(path, values, data)
    back = read_smv(path)
    np.testing.assert_array_equal(back.data, data)
    assert back.header["DIALS_ORIGIN"] == "-25.7,25.7,-100"
    assert back.header_text.encode("latin-1") == smv_header_bytes(values)
    assert smv_header_bytes(SMVHeaderValues.from_header(back.header)) == smv_header_bytes(values)
    with pytest.raises(ValueError):
        write_smv(tmp_path / "bad.img", values, data[:10])
    assert not (tmp_path / "bad.img").exists()


# ----------------------------------------------------------------------------------------------
# SMV reading as C's GetFrame/ValueOf
# ----------------------------------------------------------------------------------------------


def test_value_of_uses_last_substring_occurrence() -> None:
    smv = read_smv(case("memo_512").file("int"))
    text = smv.c_header.replace("CLOSE_DISTANCE=100;", "CLOSE_DISTANCE=123.5;")
    assert header_value("DISTANCE", text) == 123.5  # C reads DISTANCE from CLOSE_DISTANCE
    assert header_value("ORGX", text) == 257.5  # ... and ORGX from XDS_ORGX
    assert math.isnan(header_value("NOT_A_KEY", text))
    assert header_value("BEAMLINE", "BEAMLINE fake") == 0.0  # no '=' after the key
    assert header_value("PHI", text) == 0.0
    assert smv.value("SIZE1") == 512.0


def test_c_atof() -> None:
    assert c_atof("  12.5abc") == 12.5
    assert c_atof("-3e2;") == -300.0
    assert c_atof(".5") == 0.5
    assert c_atof("abc") == 0.0
    assert c_atof("\n7") == 7.0
    assert c_atof("0x1p4") == 16.0
    assert c_atof("-inf;") == -math.inf
    assert math.isnan(c_atof("nan"))


def test_c_format_g() -> None:
    assert c_format_g(25.65) == "25.65"
    assert c_format_g(-0.0) == "-0"
    assert c_format_g(1234567.0) == "1.23457e+06"
    assert c_format_g(1e-5) == "1e-05"
    assert c_format_g(-math.nan) == "-nan"
    assert c_format_g(math.inf) == "inf"


def test_read_mask_file() -> None:
    smv = read_smv(DATA_DIR / "mask_256.img")
    assert smv.shape == (256, 256)
    assert int((smv.data == 0).sum()) == 8816
    assert not smv.data[100:156, 120:136].any()
    assert smv.value("BEAM_CENTER_Y") == 14.0
    assert smv.value("DISTANCE") == 110.0


def test_read_img_header_file() -> None:
    smv = read_smv(DATA_DIR / "header_160x120.img")
    assert smv.shape == (120, 160)
    s, f = np.mgrid[0:120, 0:160]
    np.testing.assert_array_equal(smv.data, 100 + 3 * s + 2 * f)
    assert (smv.value("PIXEL_SIZE"), smv.value("OSC_RANGE"), smv.value("PHI")) == (0.15, 0.5, 5.0)


def test_reader_rejects_non_smv_and_short_files() -> None:
    with pytest.raises(ValueError, match="ADSC"):
        parse_smv_bytes(b"P5\n2 2\n255\n\0\0\0\0")
    header = smv_header_bytes(_memo_geometry_values())
    with pytest.raises(ValueError):
        parse_smv_bytes(header + b"\0" * 10)


def test_header_overflow_has_no_padding() -> None:
    long_values = SMVHeaderValues.from_header(
        {**PILATUS_HEADER, "SIZE1": "3", "SIZE2": "2", "TWOTHETA": "-1.23457e+100"}
    )
    header = smv_header_bytes(long_values)
    assert len(header) > SMV_HEADER_BYTES and header.endswith(b"}\f")
    data = np.arange(6, dtype=np.uint16).reshape(2, 3)
    back = parse_smv_bytes(smv_bytes(long_values, data))
    np.testing.assert_array_equal(back.data, data)
    short = smv_header_bytes(_memo_geometry_values())
    assert len(short) == SMV_HEADER_BYTES and short.endswith(b"}\f" + b" " * 46)


# ----------------------------------------------------------------------------------------------
# PGM
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", PGM_CASES)
def test_pgm_file_byte_identical(case_id: str) -> None:
    opts = _Options(case_id)
    image = case(case_id).float_image()
    stats = scaling.image_stats(image, opts.roi, opts.mask)
    int_scale = scaling.intfile_scale(opts.scale, stats.max_I)
    scale = scaling.pgm_scale(opts.pgmscale, stats.rmsd, int_scale)
    mine = pgm_bytes(scaling.pgm_image(image, scale, opts.roi), scale)
    assert mine == case(case_id).file("pgm").read_bytes()


def test_pgm_write_read_roundtrip(tmp_path: Path) -> None:
    data = (np.arange(35) * 7 % 256).astype(np.uint8).reshape(5, 7)
    write_pgm(tmp_path / "a.pgm", data, 0.0123456789)
    back, header = read_pgm(tmp_path / "a.pgm")
    np.testing.assert_array_equal(back, data)
    assert header == "P5\n7 5\n# pixels scaled by 0.0123457\n255\n"
    golden, golden_header = read_pgm(case("pgmscale").file("pgm"))
    assert golden.shape == case("pgmscale").shape
    assert re.fullmatch(r"P5\n\d+ \d+\n# pixels scaled by \S+\n255\n", golden_header)


# ----------------------------------------------------------------------------------------------
# Raw float image
# ----------------------------------------------------------------------------------------------


def test_raw_float_roundtrip_matches_golden(tmp_path: Path) -> None:
    c = case("mosaic")
    image = read_float_image(c.file("float"), c.shape)
    np.testing.assert_array_equal(image, c.float_image())
    assert float_image_bytes(image) == c.file("float").read_bytes()
    write_float_image(tmp_path / "f.bin", image.astype(np.float64))
    assert (tmp_path / "f.bin").read_bytes() == c.file("float").read_bytes()
    with pytest.raises(ValueError):
        read_float_image(c.file("float"), (3, 3))


# ----------------------------------------------------------------------------------------------
# Atomic writes
# ----------------------------------------------------------------------------------------------


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


def test_atomic_write_replaces_and_sets_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new", b"data")
    assert target.read_bytes() == b"newdata"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("mask", [0o027, 0o077, 0o002])
def test_atomic_files_get_the_mode_a_plain_open_gives(tmp_path: Path, mask: int) -> None:
    previous = os.umask(mask)
    try:
        (tmp_path / "plain.bin").write_bytes(b"x")
        atomic_write_bytes(tmp_path / "atomic.bin", b"x")
        with atomic_path(tmp_path / "named.bin") as name:
            name.write_bytes(b"x")
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {"plain.bin": 0o666 & ~mask, "atomic.bin": 0o666 & ~mask,
                     "named.bin": 0o666 & ~mask}


def test_atomic_write_goes_through_symbolic_links(tmp_path: Path) -> None:
    """As C's fopen: the link stays, the file it names (existing or not yet) gets the data."""
    (tmp_path / "real").mkdir()
    existing, dangling = tmp_path / "real/int.img", tmp_path / "real/noise.img"
    existing.write_bytes(b"old")
    for name, target in (("int.img", existing), ("noise.img", dangling)):
        (tmp_path / name).symlink_to(target)
        atomic_write_bytes(tmp_path / name, b"new ", name.encode())
        assert (tmp_path / name).is_symlink()
        assert target.read_bytes() == b"new " + name.encode()
    assert _leftovers(tmp_path) == [] and _leftovers(tmp_path / "real") == []


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_atomic_write_leaves_nothing_on_error(tmp_path: Path, error: type) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous")
    with pytest.raises(error):
        with atomic_open(target) as handle:
            handle.write(b"half")
            raise error()
    assert target.read_bytes() == b"previous"
    assert _leftovers(tmp_path) == []
    fresh = tmp_path / "never.bin"
    with pytest.raises(error):
        with atomic_open(fresh) as handle:
            handle.write(b"x")
            raise error()
    assert not fresh.exists()
    assert _leftovers(tmp_path) == []


def test_writers_validate_input(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_pgm(tmp_path / "p.pgm", np.zeros((2, 2), np.uint16), 1.0)
    with pytest.raises(ValueError):
        write_float_image(tmp_path / "f.bin", np.zeros(4, np.float32))
    assert list(tmp_path.iterdir()) == []


def test_header_geometry_mask_and_img() -> None:
    mask = header_geometry(read_smv(DATA_DIR / "mask_256.img"), is_mask=True)
    # stdout of the golden `mask` case: distance=0.11, Xbeam=0.012 Ybeam=0.0116 (flipped)
    assert (mask["fpixels"], mask["spixels"]) == (256, 256)
    assert mask["distance"] == 0.11 and mask["Xbeam"] == 0.012
    assert math.isclose(mask["Ybeam"], 0.0116, rel_tol=1e-12)
    assert "close_distance" not in mask and "phi0" not in mask
    img = header_geometry(read_smv(DATA_DIR / "header_160x120.img"), is_mask=False)
    # stdout of `img_header`: pixel=0.00015, distance=0.15, Xbeam=0.0095 Ybeam=0.011, phi0 = 5
    assert img["pixel_size"] == 0.00015 and img["distance"] == 0.15
    assert (img["Xbeam"], img["Ybeam"], img["lambda0"]) == (0.0095, 0.011, 1.2e-10)
    assert math.isclose(img["phi0"] * RTD, 5.0) and math.isclose(img["osc"] * RTD, 0.5)
    smv = read_smv(case("memo_512").file("int"))
    memo = header_geometry(smv, is_mask=False)
    assert memo["ORGX"] == 257.5  # from XDS_ORGX
    np.testing.assert_array_equal(smv.data_as_c_reads(), smv.data)


def test_c_reads_overflowing_header_data_from_declared_offset() -> None:
    values = SMVHeaderValues.from_header(
        {**PILATUS_HEADER, "SIZE1": "3", "SIZE2": "2", "TWOTHETA": "-1.23457e+100"}
    )
    data = np.arange(1, 7, dtype=np.uint16).reshape(2, 3)
    content = smv_bytes(values, data)
    smv = parse_smv_bytes(content)
    np.testing.assert_array_equal(smv.data, data)
    assert len(smv.header_text) > SMV_HEADER_BYTES
    c_view = smv.data_as_c_reads()  # starts inside the header text
    assert c_view.tobytes() == content[SMV_HEADER_BYTES : SMV_HEADER_BYTES + 12]
    assert not np.array_equal(c_view, data)
    # A header shorter than it declares: C reads past the end of the file into its zero-filled
    # (calloc'ed) buffer.
    tiny = parse_smv_bytes(b"{\nHEADER_BYTES=512;\nSIZE1=3;\nSIZE2=2;\n}\f" + data.tobytes())
    np.testing.assert_array_equal(tiny.data, data)
    assert not tiny.data_as_c_reads().any()


# ------------------------------------------------------------------------------------------------
# PNG preview (-pngfile, beyond C)
# ------------------------------------------------------------------------------------------------


def _decode_png(data: bytes) -> np.ndarray:
    import io

    import matplotlib.image

    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def test_png_has_a_colour_scale_and_the_pgm_saturation() -> None:
    from nanobragg.io.png import png_bytes, png_saturation

    image = np.zeros((64, 96), dtype=np.float32)
    image[20:30, 40:50] = 1e6  # far above saturation: black, as the PGM's 255 is white
    rgba = _decode_png(png_bytes(image, pgm_scale=2.0))
    height, width = rgba.shape[:2]
    gray = np.round(rgba[..., 0] * 255).astype(int)
    # the colour bar: a full ramp of grey levels right of the image; the image itself holds
    # only white (0 photons) and black (saturated)
    assert len(np.unique(gray[:, 3 * width // 4:])) >= 200
    assert gray.min() == 0 and png_saturation(2.0) == 127.5


def test_cli_pngfile_beside_the_pgm(tmp_path, monkeypatch, capsys) -> None:
    from nanobragg.cli.main import main

    monkeypatch.chdir(tmp_path)
    args = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "300", "-N", "5",
            "-detpixels", "48", "-noprogress", "-seed", "1", "-nonoise"]
    assert main(args) == 0
    plain = capsys.readouterr().out
    assert main([*args, "-pngfile", "view.png"]) == 0
    assert capsys.readouterr().out == plain  # C's stdout unchanged
    rgba = _decode_png((tmp_path / "view.png").read_bytes())
    assert rgba.ndim == 3 and min(rgba.shape[:2]) > 200
    assert (tmp_path / "image.pgm").is_file()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_cli_pngfile_in_a_missing_directory_writes_nothing(tmp_path, monkeypatch, capsys) -> None:
    from nanobragg.cli.main import main

    monkeypatch.chdir(tmp_path)
    assert main(["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "300",
                 "-detpixels", "8", "-noprogress", "-pngfile", "no/such/dir/view.png"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "-pngfile" in err[0] and "does not exist" in err[0]
    assert list(tmp_path.iterdir()) == []
