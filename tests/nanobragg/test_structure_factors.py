"""Structure factors: HKL/Fdump/MTZ loading and F lookup against C facts and golden traces."""

# ruff: noqa: E741  (h, k, l are Miller indices)

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from golden_cases import DATA_DIR, case
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nanobragg.config import Interpolation, StructureFactorConfig
from nanobragg.errors import InputFileError
from nanobragg.io import hkl as hkl_format
from nanobragg.structure_factors import (
    FallbackState,
    HKLData,
    StructureFactorTable,
    load_structure_factors,
    read_fdump,
    read_hkl,
    read_mtz,
    resolve_interpolation,
    write_fdump,
)

SMALL = DATA_DIR / "small_P1.hkl"
MEDIUM = DATA_DIR / "medium_P1.hkl"


def _t(*values: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def _file_rows(path: Path) -> np.ndarray:
    return np.loadtxt(path).reshape(-1, 4)


@pytest.fixture(scope="module")
def medium() -> StructureFactorTable:
    return StructureFactorTable.from_hkl(read_hkl(MEDIUM))


@pytest.fixture(scope="module")
def small() -> StructureFactorTable:
    return StructureFactorTable.from_hkl(read_hkl(SMALL))


# ---------------------------------------------------------------------------- HKL parsing


def test_small_p1_counts_ranges_and_values(small: StructureFactorTable) -> None:
    rows = _file_rows(SMALL)
    assert small.hkls == 567 == len(rows)
    assert small.bounds == (-4, 4, -4, 4, -3, 3)
    assert small.ranges == (9, 9, 7)
    # C pads every dimension by one (calloc zeros)
    assert small.grid.shape == (10, 10, 8)
    assert (
        not small.grid[-1].any() and not small.grid[:, -1].any() and not small.grid[..., -1].any()
    )
    h, k, l = (rows[:, i].astype(int) for i in range(3))
    np.testing.assert_array_equal(small.grid[h + 4, k + 4, l + 3], rows[:, 3])
    assert ((rows[:, :3] == 0).all(axis=1)).any()  # (0,0,0) is listed
    assert small.nearest(_t(0.0), _t(0.0), _t(0.0)).item() == rows[(rows[:, :3] == 0).all(1), 3][0]


@pytest.mark.parametrize("default_F", [0.0, 2.5])
def test_medium_p1_holes_get_default_F(default_F: float) -> None:
    table = StructureFactorTable.from_hkl(read_hkl(MEDIUM), default_F)
    assert table.hkls == 15087
    assert table.bounds == (-12, 12, -12, 12, -12, 12)
    idx = np.arange(-12, 13)
    h, k, l = np.meshgrid(idx, idx, idx, indexing="ij")
    holes = ((7 * h + 3 * k + l) % 29 == 0) & ~((h == 0) & (k == 0) & (l == 0))
    assert holes.sum() == 25**3 - 15087
    core = table.grid[:25, :25, :25]
    np.testing.assert_array_equal(core[holes], default_F)
    assert (core[~holes] >= 1.0).all()  # listed F are clipped at >= 1 by the generator
    # padding is never filled with default_F (C fills only [0, range))
    assert (
        not table.grid[25].any() and not table.grid[:, 25].any() and not table.grid[..., 25].any()
    )
    # a hole looked up by nearest neighbour gives default_F, so does anything out of range
    hole = np.argwhere(holes)[0] - 12
    assert table.nearest(*(_t(float(x) + 0.2) for x in hole)).item() == default_F
    assert table.nearest(_t(13.0), _t(0.0), _t(0.0)).item() == default_F


def test_duplicate_lines_last_wins(tmp_path: Path) -> None:
    f = tmp_path / "dup.hkl"
    f.write_text("0 0 0 1\n1 1 1 2\n0 0 0 3\n")
    table = StructureFactorTable.from_hkl(read_hkl(f))
    assert table.hkls == 3  # C counts lines
    assert table.nearest(_t(0.0), _t(0.0), _t(0.0)).item() == 3.0


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("1 2 3 4\n1 2 3\n", 2, "expected 4 numbers"),
        ("1 2 3 4 5\n", 1, "expected 4 numbers"),
        ("1 2 3 4\n\n# comment line\n", 3, "expected 4 numbers"),
        ("1 2 x 4\n", 1, "is not a number"),
        ("1 2 3 abc\n", 1, "is not a number"),
        ("1 2 3 1_0\n", 1, "is not a number"),
        ("0 0 0 1\n1.5 2 3 4\n", 2, "WARNING: non-integer value for h (1.5) at line 1"),
        ("1 2.0 3 4\n", 1, "not written as an integer"),
    ],
)
def test_malformed_hkl_lines_are_refused(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    f = tmp_path / "bad.hkl"
    f.write_text(text)
    with pytest.raises(InputFileError) as err:
        read_hkl(f, "bad.hkl")
    message = str(err.value)
    assert message.startswith(f"bad.hkl:{line}:")
    assert fragment in message
    assert "\n" not in message


def test_missing_and_empty_hkl_files(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="nothere.hkl: no such file"):
        read_hkl(tmp_path / "nothere.hkl", "nothere.hkl")
    (tmp_path / "empty.hkl").write_text("\n  \n")
    with pytest.raises(InputFileError, match="empty.hkl: no 'h k l F' entries"):
        read_hkl(tmp_path / "empty.hkl", "empty.hkl")


def test_hkl_accepts_c_number_forms(tmp_path: Path) -> None:
    f = tmp_path / "ok.hkl"
    f.write_text("  +1\t-2 3 1.5e2\n\n-1 2 -3 .25\n0 0 0 7.\n")
    data = read_hkl(f)
    np.testing.assert_array_equal(data.indices, [[1, -2, 3], [-1, 2, -3], [0, 0, 0]])
    np.testing.assert_array_equal(data.amplitudes, [150.0, 0.25, 7.0])


# ---------------------------------------------------------------------------- Fdump


def test_fdump_layout_by_construction(tmp_path: Path, small: StructureFactorTable) -> None:
    path = tmp_path / "Fdump.bin"
    small.write_fdump(path)
    raw = path.read_bytes()
    header = b"-4 4 -4 4 -3 3\n\f"
    assert raw.startswith(header)
    assert len(raw) == len(header) + 8 * 10 * 10 * 8
    data = np.frombuffer(raw[len(header) :], dtype=np.float64).reshape(10, 10, 8)  # native, C order
    np.testing.assert_array_equal(data, small.grid)
    grid, bounds = read_fdump(path)
    assert bounds == small.bounds
    np.testing.assert_array_equal(grid, small.grid)


def test_fdump_round_trip_with_default_F(tmp_path: Path) -> None:
    table = StructureFactorTable.from_hkl(read_hkl(MEDIUM), default_F=7.5)
    path = tmp_path / "cache.bin"
    table.write_fdump(path)
    back = StructureFactorTable.from_fdump(path, default_F=7.5, name="cache.bin")
    assert back.bounds == table.bounds
    np.testing.assert_array_equal(back.grid, table.grid)
    assert back.hkls == 25**3  # C: h_range*k_range*l_range for a cache
    assert back.messages == ("reading Fs from cache.bin",)
    h, k, l = (torch.linspace(-13, 13, 301, dtype=torch.float64),) * 3
    torch.testing.assert_close(
        back.lookup(h, k, l, interpolate=True), table.lookup(h, k, l, interpolate=True)
    )


def test_fdump_first_double_whitespace_byte(tmp_path: Path) -> None:
    # 0x3FF0000000000020: its first (low) byte is a space. C's fscanf("...\n\f") would skip it
    # and read the whole cache shifted; we read what was written.
    value = np.frombuffer(bytes.fromhex("2000000000 00f03f".replace(" ", "")), "<f8")[0]
    grid = np.zeros((2, 2, 2))
    grid[0, 0, 0] = value
    write_fdump(tmp_path / "F.bin", grid, (0, 0, 0, 0, 0, 0))
    back, _ = read_fdump(tmp_path / "F.bin")
    assert back[0, 0, 0] == value


def test_corrupt_fdump_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"garbage")
    with pytest.raises(InputFileError, match="a.bin: not an Fdump file"):
        read_fdump(tmp_path / "a.bin", "a.bin")
    (tmp_path / "b.bin").write_bytes(b"0 1 0 1 0 1\n\f" + bytes(8 * 26))
    with pytest.raises(InputFileError, match="b.bin: Fdump data is 208 bytes.*needs 216"):
        read_fdump(tmp_path / "b.bin", "b.bin")


# ---------------------------------------------------------------------------- source selection


def test_load_with_hkl_writes_cache_and_c_messages(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "small.hkl").write_bytes(SMALL.read_bytes())
    cfg = StructureFactorConfig(hkl_file=Path("data/small.hkl"), default_F=2.0)
    table = load_structure_factors(cfg, tmp_path)
    assert table.source == "hkl" and table.hkls == 567
    assert table.messages == (
        "counting entries in data/small.hkl",
        "initializing to default_F = 2:",
        "done initializing:",
        "re-reading data/small.hkl",
        "writing dump file for next time: Fdump.bin",
    )
    assert (tmp_path / "Fdump.bin").exists()
    # without -hkl, C silently reads the cache back
    again = load_structure_factors(StructureFactorConfig(), tmp_path)
    assert again.source == "fdump" and again.messages == ("reading Fs from Fdump.bin",)
    np.testing.assert_array_equal(again.grid, table.grid)
    assert again.hkls == 9 * 9 * 7


def test_load_without_sources_and_custom_dump(tmp_path: Path) -> None:
    table = load_structure_factors(StructureFactorConfig(default_F=5.0), tmp_path)
    assert table.source == "none" and not table.has_data and table.hkls == 0
    h = torch.linspace(-3, 3, 7, dtype=torch.float64)
    assert (table.lookup(h, h, h, interpolate=True) == 5.0).all()
    cfg = StructureFactorConfig(hkl_file=SMALL, dump_file=Path("my.dump"))
    load_structure_factors(cfg, tmp_path)
    assert (tmp_path / "my.dump").exists() and not (tmp_path / "Fdump.bin").exists()
    back = load_structure_factors(StructureFactorConfig(dump_file=Path("my.dump")), tmp_path)
    assert back.source == "fdump" and back.messages == ("reading Fs from my.dump",)


def test_unwritable_dump_is_a_warning(tmp_path: Path) -> None:
    cfg = StructureFactorConfig(hkl_file=SMALL, dump_file=Path("no/such/dir/F.bin"))
    table = load_structure_factors(cfg, tmp_path)
    assert table.messages[-1] == "WARNING: unable to open dump file: no/such/dir/F.bin"


def test_load_missing_hkl_file(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="^missing.hkl: no such file"):
        load_structure_factors(StructureFactorConfig(hkl_file=Path("missing.hkl")), tmp_path)


def test_resolve_interpolation(small: StructureFactorTable) -> None:
    on, msg = resolve_interpolation(Interpolation.AUTO, (2.0, 5.0, 5.0), small)
    assert on and msg == "auto-selected tricubic interpolation of structure factors"
    on, msg = resolve_interpolation(Interpolation.AUTO, (3, 3, 3), small)
    assert not on and msg == "auto-selected no interpolation"
    assert resolve_interpolation(Interpolation.TRICUBIC, (9, 9, 9), small) == (True, None)
    assert resolve_interpolation(Interpolation.NEAREST, (1, 1, 1), small) == (False, None)
    empty = StructureFactorTable.empty(1.0)
    assert resolve_interpolation(Interpolation.TRICUBIC, (1, 1, 1), empty)[0] is False


# ---------------------------------------------------------------------------- live C


@pytest.mark.live_c
def test_fdump_bytes_match_c_binary(tmp_path: Path) -> None:
    binary = os.environ.get("NB_C_BIN")
    if not binary:
        pytest.skip("NB_C_BIN is not set: no C nanoBragg binary to compare the Fdump.bin with")
    c_dir, py_dir = tmp_path / "c", tmp_path / "py"
    for d in (c_dir, py_dir):
        d.mkdir()
        (d / "medium.hkl").write_bytes(MEDIUM.read_bytes())
    args = ["-hkl", "medium.hkl", "-default_F", "7.5", "-cell", "100", "100", "100", "90", "90"]
    args += ["90", "-detpixels", "8", "-nonoise", "-nopgm", "-noprogress", "-floatfile", "f.bin"]
    run = subprocess.run([binary, *args], cwd=c_dir, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:]
    cfg = StructureFactorConfig(hkl_file=Path("medium.hkl"), default_F=7.5)
    table = load_structure_factors(cfg, py_dir)
    assert (py_dir / "Fdump.bin").read_bytes() == (c_dir / "Fdump.bin").read_bytes()
    stdout = run.stdout.splitlines()
    start = stdout.index(table.messages[0])
    assert tuple(stdout[start : start + len(table.messages)]) == table.messages
    assert "  15087 initialized hkls (all others =7.5)" in stdout


# ------------------------------------------------------------------- lookup vs golden traces


@pytest.mark.parametrize(
    ("case_id", "table_name", "interpolate"),
    [
        ("amat_hkl_nearest", "small", False),
        ("triclinic_misset", "medium", False),
        ("interpolate_explicit", "medium", True),
        ("interpolate_auto_N2", "medium", True),
    ],
)
def test_F_at_traced_pixel(case_id: str, table_name: str, interpolate: bool, request) -> None:
    table: StructureFactorTable = request.getfixturevalue(table_name)
    trace = case(case_id).trace_values()
    h, k, l = (_t(x) for x in trace["hkl_frac"])
    expected = trace["F_cell"][0]
    # the traced point's neighbourhood is inside the grid, so no fallback is involved; the
    # trace prints hkl with %.15g, so tricubic agrees to ~1e-13 relative
    if interpolate:
        assert table.tricubic_in_range(h, k, l).item()
        assert table.tricubic(h, k, l).item() == pytest.approx(expected, rel=1e-12)
        assert table.nearest(h, k, l).item() != pytest.approx(expected, rel=1e-6)
    got = table.lookup(h, k, l, interpolate=interpolate).item()
    assert got == pytest.approx(expected, rel=1e-12, abs=0)
    state = FallbackState()
    valid = torch.ones(1, dtype=torch.bool)
    if interpolate:
        values, state = table.lookup_with_fallback(h, k, l, valid, state)
        assert values.item() == pytest.approx(expected, rel=1e-12) and state.interpolating
    assert case(case_id).trace_values()["hkl_rounded"] == [
        float(torch.ceil(x - 0.5)) for x in (h, k, l)
    ]


# ---------------------------------------------------------------------------- tricubic arithmetic


def _cubic_table() -> tuple[StructureFactorTable, callable]:
    def poly(h, k, l):
        return 3 + 0.5 * h - 0.25 * k * l + 0.125 * h**3 - 0.01 * k**2 * h + 0.02 * l**3 * h * k

    idx = np.arange(-6, 7)
    h, k, l = np.meshgrid(idx, idx, idx, indexing="ij")
    data = HKLData(np.stack([h.ravel(), k.ravel(), l.ravel()], 1), poly(h, k, l).ravel(), "poly")
    return StructureFactorTable.from_hkl(data), poly


def test_tricubic_reproduces_tricubic_polynomials() -> None:
    table, poly = _cubic_table()
    g = torch.Generator().manual_seed(0)
    h, k, l = (torch.rand(500, generator=g, dtype=torch.float64) * 8 - 4 for _ in range(3))
    assert table.tricubic_in_range(h, k, l).all()
    torch.testing.assert_close(table.tricubic(h, k, l), poly(h, k, l), rtol=1e-12, atol=1e-12)
    # on grid points the interpolant equals the grid value
    ints = torch.arange(-4, 5, dtype=torch.float64)
    torch.testing.assert_close(
        table.tricubic(ints, ints, -ints), poly(ints, ints, -ints), rtol=1e-13, atol=1e-13
    )


def test_tricubic_float32_shapes_and_gradient(medium: StructureFactorTable) -> None:
    g = torch.Generator().manual_seed(1)
    hkl = torch.rand(3, 4, 5, generator=g, dtype=torch.float64) * 16 - 8
    ref = medium.tricubic(hkl[0], hkl[1], hkl[2])
    assert ref.shape == (4, 5) and ref.dtype == torch.float64
    f32 = medium.tricubic(*(x.float() for x in hkl))
    assert f32.dtype == torch.float32
    torch.testing.assert_close(f32.double(), ref, rtol=1e-4, atol=1e-3)
    # broadcasting: scalar k, l
    assert medium.lookup(hkl[0], _t(0.3), _t(-1.2), interpolate=True).shape == (4, 5)
    pts = tuple(x.reshape(-1)[:6].clone().requires_grad_(True) for x in hkl)
    assert torch.autograd.gradcheck(lambda h, k, l: medium.tricubic(h, k, l), pts)


def test_lookup_on_cuda_if_available(medium: StructureFactorTable) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    h = torch.linspace(-14, 14, 1001, dtype=torch.float64)
    cpu = medium.lookup(h, 0.7 * h, -0.3 * h, interpolate=True)
    gpu = medium.lookup(h.cuda(), 0.7 * h.cuda(), -0.3 * h.cuda(), interpolate=True)
    torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-14, atol=1e-12)


def test_nearest_rounding_is_ceil_x_minus_half(small: StructureFactorTable) -> None:
    def f(h, k, l):
        return small.grid[h + 4, k + 4, l + 3]

    # ceil(x - 0.5): halves round down (0.5 -> 0, -0.5 -> -1, 1.5 -> 1)
    cases = [
        ((0.5, 0.0, 0.0), (0, 0, 0)),
        ((-0.5, 0.0, 0.0), (-1, 0, 0)),
        ((1.5, 2.5, -2.5), (1, 2, -3)),
    ]
    for (h, k, l), idx in cases:
        assert small.nearest(_t(h), _t(k), _t(l)).item() == f(*idx)
    # out of range (l_max = 3, so 3.6 -> 4) and NaN give default_F
    assert small.nearest(_t(0.0), _t(0.0), _t(3.6)).item() == 0.0
    assert small.nearest(_t(float("nan")), _t(0.0), _t(0.0)).item() == 0.0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_nearest_matches_c_rule_at_the_edges(dtype: torch.dtype) -> None:
    """Every index from far below to far above the listed range, with NaN and infinities, on a
    table with a nonzero default_F: C's rule point by point (listed value inside, else default)."""
    default_F = 7.5
    table = StructureFactorTable.from_hkl(read_hkl(SMALL), default_F=default_F)
    listed = {tuple(int(i) for i in row[:3]): row[3] for row in _file_rows(SMALL)}
    axis = [-1e30, float("-inf"), float("nan"), float("inf"), 1e30,
            *np.arange(-5.5, 5.51, 0.5).tolist()]
    h, k, l = (g.reshape(-1) for g in torch.meshgrid(*[_t(*axis, dtype=dtype)] * 3,
                                                      indexing="ij"))
    got = table.nearest(h, k, l).tolist()

    def c_rule(x: float) -> float | None:
        return math.ceil(x - 0.5) if math.isfinite(x) else None

    lo, hi = table.bounds[::2], table.bounds[1::2]
    for i, point in enumerate(zip(h.tolist(), k.tolist(), l.tolist(), strict=True)):
        index = tuple(c_rule(x) for x in point)
        inside = all(j is not None and a <= j <= b for j, a, b in zip(index, lo, hi, strict=True))
        expected = listed.get(index, default_F) if inside else default_F
        assert got[i] == pytest.approx(expected, rel=1e-7), (point, index)


def test_range_test_matches_c_expression(medium: StructureFactorTable) -> None:
    # C: out if (h - h_min + 3) > h_range or h - 2 < h_min; here h_min = -12, h_range = 25
    h = _t(-10.0, -10.000001, 10.0, 10.000001, float("nan"))
    zero = torch.zeros_like(h)
    assert medium.tricubic_in_range(h, zero, zero).tolist() == [True, False, True, False, False]
    assert medium.tricubic_in_range(zero, h, zero).tolist() == [True, False, True, False, False]
    assert medium.tricubic_in_range(zero, zero, h).tolist() == [True, False, True, False, False]


# ---------------------------------------------------------------------------- fallback quirk


def _synthetic() -> StructureFactorTable:
    idx = np.arange(0, 10)
    h, k, l = np.meshgrid(idx, idx, idx, indexing="ij")
    f = (1.0 + h + 10.0 * k + 100.0 * l + 0.37 * h * k * l).ravel()
    return StructureFactorTable.from_hkl(
        HKLData(np.stack([h.ravel(), k.ravel(), l.ravel()], 1), f, "s")
    )


def test_fallback_switches_once_in_c_order() -> None:
    table = _synthetic()  # in range: 2 <= x <= 7
    h = _t(3.3, 4.4, 8.6, 5.2, 9.4, 6.1, 2.7)
    k = _t(3.1, 5.5, 3.0, 4.9, 3.0, 2.2, 6.6)
    l = _t(4.2, 2.5, 4.0, 3.3, 4.0, 5.5, 4.4)
    valid = torch.tensor([True, True, False, True, True, True, True])
    tri, near = table.tricubic(h, k, l), table.nearest(h, k, l)
    values, state = table.lookup_with_fallback(h, k, l, valid, FallbackState())
    # point 2 is out of range but not evaluated by C; point 4 is the first valid bad one
    assert not state.interpolating and state.event.index == 4 and state.consumed == 7
    torch.testing.assert_close(values[[0, 1, 3]], tri[[0, 1, 3]], rtol=0, atol=0)
    torch.testing.assert_close(values[4:], near[4:], rtol=0, atol=0)
    assert values[2] == near[2]
    assert (tri[5:] != near[5:]).all()  # later in-range points really lost the interpolation
    assert state.event.hkl == (9.4, 3.0, 4.0) and state.event.hkl0 == (9, 3, 4)
    assert state.event.c_text() == (
        "WARNING: out of range for three point interpolation: h,k,l,h0,k0,l0: "
        "9.4,3,4,9,3,4 \nWARNING: further warnings will not be printed! "
    )
    # the corrected mode treats every point on its own
    corrected = table.lookup(h, k, l, interpolate=True)
    ok = table.tricubic_in_range(h, k, l)
    assert ok.tolist() == [True, True, False, True, False, True, True]
    torch.testing.assert_close(corrected, torch.where(ok, tri, near), rtol=0, atol=0)


def test_fallback_state_across_chunks() -> None:
    table = _synthetic()
    g = torch.Generator().manual_seed(3)
    h, k, l = (torch.rand(64, generator=g, dtype=torch.float64) * 5 + 2 for _ in range(3))
    h[41] = 1.5  # the first bad point
    h[50] = 8.0
    valid = torch.rand(64, generator=g) > 0.2
    valid[41] = True
    whole, whole_state = table.lookup_with_fallback(h, k, l, valid, FallbackState())
    parts, state = [], FallbackState()
    for start in range(0, 64, 10):
        s = slice(start, start + 10)
        out, state = table.lookup_with_fallback(h[s], k[s], l[s], valid[s], state)
        parts.append(out)
    torch.testing.assert_close(torch.cat(parts), whole, rtol=0, atol=0)
    assert state.event == whole_state.event and state.event.index == 41
    assert state.consumed == 64 and not state.interpolating
    # once switched off it stays off, even for in-range points
    more, later = table.lookup_with_fallback(h[:5], k[:5], l[:5], valid[:5], state)
    torch.testing.assert_close(more, table.nearest(h[:5], k[:5], l[:5]), rtol=0, atol=0)
    assert later.consumed == 69 and later.event.index == 41


def test_fallback_reads_shaped_chunks_row_major() -> None:
    table = _synthetic()
    g = torch.Generator().manual_seed(5)
    h, k, l = (torch.rand(4, 6, generator=g, dtype=torch.float64) * 5 + 2 for _ in range(3))
    h[2, 3] = 8.5  # flat index 15
    valid = torch.ones(4, 6, dtype=torch.bool)
    shaped, state = table.lookup_with_fallback(h, k, l, valid, None)
    flat, flat_state = table.lookup_with_fallback(
        h.reshape(-1), k.reshape(-1), l.reshape(-1), None, FallbackState()
    )
    assert shaped.shape == (4, 6) and state.event.index == flat_state.event.index == 15
    torch.testing.assert_close(shaped.reshape(-1), flat, rtol=0, atol=0)


def test_fallback_without_bad_points_is_pure_tricubic(medium: StructureFactorTable) -> None:
    h = torch.linspace(-9.5, 9.5, 50, dtype=torch.float64)
    valid = torch.ones(50, dtype=torch.bool)
    values, state = medium.lookup_with_fallback(h, -h, 0.5 * h, valid, FallbackState())
    assert state.interpolating and state.event is None and state.consumed == 50
    torch.testing.assert_close(values, medium.tricubic(h, -h, 0.5 * h), rtol=0, atol=0)


# ---------------------------------------------------------------------------- MTZ (beyond C)


def test_mtz_p1_expansion(tmp_path: Path) -> None:
    import gemmi  # installed by the test extra
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = gemmi.SpaceGroup("P 1 21 1")
    mtz.set_cell_for_all(gemmi.UnitCell(40, 50, 60, 90, 100, 90))
    mtz.add_dataset("d")
    mtz.add_column("FP", "F")
    mtz.add_column("SIGFP", "Q")
    rows = np.array([[1, 2, 3, 10.0, 1.0], [2, 0, -1, 20.0, 1.0], [0, 1, 1, float("nan"), 1.0]])
    mtz.set_data(rows.astype(np.float32))
    mtz.write_to_file(str(tmp_path / "x.mtz"))
    data = read_mtz(tmp_path / "x.mtz")
    got = {
        tuple(int(v) for v in hkl): f for hkl, f in zip(data.indices, data.amplitudes, strict=True)
    }
    # P21 (b unique): (h,k,l) ~ (-h,k,-l); Friedel: (-h,-k,-l) and (h,-k,l)
    for hkl in [(1, 2, 3), (-1, 2, -3), (-1, -2, -3), (1, -2, 3)]:
        assert got[hkl] == 10.0
    for hkl in [(2, 0, -1), (-2, 0, 1)]:
        assert got[hkl] == 20.0
    assert len(got) == 6 and (0, 1, 1) not in got  # missing value dropped
    cfg = StructureFactorConfig(hkl_file=Path("x.mtz"))
    table = load_structure_factors(cfg, tmp_path)
    assert table.source == "mtz" and table.bounds == (-2, 2, -2, 2, -3, 3)
    assert table.nearest(_t(-1.1), _t(-2.0), _t(-3.2)).item() == 10.0
    with pytest.raises(InputFileError, match="no column 'FOO'"):
        read_mtz(tmp_path / "x.mtz", column="FOO")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-v"]))


_INTS = ["0", "7", "+2", "-0", "-13", "007", "٣"]
_TOKENS = [*_INTS, "1.0", "1.", ".5", "-2.5e3", "1E-2", "inf", "-Infinity", "NaN", "1_0", "0x10",
           "1e", "+", "x"]
_SPACES = [" ", "  ", "\t", "\xa0", "\x0b", "\u2003"]
_TOKEN = st.one_of(st.sampled_from(_INTS), st.sampled_from(_TOKENS))  # lines near validity


@settings(max_examples=800, deadline=None)
@given(st.lists(_TOKEN, min_size=4, max_size=4), st.lists(st.sampled_from(_SPACES), min_size=5,
                                                          max_size=5))
@example(["1", "2", "3"], [" "] * 5)
@example(["1", "2", "3", "4", "5"], [" "] * 5)
@example(["1_0", "2", "3", "4.0"], [" "] * 5)  # Python's int() takes underscores, C does not
@example(["1", "2.0", "3", "4"], ["\t"] * 5)  # an index written as a float stops C's loading
@example(["1", "2", "3", "0x10"], ["\xa0"] * 5)
@example(["-0", "٣", "007", "NaN"], ["\u2003"] * 5)
def test_hkl_line_fast_match_agrees_with_the_token_rules(tokens, spaces) -> None:
    """The one-regex path for valid lines accepts exactly what the token-by-token rules accept,
    with the same numbers (white space as str.split sees it)."""
    line = spaces[0] + "".join(t + s for t, s in zip(tokens, spaces[1:] + [" "], strict=False))

    def parse(fast: bool):
        saved = hkl_format._HKL_LINE
        if not fast:
            hkl_format._HKL_LINE = re.compile(r"(?!)")  # never matches: token rules only
        try:
            return hkl_format._parse_hkl_line(line, "t.hkl", 1, 0)
        except InputFileError as exc:
            return str(exc)
        finally:
            hkl_format._HKL_LINE = saved

    fast, slow = parse(True), parse(False)
    assert fast == slow or (isinstance(fast, tuple) and isinstance(slow, tuple)
                            and str(fast) == str(slow))  # NaN != NaN, same text
