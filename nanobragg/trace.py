"""Per-pixel trace lines (``TRACE_PY: name values``) in the order and units of C's TRACE_C.

The instrumented C program prints, for the traced pixel, one block per detector layer and
sub-pixel (values of source 0, phi step 0 and mosaic domain 0, plus one ``TRACE_C_PHI`` line per
phi step), then the scaling factors once. :func:`trace_lines` prints the same names from the
tensors the kernel recorded while rendering the pixel, so that ``nb-trace-diff`` can compare the
two logs line by line. Units follow C's values; C's two mislabelled names are kept for the diff
(``scattering_vec_A_inv`` is in m⁻¹, ``rot_*_star_A_inv`` are the unrotated set-up vectors).
:func:`printout_lines` gives C's ``-printout`` block of a pixel; :class:`RenderRecorder` asks the
kernel for the records of the chunks that hold a traced or printed pixel while a render runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from nanobragg.config import CrystalShape
from nanobragg.kernel import render_chunk
from nanobragg.lattice import sincg
from nanobragg.units import R_E_SQR


def _fmt(x) -> str:
    return f"{float(x):.15g}"


def _vec(v) -> str:
    return " ".join(_fmt(x) for x in v)


def trace_lines(sim, record: dict, row: int, prefix: str = "TRACE_PY") -> list[str]:
    """Trace lines of pixel ``row`` of the chunk recorded in ``record`` (see kernel)."""
    inp = record["inputs"]
    out: list[str] = []

    def put(name: str, value: str) -> None:
        out.append(f"{prefix}: {name} {value}")

    n_layers, n_sub = record["pos"].shape[1], record["pos"].shape[2]
    phi = sim.phi.angles()
    for t in range(n_layers):
        for sub in range(n_sub):
            _block(sim, record, row, t, sub, phi, put, out, prefix)
    omega_px, capture_px, polar_px = (f[row] for f in record["pixel_factors"])
    # With -oversample_*, C's variable holds the value of the last sub-pixel (and source).
    if inp.oversample_omega:
        omega_px = record["omega"][row, -1, -1]
    if inp.oversample_thick:
        capture_px = record["capture_fraction"][row, -1, -1]
    if inp.oversample_polar:
        polar_px = record["polar"][row, -1, -1, -1]
    total = float(record["total"][row]) + inp.water_background
    put("I_before_scaling", _fmt(total))
    put("r_e_meters", _fmt(math.sqrt(R_E_SQR)))
    put("r_e_sqr", _fmt(R_E_SQR))
    put("fluence_photons_per_m2", _fmt(inp.fluence))
    put("steps", str(inp.steps))
    put("oversample_thick", str(int(inp.oversample_thick)))
    put("oversample_polar", str(int(inp.oversample_polar)))
    put("oversample_omega", str(int(inp.oversample_omega)))
    put("capture_fraction", _fmt(capture_px))
    put("polar", _fmt(polar_px))
    put("omega_pixel", _fmt(omega_px))
    last_inc = inp.incident[-1]
    last_dir = record["diffracted"][row, -1, -1]
    put("cos_2theta", _fmt(torch.dot(last_inc.to(last_dir.dtype), last_dir)))
    value = record["pixels"][row]
    put("I_pixel_final", _fmt(value))
    put("floatimage_accumulated", _fmt(value.to(torch.float32)))
    return out


def _block(sim, record, row, t, sub, phi, put, out, prefix) -> None:
    inp = record["inputs"]
    geom = inp.geometry
    pos = record["pos"][row, t, sub]
    airpath = record["airpath"][row, t, sub]
    omega = record["omega"][row, t, sub] if inp.oversample_omega else record["omega"][row, 0, 0]
    close = float(geom.close_distance)
    put("pix0_vector_meters", _vec(geom.pix0))
    put("fdet_vec", _vec(geom.fdet))
    put("sdet_vec", _vec(geom.sdet))
    put("pixel_pos_meters", _vec(pos))
    put("R_distance_meters", _fmt(airpath))
    put("omega_pixel_sr", _fmt(omega))
    put("close_distance_meters", _fmt(close))
    put("obliquity_factor", _fmt(close / float(airpath)))
    put("diffracted_vec", _vec(record["diffracted"][row, t, sub]))
    put("incident_vec", _vec(inp.incident[0]))
    lam = float(inp.wavelengths[0])
    put("lambda_meters", _fmt(lam))
    put("lambda_angstroms", _fmt(lam * 1e10))
    put("scattering_vec_A_inv", _vec(record["scattering"][row, t, sub, 0]))
    if not bool(record["evaluated"][row, t, sub, 0]):
        return
    table = inp.orientations
    if record.get("first_sweep") == (row, t, sub, 0):
        table = inp.orientations_first
    for name, vec in zip("abc", table[0, 0], strict=True):
        put(f"rot_{name}_angstroms", _vec(vec * 1e10))
    crystal = sim.crystal
    for name, vec in zip("abc", (crystal.a_star, crystal.b_star, crystal.c_star), strict=True):
        put(f"rot_{name}_star_A_inv", _vec(vec))
    hkl = record["hkl"][row, t, sub, 0]  # [Phi, Mos, 3]
    h0 = torch.ceil(hkl[0, 0] - 0.5)
    put("hkl_frac", _vec(hkl[0, 0]))
    put("hkl_rounded", " ".join(str(int(x)) for x in h0))
    f_latt = record["f_latt"][row, t, sub, 0]
    square = crystal.shape is CrystalShape.SQUARE
    if square:
        for name, idx, n in (("a", 0, crystal.Na), ("b", 1, crystal.Nb), ("c", 2, crystal.Nc)):
            term = sincg(math.pi * hkl[0, 0, idx], n.to(hkl.dtype)) if float(n) > 1 else 1.0
            put(f"F_latt_{name}", _fmt(term))
        put("F_latt", _fmt(f_latt[0, 0]))
    phi_lines = []
    for tic in range(hkl.shape[0]):
        k = hkl[tic, 0, 1]
        fb = sincg(math.pi * k, crystal.Nb.to(k.dtype)) if float(crystal.Nb) > 1 else 1.0
        phi_lines.append(
            f"{prefix}_PHI phi_tic={tic} phi_deg={_fmt(math.degrees(float(phi[tic])))} "
            f"k_frac={_fmt(k)} F_latt_b={_fmt(fb)} F_latt={_fmt(f_latt[tic, 0])}"
        )
    if square:
        out.append(phi_lines[0])
    if float(f_latt[0, 0]) != 0.0 or inp.water_background != 0.0:
        put("F_cell", _fmt(record["f_cell"][row, t, sub, 0, 0, 0]))
    out.extend(phi_lines[1:] if square else [])


def printout_lines(sim, record: dict, row: int, slow: int, fast: int) -> list[str]:
    """C's ``-printout`` block for one pixel: values of the last term C evaluated for it.

    C prints its loop variables as they stand after the pixel's loops: the last layer, sub-pixel,
    source, phi step and mosaic domain (F_cell of the last term that was not skipped).
    """
    inp = record["inputs"]
    pos = record["pos"][row, -1, -1]
    x, y, z = (float(c) for c in pos)
    scattering = record["scattering"][row, -1, -1, -1]
    stol = 0.5 * float(torch.linalg.vector_norm(scattering))
    twotheta = math.atan2(math.sqrt(y * y + z * z), x)
    stol_geom = math.sin(twotheta / 2.0) / (float(sim.wavelength) * 1e10)
    hkl = record["hkl"][row, -1, -1, -1, -1, -1]
    h0 = torch.ceil(hkl - 0.5)
    f_latt = float(record["f_latt"][row, -1, -1, -1, -1, -1])
    f_cells = record["f_cell"][row].reshape(-1)
    live = (record["f_latt"][row].reshape(-1) != 0).nonzero()
    f_cell = float(f_cells[int(live[-1])] if len(live) else f_cells[-1])
    total = float(record["total"][row]) + inp.water_background
    omega, capture, polar = (float(f[row]) for f in record["pixel_factors"])
    cell = inp.orientations[-1, -1] * 1e10  # last phi step, last domain (rows a, b, c)
    lines = [
        f"{fast:4d} {slow:4d} : stol = {stol:g} or {stol_geom:g}",
        f"at {x:g} {y:g} {z:g}",
        "hkl= {:f} {:f} {:f}  hkl0= {:d} {:d} {:d}".format(*(float(v) for v in hkl),
                                                         *(int(v) for v in h0)),
        f" F_cell={f_cell:g}  F_latt={f_latt:g}   I = {total:g}",
        f"I/steps {total / inp.steps:15.10g}",
        f"polar   {polar:15.10g}",
        f"omega   {omega:15.10g}",
        f"capfrac {capture:15.10g}",
        f"pixel   {float(record['pixels'][row].to(torch.float32)):15.10g}",
        "real-space cell vectors (Angstrom):",
        f"     {'a':<10s}  {'b':<10s}  {'c':<10s}",
    ]
    lines += [f"{axis}: " + " ".join(f"{float(v[i]):11.8f}" for v in cell)
              for i, axis in enumerate("XYZ")]
    return lines


class RenderRecorder:
    """What a render records beside the image: the TRACE_PY lines of one pixel and C's
    ``-printout`` blocks (of every pixel, or of one), from the tensors the kernel records for
    the chunks that hold them. Without either it only renders (``active`` is False).

    Pixels are given as (slow, fast); ``slow``, ``fast`` [P] are the render's pixels in order.
    """

    def __init__(self, sim, slow: torch.Tensor, fast: torch.Tensor,
                 trace_pixel: tuple[int, int] | None = None,
                 printout: Callable[[str], None] | None = None,
                 printout_pixel: tuple[int, int] | None = None) -> None:
        self.sim = sim
        self.trace_at = _position(slow, fast, trace_pixel)
        self.printout, self.printout_pixel = printout, printout_pixel
        #: the traced pixel's lines once its chunk is rendered (none if it is not rendered)
        self.trace: list[str] = []

    @property
    def active(self) -> bool:
        return self.trace_at is not None or self.printout is not None

    def render_chunk(self, inp, start: int, slow: torch.Tensor, fast: torch.Tensor,
                     state) -> torch.Tensor:
        """The kernel's values of the chunk of pixels ``start`` .. ``start + len(slow)``,
        recording what this chunk holds of the trace and the printout."""
        rows = self._printout_rows(slow, fast)
        traced = self.trace_at is not None and start <= self.trace_at < start + len(slow)
        record = {"inputs": inp} if traced or rows else None
        values = render_chunk(inp, slow, fast, state, record)
        if traced:
            self.trace = trace_lines(self.sim, record, self.trace_at - start)
        for row in rows:
            for line in printout_lines(self.sim, record, row, int(slow[row]), int(fast[row])):
                self.printout(line)
        return values

    def _printout_rows(self, slow: torch.Tensor, fast: torch.Tensor) -> list[int]:
        if self.printout is None:
            return []
        pixel = self.printout_pixel
        if pixel is None:
            return list(range(len(slow)))
        return torch.nonzero((slow == pixel[0]) & (fast == pixel[1])).flatten().tolist()


def _position(slow: torch.Tensor, fast: torch.Tensor, pixel: tuple[int, int] | None) -> int | None:
    """Where (slow, fast) ``pixel`` comes in the render's order, None if not rendered."""
    if pixel is None:
        return None
    hit = torch.nonzero((slow == pixel[0]) & (fast == pixel[1]))
    return int(hit[0]) if len(hit) else None
