"""nb-trace-diff and the scaling-chain report, on the golden traces and perturbed copies."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from golden_cases import DATA_DIR, all_cases, case

from nanobragg.compare import scaling
from nanobragg.compare.trace import Tol, diff_traces, parse_trace, read_trace
from nanobragg.compare.trace_cli import main

TRACED = [c for c in all_cases() if c.has("trace")]
MEMO_TRACE = case("memo_512").file("trace")


def as_py(text: str) -> str:
    """A C trace relabelled as the python side's."""
    return re.sub(r"^TRACE_C", "TRACE_PY", text, flags=re.M)


def write_py(tmp_path, text: str, name: str = "py.log"):
    path = tmp_path / name
    path.write_text(as_py(text))
    return path


def perturb(text: str, name: str, new_values: str) -> str:
    """Replace the values of the first ``TRACE_C: name`` line."""
    pattern = re.compile(rf"^(TRACE_C: {re.escape(name)} ).*$", flags=re.M)
    out, n = pattern.subn(lambda m: m.group(1) + new_values, text, count=1)
    assert n == 1, name
    return out


def test_every_golden_case_has_a_trace():
    assert len(TRACED) == 52


@pytest.mark.parametrize("gc", TRACED, ids=lambda c: c.id)
def test_golden_trace_against_itself_has_no_divergence(tmp_path, gc, capsys):
    py = write_py(tmp_path, gc.file("trace").read_text())
    assert main([str(gc.file("trace")), str(py)]) == 0
    out = capsys.readouterr().out
    assert "no divergence" in out and " 0 diverged" in out


def test_perturbed_hkl_is_the_first_divergence(tmp_path, capsys):
    text = MEMO_TRACE.read_text()
    bad = perturb(text, "hkl_frac", "-5.00242573977856 23.9871400007059 -19.9971998817766")
    bad = perturb(bad, "F_cell", "301")  # later in the pipeline
    py = write_py(tmp_path, bad)
    assert main([str(MEMO_TRACE), str(py)]) == 1
    out = capsys.readouterr().out
    assert "FIRST DIVERGENCE: hkl_frac" in out
    assert re.search(r"\| 2 \| F_cell \| 300 \| 301 \|", out)
    assert "76 quantities compared, 2 diverged" in out


def test_first_divergence_follows_pipeline_order(tmp_path, capsys):
    text = MEMO_TRACE.read_text()
    bad = perturb(text, "polar", "0.96")
    bad = perturb(bad, "pixel_pos_meters", "0.1 0.02525 -0.02106")
    assert main([str(MEMO_TRACE), str(write_py(tmp_path, bad))]) == 1
    assert "FIRST DIVERGENCE: pixel_pos_meters" in capsys.readouterr().out


def test_hkl_tolerance_boundary(tmp_path):
    text = MEMO_TRACE.read_text()
    c = parse_trace(text, "TRACE_C")
    within = perturb(text, "hkl_frac", "-5.00182573977856 23.9871400007059 -19.9971998817766")
    beyond = perturb(text, "hkl_frac", "-5.00202573977856 23.9871400007059 -19.9971998817766")
    r_in = diff_traces(c, parse_trace(as_py(within), "TRACE_PY"))
    r_out = diff_traces(c, parse_trace(as_py(beyond), "TRACE_PY"))
    assert not r_in.diverged  # |dh| = 4e-4 < 5e-4
    assert [r.label for r in r_out.diverged] == ["hkl_frac"]  # |dh| = 6e-4
    assert r_out.diverged[0].max_abs == pytest.approx(6e-4, rel=1e-6)


def test_tolerance_override_and_ignore(tmp_path, capsys):
    bad = perturb(MEMO_TRACE.read_text(), "F_latt_b", "9.7329")
    py = write_py(tmp_path, bad)
    assert main([str(MEMO_TRACE), str(py)]) == 1
    assert main([str(MEMO_TRACE), str(py), "--tol", "F_latt_b=1e-4"]) == 0
    assert main([str(MEMO_TRACE), str(py), "--ignore", "F_latt_*"]) == 0
    assert main([str(MEMO_TRACE), str(py), "--tol", "F_latt_*=1e-4,0"]) == 0
    assert main([str(MEMO_TRACE), str(py), "--tol", "F_latt_b"]) == 2
    capsys.readouterr()


def test_missing_quantity_and_strict(tmp_path, capsys):
    text = "\n".join(
        ln for ln in MEMO_TRACE.read_text().splitlines() if not ln.startswith("TRACE_C: cos_2theta")
    )
    py = write_py(tmp_path, text)
    assert main([str(MEMO_TRACE), str(py)]) == 0
    assert "1 present in one log only" in capsys.readouterr().out
    assert main([str(MEMO_TRACE), str(py), "--strict"]) == 1
    assert "missing_py" in capsys.readouterr().out


def test_unreadable_or_wrong_prefix_is_exit_2(tmp_path, capsys):
    assert main([str(MEMO_TRACE), str(tmp_path / "none.log")]) == 2
    assert "cannot read trace" in capsys.readouterr().err
    assert main([str(MEMO_TRACE), str(MEMO_TRACE)]) == 2  # C log given as the py side
    assert "has TRACE_C lines" in capsys.readouterr().err
    assert main([str(MEMO_TRACE), str(MEMO_TRACE), "--py-prefix", "TRACE_C"]) == 0


def test_parse_line_forms():
    text = "\n".join(
        [
            "TRACE_C:Rx=[1 0 0; 0 1 -0; 0 0 1]",
            "TRACE_C:beam_center_m=X:2.565e-05 Y:2.565e-05 pixel_mm:0.1",
            "TRACE_C:detector_convention=MOSFLM",
            "TRACE: free form 1 2 3",
            "TRACE_CONFIG: tracing pixel (spixel=4, fpixel=46)",
            "TRACE_C: hkl_frac -5 24 -20",
            "TRACE_C_PHI phi_tic=3 phi_deg=0.3 k_frac=1.5 F_latt=2",
            "TRACE_C_SOURCE2: F_cell 100",
            "TRACE_C: hkl_frac -5 24 -21",
        ]
    )
    t = parse_trace(text, "TRACE_C")
    got = {e.label: e.values for e in t.entries}
    assert got == {
        "Rx": [1.0, 0.0, 0.0, 0.0, 1.0, -0.0, 0.0, 0.0, 1.0],
        "beam_center_m": [2.565e-05, 2.565e-05, 0.1],
        "detector_convention": ["MOSFLM"],
        "hkl_frac": [-5.0, 24.0, -20.0],
        "PHI[3].phi_deg": [0.3],
        "PHI[3].k_frac": [1.5],
        "PHI[3].F_latt": [2.0],
        "SOURCE2:F_cell": [100.0],
        "hkl_frac@2": [-5.0, 24.0, -21.0],
    }
    assert t.pixel == (4, 46)
    assert t.last("hkl_frac").values == [-5.0, 24.0, -21.0]


def test_text_and_length_mismatches_diverge():
    c = parse_trace("TRACE_C:detector_convention=MOSFLM\nTRACE_C: v 1 2 3", "TRACE_C")
    py = parse_trace("TRACE_PY:detector_convention=XDS\nTRACE_PY: v 1 2", "TRACE_PY")
    rows = {r.label: r for r in diff_traces(c, py).rows}
    assert rows["detector_convention"].status == "DIVERGED"
    assert "text differs" in rows["detector_convention"].note
    assert rows["v"].status == "DIVERGED" and "3 values in C, 2 in py" in rows["v"].note


def test_vector_tolerance_is_relative_to_the_largest_component():
    c = parse_trace("TRACE_C: a 100 6.12e-15 0", "TRACE_C")
    ok = parse_trace("TRACE_PY: a 100 0 1e-12", "TRACE_PY")
    bad = parse_trace("TRACE_PY: a 100 0 1e-3", "TRACE_PY")
    assert not diff_traces(c, ok).diverged
    assert diff_traces(c, bad).diverged
    zero = parse_trace("TRACE_C: z 0", "TRACE_C")
    assert diff_traces(zero, parse_trace("TRACE_PY: z 1e-13", "TRACE_PY")).diverged == []
    assert diff_traces(zero, parse_trace("TRACE_PY: z 1e-9", "TRACE_PY")).diverged
    exact = diff_traces(
        parse_trace("TRACE_C: steps 4", "TRACE_C"),
        parse_trace("TRACE_PY: steps 4.0000001", "TRACE_PY"),
        generic=Tol(rtol=1e-3),
    )
    assert exact.diverged  # steps are compared exactly whatever --rtol says


def test_scaling_chain_of_memo_trace_is_self_consistent():
    c = read_trace(MEMO_TRACE)
    chain = scaling.scaling_chain(c, parse_trace(as_py(MEMO_TRACE.read_text()), "TRACE_PY"))
    rows = {r["factor"]: r for r in chain["factors"]}
    assert rows["F_cell"]["c"] == 300.0 and rows["steps"]["c"] == 1.0
    assert rows["polarization"]["c"] == 0.95123645557374
    # r_e^2 * fluence * F_cell^2 F_latt^2 / steps * capture * polar * omega = I_pixel_final
    assert chain["recomputed"]["c"]["ratio_to_traced"] == pytest.approx(1.0, abs=1e-12)
    assert (300.0 * -971.718055512498) ** 2 == pytest.approx(
        rows["I_before_scaling"]["c"], rel=1e-12
    )
    assert chain["first_differing_factor"] is None and chain["final_ratio_py_over_c"] == 1.0
    assert chain["pixel_slow_fast"] == [4, 46]


@pytest.mark.parametrize("gc", TRACED, ids=lambda c: c.id)
def test_scaling_chain_recomputes_every_golden_pixel(gc):
    chain = scaling.scaling_chain(
        read_trace(gc.file("trace")), parse_trace(as_py(gc.file("trace").read_text()), "TRACE_PY")
    )
    ratio = chain["recomputed"]["c"]["ratio_to_traced"]
    assert ratio == pytest.approx(1.0, rel=1e-9), gc.id


def test_scaling_chain_names_a_wrong_factor(tmp_path, capsys):
    bad = perturb(MEMO_TRACE.read_text(), "polar", "0.9607488201294774")  # x1.01
    bad = perturb(bad, "I_pixel_final", "69997.765490078")
    py = write_py(tmp_path, bad)
    out = tmp_path / "out"
    assert main([str(MEMO_TRACE), str(py), "--scaling-chain", "--outdir", str(out)]) == 1
    text = capsys.readouterr().out
    assert "First differing factor: polarization" in text
    chain = json.loads((out / "scaling_chain.json").read_text())
    rows = {r["factor"]: r for r in chain["factors"]}
    assert rows["polarization"]["ratio_py_over_c"] == pytest.approx(1.01, rel=1e-12)
    assert rows["polarization"]["status"] == "DIFFERS" and rows["omega"]["status"] == "ok"
    assert chain["final_ratio_py_over_c"] == pytest.approx(1.01, rel=1e-9)
    md = (out / "scaling_chain.md").read_text()
    assert "| polarization | 0.9512364556 | 0.9607488201 | 1.01 | DIFFERS |" in md
    diff = json.loads((out / "trace_diff.json").read_text())
    assert diff["schema"] == "nb-trace-diff/1" and diff["first_divergence"] == "polar"
    assert (out / "trace_diff.md").is_file()




def nanobragg_trace(tmp_path, gc) -> str:
    """stdout of ``python -m nanobragg <case args> -trace_pixel S F -dtype float64``."""
    (tmp_path / "data").symlink_to(DATA_DIR)
    slow, fast = gc.meta["trace_pixel"]
    proc = subprocess.run(
        [sys.executable, "-m", "nanobragg", *gc.args, "-trace_pixel", str(slow), str(fast),
         "-dtype", "float64"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "TRACE_PY" in proc.stdout, "nanobragg -trace_pixel printed no TRACE_PY lines"
    return proc.stdout


def test_nanobragg_trace_against_golden_one_case(tmp_path, capsys):
    gc = case("mosflm_default")
    (tmp_path / "py.log").write_text(nanobragg_trace(tmp_path, gc))
    code = main([str(gc.file("trace")), str(tmp_path / "py.log")])
    assert code == 0, capsys.readouterr().out


@pytest.mark.heavy
@pytest.mark.parametrize("gc", TRACED, ids=lambda c: c.id)
def test_nanobragg_trace_against_every_golden_trace(tmp_path, capsys, gc):
    (tmp_path / "py.log").write_text(nanobragg_trace(tmp_path, gc))
    code = main([str(gc.file("trace")), str(tmp_path / "py.log")])
    assert code == 0, capsys.readouterr().out
