"""The set-up block the C program prints before rendering, with its wording and number formats.

Scripts and people read these lines (`N sources`, `N mosaic domains over ...`, the geometry
summary), so :func:`setup_lines` reproduces them, in C's order, from the resolved models.
Messages produced while resolving (warnings, structure-factor reading) arrive in ``notes``.
"""

from __future__ import annotations

from nanobragg.config import CrystalShape, Pivot
from nanobragg.crystal import crystal_size
from nanobragg.geometry3d import cross, value
from nanobragg.units import AVOGADRO, RTD

BANNER = "nanoBragg nanocrystal diffraction simulator - James Holton and Ken Frankel 5-17-17"
SHAPE_NAMES = {
    CrystalShape.ROUND: "ellipsoidal",
    CrystalShape.SQUARE: "parallelpiped",
    CrystalShape.GAUSS: "gaussian",
    CrystalShape.TOPHAT: "tophat-spot",
}
DENSITY = 1.2e6  # g/m³, C's rough estimate for "approximate MW"


def _g(x) -> str:
    return f"{value(x):g}"


def _vec(v) -> str:
    return " ".join(_g(c) for c in v)


def setup_lines(sim, notes: dict[str, list[str]]) -> list[str]:
    """Every line C prints from its banner to the ``NxN pixel oversample steps`` line."""
    out = ["WARNING: auto-generating odet_vector"] if sim.axes.odet_regenerated else []
    out += [BANNER, *notes.get("sampling", [])]
    out += _geometry_intro(sim)
    out += notes.get("interpolation", [])
    if sim.config.crystal.amatrix_name is not None:
        out.append(f"reading {sim.config.crystal.amatrix_name}")
    out += notes.get("misset", [])
    out += _cell_lines(sim)
    out += notes.get("oversample", [])
    out.append(f"approximate MW = {_approximate_mw(sim):g}")
    out += notes.get("structure_factors", [])
    if sim.config.structure_factors.stol_file is not None:
        out.append(f"reading {sim.config.structure_factors.stol_file}")
    out += _sampling_lines(sim)
    out += _summary_lines(sim)
    return out


def _geometry_intro(sim) -> list[str]:
    g = sim.detector
    pivot = ("pivoting detector around sample" if g.pivot is Pivot.SAMPLE
             else "pivoting detector around direct beam spot")
    beam = g.beam
    xds = [value(beam @ v) for v in (g.fdet, g.sdet, g.odet)]
    return [f"{g.convention.value} convention selected.", pivot,
            f"XDS incident beam: {xds[0]:g} {xds[1]:g} {xds[2]:g}"]


def _cell_lines(sim) -> list[str]:
    xtal = sim.crystal
    a, b, c, al, be, ga = xtal.cell
    sa, sb, sc, sal, sbe, sga = xtal.reciprocal_cell
    real = [v * 1e10 for v in (xtal.a0, xtal.b0, xtal.c0)]
    recip = [xtal.a_star, xtal.b_star, xtal.c_star]
    lines = [
        f"Unit Cell: {a:g} {b:g} {c:g} {al * RTD:g} {be * RTD:g} {ga * RTD:g}",
        f"Recp Cell: {sa:g} {sb:g} {sc:g} {sal * RTD:g} {sbe * RTD:g} {sga * RTD:g}",
        f"volume = {xtal.volume:g} A^3",
        "real-space cell vectors (Angstrom):",
        f"     {'a':<10s}  {'b':<10s}  {'c':<10s}",
    ]
    lines += [_row(axis, real, i) for i, axis in enumerate("XYZ")]
    lines += ["reciprocal-space cell vectors (Angstrom^-1):",
              f"     {'a_star':<10s}  {'b_star':<10s}  {'c_star':<10s}"]
    lines += [_row(axis, recip, i) for i, axis in enumerate("XYZ")]
    sizes = crystal_size(sim.crystal)
    lines.append(f"crystal is {sizes[0] * 1e6:g} x {sizes[1] * 1e6:g} x {sizes[2] * 1e6:g} microns")
    return lines


def _row(axis: str, vectors, i: int) -> str:
    return f"{axis}: " + " ".join(f"{value(v[i]):11.8f}" for v in vectors)


def _approximate_mw(sim) -> float:
    sx, sy, sz = crystal_size(sim.crystal)
    x = sim.crystal
    molecules = value(x.Na) * value(x.Nb) * value(x.Nc)
    return sx * sy * sz * DENSITY * AVOGADRO / molecules


def _sampling_lines(sim) -> list[str]:
    g, src = sim.detector, sim.sources
    lines = [f"thick{t} = {g.thickstep * t * 1e6:g} um" for t in range(g.thicksteps)]
    lines += [f"phi{i} = {value(p) * RTD:g}" for i, p in enumerate(sim.phi.angles())]
    if src.generated:
        lines += [f"divergence deviation: {h:g} {v:g}" for h, v in src.divergence_grid]
        lam0 = value(sim.wavelength)
        lines += [f"lambda{i} = {lam0 * (1.0 + src.dispstep * i - src.dispersion / 2.0):.15g}"
                  for i in range(src.dispsteps)]
    lines.append(f"  created a total of {len(src.table)} sources:")
    lines += [f"{x:g} {y:g} {z:g}   {i:g} {lam:g}" for x, y, z, i, lam in src.table]
    lines.append(f"  created a total of {sim.mosaic_domains} mosaic domains")
    return lines


def _summary_lines(sim) -> list[str]:
    cfg, g, r, src = sim.config, sim.detector, sim.report, sim.sources
    xtal, table = sim.crystal, sim.structure_factors
    lines = [
        f"  {table.hkls} initialized hkls (all others ={cfg.structure_factors.default_F:g})",
        f"  {SHAPE_NAMES[xtal.shape]} xtal: {value(xtal.Na):.0f}x{value(xtal.Nb):.0f}x"
        f"{value(xtal.Nc):.0f} cells",
        f"  wave={r.wavelength:g} meters +/- {src.dispersion * 100:g}% in {src.dispsteps} steps",
        "  polarization effect disabled" if cfg.beam.nopolar
        else f"  Kahn polarization factor: {cfg.beam.kahn_factor:f}",
    ]
    if g.curved:
        lines.append("  curved detector: all pixels same distance from origin")
    if g.point_pixel:
        lines.append("  pixel obliquity effect disabled")
    polar_normal = cross(g.beam, sim.axes.polar)
    x0, x1, y0, y1 = g.roi
    lines += [
        f"  incident fluence: {r.fluence:g} photons/m^2",
        f"  distance={_g(g.distance)} detsize={g.detsize_f:g}x{g.detsize_s:g}  "
        f"pixel={g.pixel_size:g} meters ({g.fpixels}x{g.spixels} pixels)",
        f"  sensor is {g.thickness:g} m thick in {g.thicksteps} layers with mu= {g.mu:g}",
        f"  Xbeam={_g(g.beam_x)} Ybeam={_g(g.beam_y)}",
        f"  Fbeam={_g(g.fbeam)} Sbeam={_g(g.sbeam)}",
        f"  Xclose={_g(g.close_x)} Yclose={_g(g.close_y)}",
        f"  Fclose={_g(g.fclose)} Sclose={_g(g.sclose)}",
        f"  DIRECTION_OF_DETECTOR_X-AXIS= {_vec(g.fdet)}",
        f"  DIRECTION_OF_DETECTOR_Y-AXIS= {_vec(g.sdet)}",
        f"  DIRECTION_OF_DETECTOR_Z-AXIS= {_vec(g.odet)}",
        f"  INCIDENT_BEAM_DIRECTION= {_vec(g.beam)}",
        f"  spindle ROTATION_AXIS= {_vec(sim.axes.spindle)}",
        f"  POLARIZATION_PLANE_NORMAL= {_vec(polar_normal)}",
        f"  dials origin= {_vec(g.dials_origin_mm)}",
        f"  roi: {x0} < x < {x1} && {y0} < y < {y1}",
        f"  hdivrange={src.hdivrange:g} hdivstep={src.hdivstep:g}  radians",
        f"  vdivrange={src.vdivrange:g} vdivstep={src.vdivstep:g}  radians",
        f"  {src.divergence_steps if src.generated else -1} divergence steps",
        f"  {len(src.table)} sources",
        f"  {sim.mosaic_domains} mosaic domains over mosaic spread of "
        f"{sim.mosaic_spread * RTD:g} degrees",
        f"  {r.phisteps} phi steps from {r.phi0 * RTD:g} to {(r.phi0 + r.osc) * RTD:g} degrees",
    ]
    extra = "".join(name for flag, name in (
        (cfg.sampling.oversample_thick, " +thick"), (cfg.sampling.oversample_polar, " +polar"),
        (cfg.sampling.oversample_omega, " +omega")) if flag)
    lines.append(f"  {r.oversample}x{r.oversample} pixel oversample steps{extra}")
    return lines


