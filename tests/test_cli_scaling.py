"""Square-lattice F_latt and image-sum parity for the K3g3 memo command.

``test_f_latt_square_matches_c`` runs the C reference (``$NB_C_BIN``) and nanobragg on the memo
command and compares, at the memo pixel (slow, fast) = (4, 46), the lattice factor F_latt and
the image sum. It runs only with ``NB_RUN_PARALLEL=1`` and ``NB_C_BIN`` set, and skips with the
reason otherwise. ``test_f_latt_square_matches_golden`` is its twin against the stored C output
of the same command (``tests/golden/memo_512``) and always runs.

The C program prints F_latt only when built with tracing (``-trace_pixel``); for a plain build
|F_latt| is recovered from the C pixel value and the other scaling factors, which are the same
on both sides (see the scaling chain):
``I = r_e^2 * fluence * F_cell^2 * F_latt^2 / steps * capture * polar * omega``.
"""

from __future__ import annotations

import math
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from nanobragg.analysis.render import CaseInput, render_pixel
from nanobragg.compare.trace import Trace, parse_trace

GOLDEN = Path(__file__).resolve().parent / "golden" / "memo_512"
MEMO_ARGS = ("-cell 100 100 100 90 90 90 -default_F 300 -N 10 -lambda 1.0 -distance 100 "
             "-detpixels 512 -pixel 0.1 -oversample 1 -phisteps 1 -mosaic_dom 1").split()
PIXEL = (4, 46)
SHAPE = (512, 512)
#: relative tolerance of F_latt and of the pixel value, per dtype (float32: h is only good to
#: ~1e-6 absolute near h = -5, which moves F_latt by ~2e-4 relative at N = 10)
RTOL = {"float64": 1e-6, "float32": 1e-3}
SUM_RANGE = (0.99, 1.01)  # the memo's sum_ratio window
SUM_RTOL = {"float64": 1e-6, "float32": 1e-4}


@dataclass
class CSide:
    image: np.ndarray
    trace: Trace


def _factor(trace: Trace, name: str) -> float | None:
    entry = trace.last(name)
    if entry is None or not entry.values or isinstance(entry.values[0], str):
        return None
    return float(entry.values[0])


def _c_f_latt(c: CSide, py: Trace) -> tuple[float, str]:
    """C's |F_latt| at PIXEL: from TRACE_C when traced, else from the C pixel value."""
    traced = _factor(c.trace, "F_latt")
    if traced is not None:
        return abs(traced), "TRACE_C"
    names = ("r_e_sqr", "fluence_photons_per_m2", "F_cell", "steps", "capture_fraction",
             "polar", "omega_pixel")
    f = {n: _factor(py, n) for n in names}
    assert all(v is not None for v in f.values()), f"missing scaling factors in TRACE_PY: {f}"
    scale = (f["r_e_sqr"] * f["fluence_photons_per_m2"] * f["F_cell"] ** 2 / f["steps"]
             * f["capture_fraction"] * f["polar"] * f["omega_pixel"])
    return math.sqrt(float(c.image[PIXEL]) / scale), "C pixel value"


def _check_parity(c: CSide, case: CaseInput, dtype: str) -> None:
    render = render_pixel(case, PIXEL, dtype)
    py = parse_trace("\n".join(render.trace), "TRACE_PY")
    py_f_latt = _factor(py, "F_latt")
    assert py_f_latt is not None, "nanobragg printed no F_latt for the memo pixel"
    c_f_latt, source = _c_f_latt(c, py)
    sum_c, sum_py = float(c.image.astype("f8").sum()), float(render.image.sum())
    sum_ratio = sum_py / sum_c
    pixel_ratio = float(render.image[PIXEL]) / float(c.image[PIXEL])
    print(f"\n[{dtype}] F_latt py={py_f_latt:.12g} |C|={c_f_latt:.12g} ({source}) "
          f"pixel_ratio={pixel_ratio:.10f} sum_ratio={sum_ratio:.10f}")
    assert abs(py_f_latt) == pytest.approx(c_f_latt, rel=RTOL[dtype])
    assert pixel_ratio == pytest.approx(1.0, rel=RTOL[dtype])
    assert SUM_RANGE[0] <= sum_ratio <= SUM_RANGE[1]
    assert sum_ratio == pytest.approx(1.0, rel=SUM_RTOL[dtype])


def _live_c_binary() -> Path:
    if os.environ.get("NB_RUN_PARALLEL") != "1":
        pytest.skip("live C parity needs NB_RUN_PARALLEL=1 (see docs/development/"
                    "testing_strategy.md)")
    raw = os.environ.get("NB_C_BIN")
    if not raw:
        pytest.skip("live C parity needs NB_C_BIN (path of the C nanoBragg binary)")
    path = Path(raw)
    assert path.is_file() and os.access(path, os.X_OK), f"NB_C_BIN={raw} is not an executable"
    return path.resolve()


def _run_c(binary: Path, workdir: Path) -> CSide:
    args = [str(binary), *MEMO_ARGS, "-floatfile", "c_float.bin", "-trace_pixel", str(PIXEL[0]),
            str(PIXEL[1])]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, f"C nanoBragg failed (rc={proc.returncode}):\n{proc.stderr}"
    image = np.fromfile(workdir / "c_float.bin", dtype="<f4").reshape(SHAPE)
    return CSide(image, parse_trace(proc.stdout, "TRACE_C"))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_f_latt_square_matches_c(dtype: str, tmp_path: Path) -> None:
    binary = _live_c_binary()
    c = _run_c(binary, tmp_path)
    _check_parity(c, CaseInput(args=list(MEMO_ARGS), cwd=tmp_path), dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_f_latt_square_matches_golden(dtype: str) -> None:
    case = CaseInput.from_golden(GOLDEN)
    image = case.c_image()
    assert image is not None
    c = CSide(image, parse_trace((GOLDEN / "trace.log").read_text(), "TRACE_C"))
    _check_parity(c, case, dtype)


def test_golden_case_is_the_memo_command() -> None:
    """The golden twin is only a twin if the stored case ran the memo's command."""
    args = CaseInput.from_golden(GOLDEN).args
    assert args[: len(MEMO_ARGS)] == list(MEMO_ARGS)
