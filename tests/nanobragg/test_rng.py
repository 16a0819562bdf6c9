"""ran1 / mosaic / random-misset parity with the C program.

Reference numbers not stored in the golden cases were dumped (as C ``%a`` hex floats) from a
private copy of the upstream C source with one added printf after each
``mosaic_rotation_umat`` call, built with ``gcc -O2 -ffp-contract=off``; that build reproduces
the golden ``mosaic`` float.bin and noise.img byte for byte.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re

import numpy as np
import pytest
from golden_cases import case as _golden_case

from nanobragg.noise import compiled_available
from nanobragg.rng import (
    IM,
    IY,
    NTAB,
    RNMX_F32,
    Ran1,
    mosaic_rotation_umat,
    mosaic_umats,
    ran1_kernel,
    random_misset,
    umat2misset,
)

#: One parsed GoldenCase per id (case.yaml is parsed once per test module).
case = functools.cache(_golden_case)

RTD = 180.0 * (1.0 / math.pi)

# C dump, golden case `mosaic` (-mosaic 0.8 -mosaic_dom 8 -mosaic_seed 777), domains 1..7
# (domain 0 is the identity), row-major umat[0..8].
MOSAIC_CASE_UMATS_HEX = """
0x1.fffd746564e02p-1 -0x1.7fa93fbacca4cp-8 -0x1.1817fecab9a87p-9 0x1.7ef057386f36cp-8
0x1.fffc0a0223197p-1 -0x1.500f285ffcc28p-8 0x1.1c051dca83c37p-9 0x1.4f3bff4d2ce8ep-8
0x1.fffdfa3a0f693p-1
0x1.fffe658ef48fep-1 0x1.4374227018be5p-8 0x1.53769b60eaf78p-12 -0x1.439b09f06666bp-8
0x1.fffa9d281fc44p-1 0x1.f240c2e2ab9f5p-8 -0x1.2c1a6d4b60ac6p-12 -0x1.f25a053a8db83p-8
0x1.fffc347a3c51ap-1
0x1.fff610e28454fp-1 -0x1.6a73c4bdf1c7cp-7 0x1.624c0804dd9b1p-8 0x1.6a7ec19f72798p-7
0x1.fff7fa032648ap-1 -0x1.bd87c4d483d2ep-13 -0x1.621f0df89bd83p-8 0x1.1d756e06dd531p-12
0x1.fffe14e6df64ep-1
0x1.fff62d6adae3bp-1 -0x1.b36502d2bd567p-9 0x1.821b986875b83p-7 0x1.bcf2a446f219dp-9
0x1.fffcbfc088a54p-1 -0x1.946c5b9b38bcfp-8 -0x1.816d2fdf09fc7p-7 0x1.9703af2f8c055p-8
0x1.fff4679b49d6cp-1
0x1.fff7a2d56b713p-1 -0x1.a25aa18dc035ap-10 -0x1.6e76afb92faabp-7 0x1.b89f57565607ep-10
0x1.fffc09f907df2p-1 0x1.f1723e9764cffp-8 0x1.6e0e3c5a5b79dp-7 -0x1.f2a57e552d0cfp-8
0x1.fff406e10946dp-1
0x1.fff5a936de9e4p-1 0x1.5897db4fba8dp-7 -0x1.c214a1b634df7p-8 -0x1.593e2a6d82718p-7
0x1.fff8309c50cabp-1 -0x1.7679ba450c8cap-9 0x1.c015b26a1e13fp-8 0x1.7fee16d0f23e6p-9
0x1.fffc5fbe32d1ap-1
0x1.fff7ae11d36bdp-1 0x1.4d03422e2ef8p-11 0x1.709dca083e4bbp-7 -0x1.5418a07dee0fcp-11
0x1.ffffe0e295715p-1 0x1.39e530d792bp-10 -0x1.7097525505721p-7 -0x1.3bc9cc0e3e0eep-10
0x1.fff79cc82d353p-1
"""

# C dump, golden case `misset_random` (-misset_seed 42 -misset random): umat and the misset
# angles (radians) from umat2misset.
MISSET_UMAT_HEX = """
0x1.1cb06c05fcfc5p-1 -0x1.270c44677b2b8p-3 0x1.a31cca9304855p-1 -0x1.a81735ee9b87p-7
0x1.f76baca30a78cp-1 0x1.74675fba59ec1p-3 -0x1.a980949638b91p-1 -0x1.c9882d5f330c6p-4
0x1.16f6cd739a873p-1
"""
MISSET_ANGLES_HEX = "-0x1.9e214194b6f3bp-3 0x1.f646d7c41c773p-1 -0x1.7d48e0cca22c8p-6"

# sha256 of the float64 [2000, 3, 3] arrays (domain 0 = identity) dumped from C for
# `-mosaic_dom 2000 -mosaic_seed 31337` at three spreads (degrees).  The 0.5 and 90 degree
# sets each contain one domain where rounding a double pow() to float differs from powf().
MOSAIC_2000_SHA256 = {
    0.5: "0377a7cc5d6d71020c4dbada31cf8975c894f78a8613e437b9ebb10382840497",
    5.0: "318f33e7c9e2e6158c322015df7464dc6051309930f992fba8f937c8bd8850b9",
    90.0: "106869eb92559c94aebbe29f663a0b652c999e44032fc878100fa1114da243bf",
}


def _hex_array(text: str) -> np.ndarray:
    return np.array([float.fromhex(tok) for tok in text.split()], dtype=np.float64)


def _case_flag(case_id: str, flag: str) -> str:
    args = case(case_id).args
    return args[len(args) - 1 - args[::-1].index(flag) + 1]


# ----------------------------------------------------------------------------------------------
# ran1
# ----------------------------------------------------------------------------------------------


def test_ran1_first_deviates_of_nr_reference_seed() -> None:
    # Independent re-derivation of NR ran1 for idum = -1 with plain integers.
    idum = 1
    table = [0] * NTAB
    for j in range(NTAB + 7, -1, -1):
        idum = (16807 * idum) % IM
        if j < NTAB:
            table[j] = idum
    iy = table[0]
    expected = []
    for _ in range(100):
        idum = (16807 * idum) % IM
        j = iy // (1 + (IM - 1) // NTAB)
        iy, table[j] = table[j], idum
        expected.append(float(np.float32(iy / IM)))
    stream = Ran1().stream(-1)
    assert [stream.uniform() for _ in range(100)] == expected


def test_seed_zero_and_one_give_the_same_stream() -> None:
    a = Ran1().stream_from_cli(0).uniforms(50)
    b = Ran1().stream_from_cli(1).uniforms(50)
    np.testing.assert_array_equal(a, b)


def test_negative_idum_reinitialises_shared_table() -> None:
    rng = Ran1()
    rng.stream(-99).uniforms(17)  # disturb the shared table
    after = rng.stream(-5).uniforms(20)
    fresh = Ran1().stream(-5).uniforms(20)
    np.testing.assert_array_equal(after, fresh)


def test_positive_idum_continues_shared_table() -> None:
    rng = Ran1()
    first = rng.stream(-7)
    first.uniforms(3)
    # A positive idum does not re-initialise: the second stream draws through the table the
    # first one left, so its output depends on that history.
    second = rng.stream(12345).uniforms(40)
    alone = Ran1().stream(12345).uniforms(40)  # table empty -> re-initialised with idum = 1
    assert not np.array_equal(second, alone)
    np.testing.assert_array_equal(alone, Ran1().stream(-1).uniforms(40))


def test_ran1_caps_at_rnmx() -> None:
    state = np.full(NTAB + 1, IM - 1, dtype=np.int64)
    idum = np.array([5], dtype=np.int64)
    assert ran1_kernel(idum, state) == RNMX_F32
    assert RNMX_F32 < 1.0
    assert state[IY] == IM - 1


# ----------------------------------------------------------------------------------------------
# Mosaic domains
# ----------------------------------------------------------------------------------------------


def test_mosaic_case_umats_bit_exact() -> None:
    spread = float(_case_flag("mosaic", "-mosaic")) / RTD
    domains = int(_case_flag("mosaic", "-mosaic_dom"))
    seed = int(_case_flag("mosaic", "-mosaic_seed"))
    umats = mosaic_umats(spread, domains, seed)
    assert umats.shape == (8, 3, 3) and umats.dtype == np.float64
    np.testing.assert_array_equal(umats[0], np.eye(3))
    expected = _hex_array(MOSAIC_CASE_UMATS_HEX).reshape(7, 3, 3)
    assert np.array_equal(umats[1:], expected), np.abs(umats[1:] - expected).max()


COMPILED = [False, pytest.param(True, marks=pytest.mark.skipif(
    not compiled_available(), reason="nanobragg._cnoise is not built (optional extension)"))]


@pytest.mark.parametrize("compiled", COMPILED, ids=["domain_by_domain", "all_at_once"])
@pytest.mark.parametrize("spread_deg", sorted(MOSAIC_2000_SHA256))
def test_mosaic_2000_domains_bit_exact(spread_deg: float, compiled: bool) -> None:
    umats = mosaic_umats(spread_deg / RTD, 2000, 31337, compiled=compiled)
    assert hashlib.sha256(umats.tobytes()).hexdigest() == MOSAIC_2000_SHA256[spread_deg]


@pytest.mark.skipif(not compiled_available(), reason="nanobragg._cnoise is not built")
@pytest.mark.parametrize("seed", [12345678, 1, 0, -5, 3_000_000_000])
def test_compiled_draws_continue_the_shared_table_as_ran1(seed: int) -> None:
    """Bulk draws and all-at-once domains leave the seed and the shared table as C's calls in
    turn do, so the next stream (e.g. the noise) continues identically."""
    states = []
    for compiled in (False, True):
        rng = Ran1()
        umats = mosaic_umats(0.02, 300, seed, rng, compiled=compiled)
        stream = rng.stream(-3)
        states.append((umats, stream.uniforms(200, compiled=compiled), stream.idum.copy(),
                       rng.state.copy()))
    for reference, compiled_value in zip(*states, strict=True):
        np.testing.assert_array_equal(reference, compiled_value)


def test_domain_zero_consumes_its_draws() -> None:
    umats = mosaic_umats(0.1, 3, 4242)
    stream = Ran1().stream_from_cli(4242)
    mosaic_rotation_umat(0.1, stream)  # domain 0, discarded
    np.testing.assert_array_equal(umats[1], mosaic_rotation_umat(0.1, stream))


def test_mosaic_umats_are_rotations_within_spread() -> None:
    spread = 0.05
    umats = mosaic_umats(spread, 200, 99)
    eye = np.broadcast_to(np.eye(3), umats.shape)
    np.testing.assert_allclose(umats @ np.swapaxes(umats, 1, 2), eye, atol=1e-14)
    np.testing.assert_allclose(np.linalg.det(umats), 1.0, atol=1e-14)
    angles = np.arccos(np.clip((np.trace(umats, axis1=1, axis2=2) - 1) / 2, -1, 1))
    assert angles.max() <= spread * (1 + 1e-6)
    assert angles[1:].min() > 0


# ----------------------------------------------------------------------------------------------
# -misset random
# ----------------------------------------------------------------------------------------------


def test_misset_random_matches_c_dump_and_stdout() -> None:
    seed = int(_case_flag("misset_random", "-misset_seed"))
    umat, angles = random_misset(seed)
    np.testing.assert_array_equal(umat.reshape(9), _hex_array(MISSET_UMAT_HEX))
    np.testing.assert_array_equal(np.array(angles), _hex_array(MISSET_ANGLES_HEX))
    stdout = case("misset_random").file("stdout").read_text()
    line = re.search(r"^random orientation misset angles: .*$", stdout, re.M).group(0)
    mine = "random orientation misset angles: {:f} {:f} {:f} deg".format(*(a * RTD for a in angles))
    assert mine == line


def _rot_zyx(rx: float, ry: float, rz: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = (
        math.cos(rx),
        math.sin(rx),
        math.cos(ry),
        math.sin(ry),
        math.cos(rz),
        math.sin(rz),
    )
    x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return z @ y @ x


@pytest.mark.parametrize("angles", [(0.1, -0.2, 0.3), (2.5, 1.2, -3.0), (-1.0, 0.0, 0.7)])
def test_umat2misset_inverts_zyx_rotation(angles: tuple[float, float, float]) -> None:
    np.testing.assert_allclose(umat2misset(_rot_zyx(*angles)), angles, atol=1e-12)


def test_umat2misset_gimbal_lock_and_scaled_rows() -> None:
    gimbal = _rot_zyx(0.4, -math.pi / 2, 0.0)
    gimbal[2] = [1.0, 0.0, 0.0]  # uzx^2 >= 1 after normalisation
    rotx, roty, rotz = umat2misset(gimbal)
    assert (rotx, roty) == (math.pi, math.pi / 2)
    assert rotz == math.atan2(gimbal[0, 1], -gimbal[1, 1])
    # Row scaling is normalised away.
    u = _rot_zyx(0.3, 0.2, 0.1) * np.array([[2.0], [0.5], [3.0]])
    np.testing.assert_allclose(umat2misset(u), (0.3, 0.2, 0.1), atol=1e-12)
    # An all-zero row is rebuilt from the cross product of the other two.
    v = _rot_zyx(0.3, 0.2, 0.1)
    v[2] = 0.0
    np.testing.assert_allclose(umat2misset(v), (0.3, 0.2, 0.1), atol=1e-12)
