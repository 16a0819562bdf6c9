"""Scaling-chain report: the factors that make one pixel's intensity, C and py side by side.

nanoBragg's pixel value is (see reference §4)::

    I_pixel_final = r_e_sqr * fluence * I_before_scaling / steps
                    * capture_fraction * polar * omega
    I_before_scaling = sum over steps of F_cell^2 * F_latt^2
    F_latt = F_latt_a * F_latt_b * F_latt_c

Each factor is taken from the *last* occurrence in its trace (the last sub-pixel when a block is
printed per sub-pixel). The report also recomputes ``I_pixel_final`` from the factors on each
side, which tells whether a trace is self-consistent.
"""

from __future__ import annotations

import math

from nanobragg.compare.trace import GENERIC_RTOL, Tol, Trace, tolerance_for

# (trace name, label, meaning)
FACTORS: tuple[tuple[str, str, str], ...] = (
    ("F_cell", "F_cell", "structure factor of the nearest hkl"),
    ("F_latt_a", "F_latt_a", "lattice (shape) term along a"),
    ("F_latt_b", "F_latt_b", "lattice (shape) term along b"),
    ("F_latt_c", "F_latt_c", "lattice (shape) term along c"),
    ("F_latt", "F_latt", "F_latt_a * F_latt_b * F_latt_c"),
    ("I_before_scaling", "I_before_scaling", "sum of F_cell^2 F_latt^2 over all steps"),
    ("omega_pixel", "omega", "solid angle of the pixel (sr)"),
    ("polar", "polarization", "Kahn polarization factor"),
    ("capture_fraction", "capture_fraction", "detector absorption capture fraction"),
    ("r_e_sqr", "r_e^2", "classical electron radius squared (m^2)"),
    ("fluence_photons_per_m2", "fluence", "photons per m^2"),
    ("steps", "steps", "sources * mosaic * phi * oversample^2"),
    ("I_pixel_final", "I_pixel_final", "pixel value before float32 storage"),
    ("floatimage_accumulated", "floatimage", "value stored in the float image"),
)


def _scalar(trace: Trace, name: str) -> float | None:
    entry = trace.last(name)
    if entry is None or not entry.values or isinstance(entry.values[0], str):
        return None
    return float(entry.values[0])


# With -oversample_omega/-oversample_polar/-oversample_thick the factor is applied inside the
# step loop (already part of I_before_scaling), so the recomputation leaves it out.
INSIDE_LOOP_FLAGS = {
    "omega_pixel": "oversample_omega",
    "polar": "oversample_polar",
    "capture_fraction": "oversample_thick",
}


def recompute(values: dict[str, float | None]) -> float | None:
    """``I_pixel_final`` from the traced factors, or ``None`` if a factor is missing."""
    need = (
        "r_e_sqr",
        "fluence_photons_per_m2",
        "I_before_scaling",
        "steps",
        "capture_fraction",
        "polar",
        "omega_pixel",
    )
    if any(values.get(k) is None for k in need) or not values["steps"]:
        return None
    v = values
    result = v["r_e_sqr"] * v["fluence_photons_per_m2"] * v["I_before_scaling"] / v["steps"]
    for factor in ("capture_fraction", "polar", "omega_pixel"):
        if not values.get(INSIDE_LOOP_FLAGS[factor]):
            result *= v[factor]
    return result


def _ratio(c: float | None, py: float | None) -> float | None:
    if c is None or py is None:
        return None
    if c == 0:
        return 1.0 if py == 0 else None
    return py / c


def scaling_chain(
    c: Trace, py: Trace, overrides: list[tuple[str, Tol]] | None = None, generic: Tol | None = None
) -> dict:
    """JSON-ready scaling chain (schema ``nb-scaling-chain/1``)."""
    generic = generic or Tol(rtol=GENERIC_RTOL)
    names = [name for name, _, _ in FACTORS] + list(INSIDE_LOOP_FLAGS.values())
    vals = {side: {name: _scalar(t, name) for name in names} for side, t in (("c", c), ("py", py))}
    rows = []
    for name, label, meaning in FACTORS:
        cv, pv = vals["c"][name], vals["py"][name]
        tol = tolerance_for(name, overrides or [], generic)
        if cv is None or pv is None:
            status = "missing"
        else:
            scale = abs(cv)
            limit = tol.atol + tol.rtol * scale if scale else 1e-12
            status = "ok" if abs(pv - cv) <= limit else "DIFFERS"
        rows.append(
            {
                "factor": label,
                "trace_name": name,
                "meaning": meaning,
                "c": cv,
                "py": pv,
                "ratio_py_over_c": _ratio(cv, pv),
                "status": status,
            }
        )
    products = {}
    for side in ("c", "py"):
        prod = recompute(vals[side])
        final = vals[side]["I_pixel_final"]
        products[side] = {"recomputed_I_pixel_final": prod, "ratio_to_traced": _ratio(final, prod)}
    first = next((r["factor"] for r in rows if r["status"] == "DIFFERS"), None)
    return {
        "schema": "nb-scaling-chain/1",
        "c_log": c.path,
        "py_log": py.path,
        "pixel_slow_fast": list(c.pixel or py.pixel) if (c.pixel or py.pixel) else None,
        "factors": rows,
        "recomputed": products,
        "first_differing_factor": first,
        "final_ratio_py_over_c": _ratio(vals["c"]["I_pixel_final"], vals["py"]["I_pixel_final"]),
    }


def _f(x: float | None) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return f"{x:.10g}"


def markdown(chain: dict) -> str:
    pixel = chain["pixel_slow_fast"]
    lines = [
        "# Scaling chain",
        "",
        f"C: `{chain['c_log']}`  ",
        f"py: `{chain['py_log']}`  ",
        f"pixel (slow, fast): {tuple(pixel) if pixel else 'unknown'}",
        "",
        "I_pixel_final = r_e^2 * fluence * I_before_scaling / steps * capture_fraction * "
        "polarization * omega",
        "",
        "| factor | C | py | py/C | status | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for r in chain["factors"]:
        lines.append(
            f"| {r['factor']} | {_f(r['c'])} | {_f(r['py'])} | "
            f"{_f(r['ratio_py_over_c'])} | {r['status']} | {r['meaning']} |"
        )
    rc, rp = chain["recomputed"]["c"], chain["recomputed"]["py"]
    lines += [
        "",
        "| recomputed from the factors | C | py |",
        "|---|---|---|",
        f"| I_pixel_final | {_f(rc['recomputed_I_pixel_final'])} | "
        f"{_f(rp['recomputed_I_pixel_final'])} |",
        f"| ratio to traced I_pixel_final | {_f(rc['ratio_to_traced'])} | "
        f"{_f(rp['ratio_to_traced'])} |",
        "",
        f"Final py/C ratio: {_f(chain['final_ratio_py_over_c'])}. First differing factor: "
        f"{chain['first_differing_factor'] or 'none'}.",
        "",
    ]
    return "\n".join(lines)
