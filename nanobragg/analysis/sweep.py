"""The scaling analysis: one pixel's scaling chain per dtype, against a C trace if there is one.

For each dtype the image is rendered with a trace of the pixel. The trace factors (F_cell,
F_latt and its three terms, omega, polarization, capture fraction, steps, r_e^2, fluence, the
final value) are compared with the C trace through the same scaling-chain code that
``nb-trace-diff`` uses. The outputs, under ``out``:

* ``trace_py_<dtype>.log`` and ``scaling_chain_<dtype>.json/.md`` per dtype;
* ``scaling_sweep.md``: one table, every factor for C and each dtype;
* ``summary.json``: flat keys for checks (``final_ratio_<dtype>``, ``pixel_ratio_<dtype>``,
  ``sum_ratio_<dtype>``, ``f_latt_ratio_<dtype>``, ``first_differing_factor_<dtype>``,
  ``dtype_rel_diff_pixel``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from nanobragg.analysis.render import CaseInput, PixelRender, render_pixel
from nanobragg.compare.scaling import FACTORS, markdown, scaling_chain
from nanobragg.compare.trace import Trace, parse_trace, read_trace


def _ratio(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0:
        return None
    return float(num) / float(den)


def _factor(chain: dict[str, Any], name: str, side: str) -> float | None:
    row = next((r for r in chain["factors"] if r["trace_name"] == name), None)
    return None if row is None else row[side]


def _py_trace(render: PixelRender, path: Path) -> Trace:
    text = "\n".join(render.trace) + "\n"
    path.write_text(text, encoding="utf-8")
    return parse_trace(text, "TRACE_PY", str(path))


def _dtype_metrics(case: CaseInput, render: PixelRender, chain: dict[str, Any],
                   pixel: tuple[int, int]) -> dict[str, Any]:
    d = render.dtype
    c_img = case.c_image()
    py_pixel = float(render.image[pixel])
    out: dict[str, Any] = {
        f"pixel_value_{d}": py_pixel,
        f"image_sum_{d}": float(render.image.sum()),
        f"final_ratio_{d}": chain.get("final_ratio_py_over_c"),
        f"f_latt_ratio_{d}": _ratio(_factor(chain, "F_latt", "py"), _factor(chain, "F_latt", "c")),
        f"first_differing_factor_{d}": chain.get("first_differing_factor"),
    }
    if c_img is not None:
        out[f"pixel_ratio_{d}"] = _ratio(py_pixel, float(c_img[pixel]))
        out[f"sum_ratio_{d}"] = _ratio(float(render.image.sum()), float(c_img.astype("f8").sum()))
    return out


def _sweep_table(chains: dict[str, dict[str, Any]], has_c: bool) -> list[str]:
    dtypes = list(chains)
    head = ["factor", *(["C"] if has_c else []), *dtypes,
            *([f"{d}/C" for d in dtypes] if has_c else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, label, _ in FACTORS:
        first = chains[dtypes[0]]
        cells = [label] + ([_fmt(_factor(first, name, "c"))] if has_c else [])
        cells += [_fmt(_factor(chains[d], name, "py")) for d in dtypes]
        if has_c:
            cells += [_fmt(_ratio(_factor(chains[d], name, "py"), _factor(chains[d], name, "c")))
                      for d in dtypes]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.10g}"


def _markdown(summary: dict[str, Any], chains: dict[str, dict[str, Any]], has_c: bool) -> str:
    slow, fast = summary["pixel_slow_fast"]
    lines = [
        "# Scaling chain, dtype sweep",
        "",
        f"Pixel (slow, fast) = ({slow}, {fast}); C trace: `{summary['c_trace'] or 'none'}`; "
        f"args: `{' '.join(summary['args'])}`",
        "",
        *_sweep_table(chains, has_c),
        "",
        "| check | " + " | ".join(summary["dtypes"]) + " |",
        "|---|" + "---|" * len(summary["dtypes"]),
    ]
    for key in ("pixel_value", "final_ratio", "pixel_ratio", "sum_ratio", "f_latt_ratio",
                "first_differing_factor"):
        vals = [summary.get(f"{key}_{d}") for d in summary["dtypes"]]
        lines.append(f"| {key} | " + " | ".join(
            v if isinstance(v, str) else _fmt(v) for v in vals) + " |")
    if summary.get("dtype_rel_diff_pixel") is not None:
        lines += ["", f"float32 vs float64 at the pixel: relative difference "
                      f"{summary['dtype_rel_diff_pixel']:.3e}."]
    return "\n".join(lines) + "\n"


def dtype_sweep(case: CaseInput, pixel: tuple[int, int], dtypes: list[str], out: Path,
                c_trace: Path | None = None) -> dict[str, Any]:
    """Run the sweep, write the files under ``out`` and return ``summary.json``'s content."""
    out.mkdir(parents=True, exist_ok=True)
    c_path = c_trace or case.c_trace_path()
    c = read_trace(c_path) if c_path else Trace(path="none", prefix="TRACE_C")
    summary: dict[str, Any] = {
        "schema": "nb-analysis-scaling/1", "pixel_slow_fast": list(pixel), "dtypes": dtypes,
        "args": case.args, "c_trace": str(c_path) if c_path else None,
        "golden": str(case.golden) if case.golden else None,
    }
    chains: dict[str, dict[str, Any]] = {}
    for d in dtypes:
        t0 = time.perf_counter()
        render = render_pixel(case, pixel, d)
        py = _py_trace(render, out / f"trace_py_{d}.log")
        chain = scaling_chain(c, py)
        chains[d] = chain
        (out / f"scaling_chain_{d}.json").write_text(json.dumps(chain, indent=2) + "\n")
        (out / f"scaling_chain_{d}.md").write_text(markdown(chain))
        summary.update(_dtype_metrics(case, render, chain, pixel))
        summary[f"wall_time_s_{d}"] = round(time.perf_counter() - t0, 3)
    if {"float32", "float64"} <= set(dtypes):
        f32, f64 = summary["pixel_value_float32"], summary["pixel_value_float64"]
        summary["dtype_rel_diff_pixel"] = abs(f32 - f64) / abs(f64) if f64 else None
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "scaling_sweep.md").write_text(_markdown(summary, chains, c_path is not None))
    return summary
