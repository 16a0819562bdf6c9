"""One term stage for every reduction: the reductions agree, float32 agrees with float64, and
float64 is C's float image to the last bit at any detector size.

* plain sums against C's running sum (``Simulator(force_running_sum=True)``) on every public
  golden case that both can render: float64 to 1e-12 relative per pixel, float32 to 2e-6 of the
  maximum;
* float32 against float64 to 1e-5 of the maximum on every public golden case and on a misset
  crystal with each option that used to take another path (water, per-term oversampling,
  traces); to 1e-4 in the sum and in every pixel on a large crystal (N in the thousands) with
  tricubic interpolation;
* a trace or a printout never changes the image;
* float64 has the bytes of C's float image on a 1024² detector with 40 terms per pixel and on
  the full Pilatus frame (heavy; digests in tests/c_reference; live against ``NB_C_BIN`` too).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from golden_cases import DATA_DIR, all_cases

from nanobragg.cli.args import parse_args
from nanobragg.simulator import Simulator

CASES = all_cases()
RUNNING_SUM_FLAGS = ("-oversample_thick", "-oversample_polar", "-oversample_omega")
BOTH_REDUCTIONS = [c for c in CASES if not any(f in c.args for f in RUNNING_SUM_FLAGS)]
DIGESTS = Path(__file__).resolve().parents[1] / "c_reference" / "float_digests.yaml"

MISSET = ("-cell 100 100 100 90 90 90 -default_F 300 -N 10 -lambda 1 -distance 100 "
          "-detpixels 96 -pixel 0.4 -misset 10 20 30").split()
MISSET_OPTIONS = {
    "plain": "",
    "water": "-water 1",
    "oversample_polar": "-oversample 2 -oversample_polar",
    "oversample_omega": "-oversample 2 -oversample_omega",
    "oversample_thick": "-oversample 2 -oversample_thick -detector_thick 100 "
                        "-detector_thicksteps 3",
    "interpolate": "-hkl data/medium_P1.hkl -interpolate -oversample 4",
    "round_xtal": "-round_xtal",
}


def render(args: list[str], dtype: torch.dtype, workdir: Path, **run) -> np.ndarray:
    """float64 numpy image of ``args`` (run in ``workdir`` with the golden data linked)."""
    data = workdir / "data"
    if not data.exists():
        data.symlink_to(DATA_DIR, target_is_directory=True)
    force = run.pop("force_running_sum", False)
    config = parse_args(args, cwd=workdir).simulation
    config.dtype = dtype
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        image = Simulator(config, cwd=workdir, force_running_sum=force).run(**run)
    finally:
        os.chdir(cwd)
    return image.detach().cpu().numpy().astype(np.float64)


def of_max(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| as a fraction of max |b|."""
    top = np.abs(b).max()
    return float(np.abs(a - b).max() / top) if top else float(np.abs(a).max())


@pytest.mark.parametrize("case", BOTH_REDUCTIONS, ids=[c.id for c in BOTH_REDUCTIONS])
def test_running_sum_equals_plain_sums(case, tmp_path):
    plain = render(case.args, torch.float64, tmp_path)
    running = render(case.args, torch.float64, tmp_path, force_running_sum=True)
    np.testing.assert_allclose(running, plain, rtol=1e-12, atol=0)
    plain32 = render(case.args, torch.float32, tmp_path)
    running32 = render(case.args, torch.float32, tmp_path, force_running_sum=True)
    assert of_max(running32, plain32) <= 2e-6


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_float32_matches_float64_on_golden_cases(case, tmp_path):
    wide = render(case.args, torch.float64, tmp_path)
    narrow = render(case.args, torch.float32, tmp_path)
    assert of_max(narrow, wide) <= 1e-5


@pytest.mark.parametrize("option", MISSET_OPTIONS, ids=list(MISSET_OPTIONS))
def test_float32_matches_float64_on_misset_crystal(option, tmp_path):
    args = MISSET + MISSET_OPTIONS[option].split()
    wide = render(args, torch.float64, tmp_path)
    narrow = render(args, torch.float32, tmp_path)
    assert of_max(narrow, wide) <= 1e-5
    traced = render(args, torch.float32, tmp_path, trace_pixel=(40, 50))
    assert of_max(traced, wide) <= 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_trace_and_printout_never_change_the_image(dtype, tmp_path):
    args = MISSET + "-water 1 -mosaic 0.5 -mosaic_dom 3".split()
    image = render(args, dtype, tmp_path)
    assert np.array_equal(render(args, dtype, tmp_path, trace_pixel=(40, 50)), image)
    lines: list[str] = []
    printed = render(args, dtype, tmp_path, printout=lines.append, printout_pixel=(40, 50))
    assert lines and np.array_equal(printed, image)


def large_crystal_args(half: int) -> list[str]:
    """The Pilatus golden command as a new user varies it: a 20 µm crystal (N ≈ 2500 cells per
    axis), tricubic interpolation, 4 mosaic domains, 2 φ steps, a (2·half)² ROI on spots."""
    case = next(c for c in CASES if c.id == "pilatus_roi")
    args = case.args
    i = args.index("-roi")
    roi = [str(1576 - half), str(1575 + half), str(1248 - half), str(1247 + half)]
    extra = "-xtalsize 0.02 -interpolate -mosaic 0.02 -mosaic_dom 4 -phisteps 2".split()
    return args[:i] + ["-roi", *roi] + args[i + 5:] + extra


def assert_large_crystal_float32(half: int, workdir: Path) -> None:
    args = large_crystal_args(half)
    wide = render(args, torch.float64, workdir)
    narrow = render(args, torch.float32, workdir)
    assert abs(narrow.sum() / wide.sum() - 1) <= 1e-4
    lit = wide != 0
    assert lit.sum() == (2 * half) ** 2
    worst = np.abs(narrow - wide)[lit] / np.abs(wide)[lit]
    assert worst.max() <= 1e-4, f"worst pixel {worst.max():.3g}"


def test_float32_matches_float64_on_large_crystal(tmp_path):
    assert_large_crystal_float32(32, tmp_path)


@pytest.mark.heavy
def test_float32_matches_float64_on_large_crystal_500(tmp_path):
    assert_large_crystal_float32(250, tmp_path)


def _digest_cases() -> list:
    cases = yaml.safe_load(DIGESTS.read_text())["cases"]
    return [pytest.param(c, id=c["id"], marks=[pytest.mark.heavy] if c["heavy"] else [])
            for c in cases]


@pytest.mark.parametrize("ref", _digest_cases())
def test_float64_is_c_float_image_on_large_detectors(ref, tmp_path):
    image = render(ref["args"], torch.float64, tmp_path).astype("<f4")
    assert image.shape == tuple(ref["shape"])
    assert float(image.max()) == ref["max"]
    assert hashlib.sha256(image.tobytes()).hexdigest() == ref["float_sha256"], (
        f"float image differs from C's (sum {image.astype(np.float64).sum()!r} against "
        f"{ref['sum_float64']!r}); run the live test with NB_C_BIN for the pixels")


@pytest.mark.heavy
@pytest.mark.live_c
@pytest.mark.parametrize("ref", _digest_cases())
def test_float64_is_c_float_image_on_large_detectors_live(ref, tmp_path):
    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        pytest.skip("NB_C_BIN is not set: no C nanoBragg binary for the live comparison")
    (tmp_path / "data").symlink_to(DATA_DIR, target_is_directory=True)
    # one thread: C's OpenMP build carries the phi = 0 orientation over from whatever pixel a
    # thread rendered before, so only a single thread is deterministic (docs/quirks.md)
    subprocess.run([c_bin, *ref["args"], "-floatfile", "float.bin", "-noprogress"], cwd=tmp_path,
                   check=True, capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    c_image = np.fromfile(tmp_path / "float.bin", dtype="<f4").reshape(ref["shape"])
    ours = render(ref["args"], torch.float64, tmp_path).astype(np.float32)
    differing = int((ours != c_image).sum())
    assert differing == 0, f"{differing} pixels differ from C's float image"


def test_sqrt_is_correctly_rounded_and_keeps_both_tangents():
    import math

    import torch.autograd.forward_ad as fwAD

    from nanobragg.geometry3d import sqrt

    x = torch.linspace(1e-3, 1.1e-2, 20001, dtype=torch.float64)
    assert sqrt(x).tolist() == [math.sqrt(v) for v in x.tolist()]
    point = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    sqrt(point).backward()
    assert float(point.grad) == pytest.approx(0.5 / math.sqrt(2.0), rel=1e-15)
    with fwAD.dual_level():
        dual = fwAD.make_dual(torch.tensor([2.0], dtype=torch.float64),
                              torch.ones(1, dtype=torch.float64))
        tangent = fwAD.unpack_dual(sqrt(dual)).tangent
    assert tangent is not None and float(tangent[0]) == pytest.approx(0.5 / math.sqrt(2.0))


def test_sin_cos_are_the_c_library_values_and_keep_the_gradient():
    import math

    from nanobragg.geometry3d import rotate_axis, sin_cos

    phi = torch.linspace(-7.0, 7.0, 40001, dtype=torch.float64)
    s, c = sin_cos(phi)
    assert s.tolist() == [math.sin(v) for v in phi.tolist()]
    assert c.tolist() == [math.cos(v) for v in phi.tolist()]
    angle = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    x_axis, z_axis = (torch.tensor(v, dtype=torch.float64) for v in ([1.0, 0, 0], [0, 0, 1.0]))
    rotate_axis(x_axis, z_axis, angle)[1].backward()  # y of x rotated about z: sin(angle)
    assert float(angle.grad) == pytest.approx(math.cos(0.3), rel=1e-15)


@pytest.mark.skipif(not __import__("nanobragg.miller").miller.compiled_available(),
                    reason="nanobragg._cindex is not built (optional extension)")
def test_compiled_miller_indices_equal_the_torch_reference():
    from nanobragg import miller

    generator = torch.Generator().manual_seed(3)
    vectors = torch.randn(50, 3, dtype=torch.float64, generator=generator) * 40
    st = torch.randn(3, 20011, dtype=torch.float64, generator=generator)
    assert torch.equal(miller.miller_index(vectors, st),
                       miller.miller_index(vectors, st, compiled=False))
    for cells in (10.0, 2564.0, 7.5):
        n = torch.tensor(cells, dtype=torch.float64)
        ours = miller.miller_split(vectors, st, n, torch.float32)
        reference = miller.miller_split(vectors, st, n, torch.float32, compiled=False)
        for x, y in zip(ours, reference, strict=True):
            assert torch.equal(x, y)


CUDA_CASES = [c for c in CASES if c.id in ("memo_512", "mosaic", "water", "interpolate_explicit",
                                           "oversample_omega", "pilatus_roi", "dmin")]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("case", CUDA_CASES, ids=[c.id for c in CUDA_CASES])
def test_cuda_matches_the_cpu_float64_image(case, tmp_path):
    """The same term stage on a GPU (torch path): float64 to 1e-12 relative of the maximum,
    float32 to 1e-5 of the maximum, against the CPU float64 image (C's to the last bit)."""
    cpu = render(case.args, torch.float64, tmp_path)
    for dtype, limit in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        args = [*case.args, "-device", "cuda"]
        assert of_max(render(args, dtype, tmp_path), cpu) <= limit, dtype
