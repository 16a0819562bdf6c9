"""The flag table: every nanoBragg option once, with its spellings, value kinds, effect and
usage text (``nanobragg -h`` is generated from it, :mod:`nanobragg.cli.usage`).

A new flag is one ``_flag(...)`` line in :func:`_build_table`; its effect is an applier of
:mod:`nanobragg.cli.appliers`, its unit conversion one of :mod:`nanobragg.units`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from nanobragg import units
from nanobragg.cli import cmatch
from nanobragg.cli.appliers import (
    Apply,
    apply_cell,
    apply_detector_abs,
    apply_dtype,
    apply_mat,
    apply_misset,
    apply_mtz,
    apply_n,
    apply_pivot,
    apply_printout_pixel,
    apply_quirks,
    apply_roi,
    apply_sourcefile,
    apply_stol,
    apply_trace,
    close_distance,
    const,
    convention,
    each,
    energy,
    nothing,
    path,
    set_,
    term_count,
    vector,
    wavelength,
)
from nanobragg.cli.options import (
    DEFAULT_FLOATFILE,
    DEFAULT_INTFILE,
    DEFAULT_NOISEFILE,
    DEFAULT_PGMFILE,
    DTYPE_ENV,
    ArgumentError,
)
from nanobragg.cli.values import INTEGER, NUMBER, TEXT, Kind, is_number, to_number
from nanobragg.config import Convention, CrystalShape, Interpolation, Pivot

Reader = Callable[["Flag", list[str], int], tuple[list[Any], int]]


@dataclass(frozen=True)
class Flag:
    """One command-line option: its spellings, values, effect and usage text."""

    names: tuple[str, ...]
    kinds: tuple[Kind, ...]
    apply: Apply
    help: str
    group: str
    metavar: str = ""
    unit: str = ""
    default: str = ""
    #: custom value reader for variable arity (``-cell``, ``-misset``, ``-detector_abs``)
    reader: Reader | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return self.names[0]


GROUPS = (
    "crystal",
    "structure factors",
    "detector",
    "conventions and vectors",
    "beam",
    "mosaicity and rotation",
    "sampling and absorption",
    "noise and seeds",
    "output files",
    "run control and debugging",
)

_TABLE: list[Flag] = []


def _flag(
    names: str,
    kinds: Sequence[Kind] | Kind | None,
    apply: Apply,
    help: str,
    group: str,
    metavar: str = "",
    unit: str = "",
    default: str = "",
    reader: Reader | None = None,
) -> None:
    if kinds is None:
        kinds = ()
    elif isinstance(kinds, Kind):
        kinds = (kinds,)
    _TABLE.append(
        Flag(tuple(names.split()), tuple(kinds), apply, help, group, metavar, unit, default, reader)
    )


# ------------------------------------------------------------------------------------------------
# Value readers (a flag's values, from the tokens after it)
# ------------------------------------------------------------------------------------------------


def garbled(flag: Flag, token: str, kind: Kind) -> ArgumentError:
    unit = f" ({flag.unit})" if flag.unit and kind is not TEXT else ""
    return ArgumentError(f"{flag.name}: expected {kind.what}{unit}, got {token!r}")


def missing(flag: Flag, argv: list[str], j: int) -> ArgumentError:
    got = f"got flag {argv[j]}" if j < len(argv) else "got end of arguments"
    usage = f"{flag.name} {flag.metavar}".strip()
    return ArgumentError(f"{flag.name}: missing value ({usage}), {got}")


def read_fixed(flag: Flag, argv: list[str], i: int) -> tuple[list[Any], int]:
    """One value per kind of the flag; a flag (not a number) where a value belongs is missing."""
    values = []
    for n, kind in enumerate(flag.kinds):
        j = i + 1 + n
        if j >= len(argv) or (argv[j] in FLAGS and not is_number(argv[j])):
            raise missing(flag, argv, j)
        try:
            values.append(kind.convert(argv[j]))
        except ValueError:
            raise garbled(flag, argv[j], kind) from None
    return values, i + 1 + len(flag.kinds)


def _read_cell(flag: Flag, argv: list[str], i: int) -> tuple[list[Any], int]:
    """1 to 6 numbers; stops at the first token that is not a number but starts with '-'."""
    values: list[float] = []
    j = i + 1
    while j < len(argv) and len(values) < 6:
        token = argv[j]
        if not is_number(token):
            if token.startswith("-") or token in FLAGS:
                break
            raise garbled(flag, token, NUMBER)
        values.append(to_number(token))
        j += 1
    if not values:
        raise missing(flag, argv, j)
    return values, j


def _read_misset(flag: Flag, argv: list[str], i: int) -> tuple[list[Any], int]:
    """``random`` or three angles."""
    if i + 1 < len(argv) and argv[i + 1].lower().startswith("rand"):
        return ["random"], i + 2
    return read_fixed(flag, argv, i)


def _read_detector_abs(flag: Flag, argv: list[str], i: int) -> tuple[list[Any], int]:
    if i + 1 < len(argv) and argv[i + 1].lower() in ("inf", "infinity", "+inf"):
        return [math.inf], i + 2
    return read_fixed(flag, argv, i)


# ------------------------------------------------------------------------------------------------
# The table (declarative: exempt from the function-length rule)
# ------------------------------------------------------------------------------------------------


def _build_table() -> None:
    C, SF, D, V, B, M, S, NS, OUT, R = GROUPS
    num, int_, text = NUMBER, INTEGER, TEXT
    xyz = (num, num, num)
    custom = "switches to the CUSTOM convention"

    # crystal
    _flag("-cell", (), apply_cell, "unit cell; missing b, c default to a, angles to 90",
          C, "a [b c alpha beta gamma]", "A, deg", "none (-cell or -mat required)",
          reader=_read_cell)
    _flag("-mat -matrix", text, apply_mat,
          "MOSFLM A matrix file (first 9 numbers: rows x,y,z of a* b* c*, in lambda/A units)",
          C, "FILE", "", "none")
    _flag("-misset", xyz, apply_misset,
          "rotate the crystal about x, then y, then z; 'random' for a random orientation",
          C, "RX RY RZ | random", "deg", "0 0 0", reader=_read_misset)
    _flag("-N", int_, apply_n, "unit cells along a, b and c", C, "N", "cells", "1")
    _flag("-Na", int_, set_("crystal.Na", conv=float), "unit cells along a", C, "N", "cells", "1")
    _flag("-Nb", int_, set_("crystal.Nb", conv=float), "unit cells along b", C, "N", "cells", "1")
    _flag("-Nc", int_, set_("crystal.Nc", conv=float), "unit cells along c", C, "N", "cells", "1")
    _flag("-xtalsize -xtal_size -samplesize -sample_size", num,
          set_("crystal.sample_x", "crystal.sample_y", "crystal.sample_z", conv=units.mm),
          "crystal size along a, b and c (sets Na, Nb, Nc)", C, "SIZE", "mm", "from -N")
    _flag("-xtal_thick -xtal_x -sample_thick -sample_x", num,
          set_("crystal.sample_x", conv=units.mm), "crystal size along a (sets Na)", C, "SIZE",
          "mm", "from -Na")
    _flag("-xtal_width -xtal_y -sample_width -sample_y -width", num,
          set_("crystal.sample_y", conv=units.mm),
          "crystal size along b (sets Nb; clipped to -beamsize)", C, "SIZE", "mm", "from -Nb")
    _flag("-xtal_height -xtal_heigh -xtal_z -sample_height -sample_heigh -sample_z -height -heigh",
          num, set_("crystal.sample_z", conv=units.mm),
          "crystal size along c (sets Nc; clipped to -beamsize)", C, "SIZE", "mm", "from -Nc")
    _flag("-square_xtal", None, const("crystal.shape", CrystalShape.SQUARE),
          "parallelepiped crystal: F_latt = product of sincg", C, default="on")
    _flag("-round_xtal", None, const("crystal.shape", CrystalShape.ROUND),
          "spherical crystal: F_latt = sinc3", C, default="off")
    _flag("-gauss_xtal", None, const("crystal.shape", CrystalShape.GAUSS),
          "Gaussian spot shape", C, default="off")
    _flag("-tophat_spots -binary_spots", None, const("crystal.shape", CrystalShape.TOPHAT),
          "top-hat spot shape", C, default="off")
    _flag("-fudge", num, set_("crystal.fudge"), "spot-size factor for round/gauss/tophat shapes",
          C, "F", "", "1")
    _flag("-density -sample_density -sample_den", num, nothing,
          "crystal density (parsed, no effect, as in C)", C, "RHO", "g/cm^3", "-")
    _flag("-MW -molecular_weight -molec", num, nothing,
          "molecular weight (parsed, no effect, as in C)", C, "MW", "g/mol", "-")

    # structure factors
    _flag("-hkl", text, set_("structure_factors.hkl_file", conv=path),
          "text file of 'h k l F' (P1); writes the -dump cache; a .mtz file is read with gemmi",
          SF, "FILE", "", "none")
    _flag("-mtz", text, apply_mtz, "read F from an MTZ file (gemmi, symmetry-expanded; beyond C)",
          SF, "FILE", "", "none")
    _flag("-mtz_column", text, set_("structure_factors.mtz_column"),
          "MTZ amplitude column, of type F or G (a phase or intensity column is refused; "
          "beyond C)",
          SF, "LABEL", "", "first F column")
    _flag("-default_F", num, set_("structure_factors.default_F"),
          "F of every reflection not in the -hkl file", SF, "F", "", "0")
    _flag("-dump", text, set_("structure_factors.dump_file", conv=path),
          "structure-factor cache: written with -hkl, read without it", SF, "FILE", "",
          "Fdump.bin")
    _flag("-interpolate", None, const("structure_factors.interpolation", Interpolation.TRICUBIC),
          "tricubic interpolation of F between reflections", SF,
          default="auto: on if any N <= 2")
    _flag("-nointerpolate", None,
          const("structure_factors.interpolation", Interpolation.NEAREST),
          "nearest-reflection F (no interpolation)", SF, default="auto")
    _flag("-stol", text, apply_stol, "amorphous F(sin(theta)/lambda) table (parsed, no effect)",
          SF, "FILE", "", "-")
    _flag("-4stol", text, apply_stol, "amorphous F(4 stol) table (parsed, no effect)",
          SF, "FILE", "", "-")
    _flag("-Q", text, apply_stol, "amorphous F(Q) table (parsed, no effect)", SF, "FILE", "", "-")
    _flag("-stolout", text, nothing, "stol table output (parsed, no effect)",
          SF, "FILE", "", "-")
    _flag("-water", num, set_("beam.water_size", conv=units.um_divided),
          "water droplet size for an amorphous background", SF, "SIZE", "um", "0")

    # detector
    beam_pivot = const("detector.pivot", Pivot.BEAM)
    sample_pivot = const("detector.pivot", Pivot.SAMPLE)
    _flag("-distance", num, each(set_("detector.distance", conv=units.mm), beam_pivot),
          "sample to detector distance along the beam (asks for the BEAM pivot)",
          D, "DIST", "mm", "100")
    _flag("-close_distance", num,
          each(set_("detector.close_distance", conv=close_distance), sample_pivot),
          "sample to detector-plane (perpendicular) distance (asks for the SAMPLE pivot)",
          D, "DIST", "mm", "from -distance")
    _flag("-detsize", num, set_("detector.detsize_f", "detector.detsize_s", conv=units.mm),
          "detector size, both directions", D, "SIZE", "mm", "102.4")
    _flag("-detsize_f", num, set_("detector.detsize_f", conv=units.mm), "detector size, fast axis",
          D, "SIZE", "mm", "102.4")
    _flag("-detsize_s", num, set_("detector.detsize_s", conv=units.mm), "detector size, slow axis",
          D, "SIZE", "mm", "102.4")
    _flag("-detpixels", int_, set_("detector.fpixels", "detector.spixels"),
          "pixel count, both directions (wins over -detsize)", D, "N", "pixels", "1024")
    _flag("-detpixels_f -detpixels_x", int_, set_("detector.fpixels"), "pixel count, fast axis",
          D, "N", "pixels", "1024")
    _flag("-detpixels_s -detpixels_y", int_, set_("detector.spixels"), "pixel count, slow axis",
          D, "N", "pixels", "1024")
    _flag("-pixel", num, set_("detector.pixel_size", conv=units.mm), "pixel size", D, "SIZE", "mm",
          "0.1")
    _flag("-Xbeam", num, each(set_("detector.beam_x", conv=units.mm), beam_pivot),
          "beam centre X in the convention's frame (asks for the BEAM pivot)",
          D, "X", "mm", "convention")
    _flag("-Ybeam", num, each(set_("detector.beam_y", conv=units.mm), beam_pivot),
          "beam centre Y in the convention's frame (asks for the BEAM pivot)",
          D, "Y", "mm", "convention")
    _flag("-Xclose", num, each(set_("detector.close_x", conv=units.mm), sample_pivot),
          "near-point X (asks for the SAMPLE pivot)", D, "X", "mm", "detsize/2")
    _flag("-Yclose", num, each(set_("detector.close_y", conv=units.mm), sample_pivot),
          "near-point Y (asks for the SAMPLE pivot)", D, "Y", "mm", "detsize/2")
    _flag("-ORGX", num, each(set_("detector.orgx"), sample_pivot),
          "XDS origin, fast axis (asks for the SAMPLE pivot)", D, "PX", "pixels", "detsize/2")
    _flag("-ORGY", num, each(set_("detector.orgy"), sample_pivot),
          "XDS origin, slow axis (asks for the SAMPLE pivot)", D, "PX", "pixels", "detsize/2")
    _flag("-pivot", text, apply_pivot,
          "what stays put when the detector rotates (honoured with CUSTOM only)",
          D, "beam|sample", "", "beam")
    _flag("-twotheta", num, each(set_("detector.twotheta", conv=units.deg), sample_pivot),
          "detector swing about the two-theta axis (asks for the SAMPLE pivot)",
          D, "ANGLE", "deg", "0")
    _flag("-detector_rotx", num, set_("detector.rotx", conv=units.deg), "detector rotation about x",
          D, "ANGLE", "deg", "0")
    _flag("-detector_roty", num, set_("detector.roty", conv=units.deg), "detector rotation about y",
          D, "ANGLE", "deg", "0")
    _flag("-detector_rotz", num, set_("detector.rotz", conv=units.deg), "detector rotation about z",
          D, "ANGLE", "deg", "0")
    _flag("-curved_det", None, const("detector.curved", True),
          "spherical detector: every pixel at the same distance", D, default="off")
    _flag("-point_pixel", None, const("detector.point_pixel", True),
          "solid angle 1/R^2 (no pixel area, no obliquity)", D, default="off")
    _flag("-roi", (int_, int_, int_, int_), apply_roi,
          "render only this inclusive pixel range (others stay 0)", D,
          "XMIN XMAX YMIN YMAX", "pixels", "whole detector")
    _flag("-img", text, nothing,
          "SMV image whose header sets size, pixel, distance, wavelength, beam centre, phi, osc",
          D, "FILE", "", "none")
    _flag("-mask", text, nothing,
          "SMV mask: header as -img (BEAM_CENTER_Y read as detsize-Y); 0 pixels are skipped",
          D, "FILE", "", "none")

    # conventions and vectors
    _flag("-mosflm", None, convention(Convention.MOSFLM, Pivot.BEAM),
          "MOSFLM axes and beam centre", V, default="on")
    _flag("-xds", None, convention(Convention.XDS, Pivot.SAMPLE), "XDS axes and origin", V,
          default="off")
    _flag("-adxv", None, convention(Convention.ADXV, Pivot.BEAM), "ADXV axes and beam centre",
          V, default="off")
    _flag("-denzo", None, convention(Convention.DENZO, Pivot.BEAM), "DENZO axes and beam centre",
          V, default="off")
    _flag("-dials", None, convention(Convention.DIALS, Pivot.BEAM), "DIALS axes and origin", V,
          default="off")
    for names, dotted, what, default in (
        ("-fdet_vector", "detector.fdet_vector", "fast detector axis", "0 0 1"),
        ("-sdet_vector", "detector.sdet_vector", "slow detector axis", "0 -1 0"),
        ("-odet_vector", "detector.odet_vector", "detector normal", "1 0 0"),
        ("-beam_vector", "beam.beam_vector", "beam direction", "1 0 0"),
        ("-polar_vector", "beam.polar_vector", "polarization (E-vector) direction", "0 0 1"),
        ("-spindle_axis", "crystal.spindle_axis", "phi rotation axis", "0 0 1"),
        ("-twotheta_axis", "detector.twotheta_axis", "two-theta rotation axis", "0 1 0"),
    ):
        _flag(names, xyz, vector(dotted), f"{what}; {custom}", V, "X Y Z", "unit vector",
              f"convention (CUSTOM: {default})")
    _flag("-pix0_vector -pix0_vector_mm", xyz, vector(None),
          f"first-pixel position: ignored as in C (pix0 is recomputed), but {custom}",
          V, "X Y Z", "m", "-")

    # beam
    _flag("-lambda -wave -wavelength", num, set_("beam.wavelength", conv=wavelength),
          "wavelength", B, "LAMBDA", "A", "1.0")
    _flag("-energy", num, set_("beam.wavelength", conv=energy),
          "photon energy (sets the wavelength to 12398.42/E A)", B, "E", "eV", "12398.42")
    _flag("-fluence", num, set_("beam.fluence"), "integrated fluence", B, "F", "photons/m^2",
          "1.25932015286227e29")
    _flag("-flux", num, set_("beam.flux"), "flux; if non-zero, fluence = flux*exposure/beamsize^2",
          B, "F", "photons/s", "0")
    _flag("-exposure", num, set_("beam.exposure"), "exposure time", B, "T", "s", "1")
    _flag("-beamsize", num, set_("beam.beamsize", conv=units.mm),
          "beam size (also clips the crystal)", B, "SIZE", "mm", "0.1")
    _flag("-dispersion", num, set_("beam.dispersion", conv=units.percent),
          "full spectral width", B, "PCT", "%", "0")
    _flag("-dispsteps", int_, set_("beam.dispsteps"), "wavelengths across -dispersion", B, "N",
          "", "auto (2 with -dispersion)")
    _flag("-divergence", num, set_("beam.hdivrange", "beam.vdivrange", conv=units.mrad),
          "horizontal and vertical divergence range", B, "ANGLE", "mrad", "0")
    _flag("-hdivrange", num, set_("beam.hdivrange", conv=units.mrad), "horizontal divergence range",
          B, "ANGLE", "mrad", "0")
    _flag("-vdivrange", num, set_("beam.vdivrange", conv=units.mrad), "vertical divergence range",
          B, "ANGLE", "mrad", "0")
    _flag("-hdivstep", num, set_("beam.hdivstep", conv=units.mrad), "horizontal divergence step",
          B, "ANGLE", "mrad", "auto")
    _flag("-vdivstep", num, set_("beam.vdivstep", conv=units.mrad), "vertical divergence step",
          B, "ANGLE", "mrad", "auto")
    _flag("-hdivsteps", int_, set_("beam.hdivsteps"), "horizontal divergence points", B, "N", "",
          "auto (2 with a range)")
    _flag("-vdivsteps", int_, set_("beam.vdivsteps"), "vertical divergence points", B, "N", "",
          "auto (2 with a range)")
    _flag("-divsteps", int_, set_("beam.hdivsteps", "beam.vdivsteps"),
          "horizontal and vertical divergence points", B, "N", "", "auto")
    _flag("-round_div", None, const("beam.round_div", True),
          "keep divergence points inside an ellipse", B, default="on")
    _flag("-square_div", None, const("beam.round_div", False),
          "keep the full divergence raster", B, default="off")
    _flag("-sourcefile", text, apply_sourcefile,
          "explicit sources, lines of 'X Y Z I lambda' (m; missing columns take defaults)",
          B, "FILE", "", "none")
    _flag("-polar", num, each(set_("beam.kahn_factor"), const("beam.nopolar", False)),
          "Kahn polarization factor", B, "K", "", "0 (unpolarized)")
    _flag("-nopolar", None, const("beam.nopolar", True), "no polarization factor at all", B,
          default="off")
    _flag("-coherent", None, nothing, "coherent sources (parsed, no effect, as in C)", B,
          default="off")

    # mosaicity and rotation
    _flag("-mosaic -mosaicity -mosaici -mosaic_spread -mosaic_spr", num,
          set_("crystal.mosaic_spread", conv=units.deg), "isotropic mosaic spread", M, "ANGLE",
          "deg", "0")
    _flag("-mosaic_domains -mosaic_dom", int_, set_("crystal.mosaic_domains"),
          "number of mosaic domains", M, "N", "", "1 (10 with a spread)")
    _flag("-phi", num, set_("crystal.phi0", conv=units.deg), "start of the spindle rotation", M,
          "ANGLE", "deg", "0")
    _flag("-osc", num, set_("crystal.osc", conv=units.deg), "oscillation range", M, "ANGLE", "deg",
          "auto (1 with -phisteps)")
    _flag("-phistep", num, set_("crystal.phistep", conv=units.deg), "phi step", M, "ANGLE", "deg",
          "auto")
    _flag("-phisteps", int_, set_("crystal.phisteps"), "phi steps across -osc", M, "N", "",
          "1 (2 with -osc)")

    # sampling and absorption
    _flag("-oversample", int_, set_("sampling.oversample"), "N x N sub-pixels per pixel", S, "N",
          "", "auto")
    _flag("-oversample_thick", None, const("sampling.oversample_thick", True),
          "sensor absorption per sub-pixel", S, default="off")
    _flag("-oversample_polar", None, const("sampling.oversample_polar", True),
          "polarization per sub-pixel", S, default="off")
    _flag("-oversample_omega", None, const("sampling.oversample_omega", True),
          "solid angle per sub-pixel", S, default="off")
    _flag("-dmin", num, set_("sampling.dmin", conv=units.angstrom_times),
          "skip scattering with resolution d below this", S, "D", "A", "0 (off)")
    _flag("-detector_abs -detector_absorb -detector_absorption", num, apply_detector_abs,
          "sensor attenuation length; inf or 0 = no absorption", S, "LEN|inf", "um",
          "thickness", reader=_read_detector_abs)
    _flag("-detector_thick", num, set_("detector.thickness", conv=units.um), "sensor thickness", S,
          "T", "um", "0")
    _flag("-detector_thicksteps -thicksteps", int_, set_("detector.thicksteps"),
          "sensor layers", S, "N", "", "auto (2 with a thickness)")

    # noise and seeds
    _flag("-seed", int_, set_("seed"), "noise seed (C uses -N internally)", NS, "N", "",
          "time of day")
    _flag("-mosaic_seed", int_, set_("crystal.mosaic_seed"), "mosaic domain seed", NS, "N", "",
          "12345678")
    _flag("-misset_seed", int_, set_("crystal.misset_seed"), "seed of -misset random", NS, "N", "",
          "the -seed value (C: time of day)")

    # output files
    _flag("-floatfile -floatimage", text, set_("out.floatfile"),
          "raw float32 photons/pixel (always written)", OUT, "FILE", "", DEFAULT_FLOATFILE)
    _flag("-intfile -intimage", text, set_("out.intfile"),
          "SMV uint16 image, float*scale + adc (always written)", OUT, "FILE", "", DEFAULT_INTFILE)
    _flag("-noisefile -noiseimage", text,
          each(set_("out.noisefile"), const("out.write_noise", True)),
          "SMV uint16 image with Poisson noise (+ adc)", OUT, "FILE", "", DEFAULT_NOISEFILE)
    _flag("-pgmfile -pgmimage", text, each(set_("out.pgmfile"), const("out.write_pgm", True)),
          "8-bit PGM preview", OUT, "FILE", "", DEFAULT_PGMFILE)
    _flag("-pngfile", text, set_("out.png_file"),
          "PNG preview with a colour bar in photons/pixel, on the PGM's scale (beyond C)", OUT,
          "FILE", "", "none")
    _flag("-nonoise", None, const("out.write_noise", False), "no noise image (no noise RNG)", OUT,
          default="noise on")
    _flag("-nopgm", None, const("out.write_pgm", False), "no PGM image", OUT, default="PGM on")
    _flag("-scale", num, set_("out.scale"), "int-image scale", OUT, "S", "", "55000/max_I")
    _flag("-pgmscale", num, each(set_("out.pgmscale"), const("out.write_pgm", True)),
          "PGM scale", OUT, "S", "", "250/(5*rmsd)")
    _flag("-adc", num, set_("out.adc"), "offset added to the int and noise images", OUT, "ADU",
          "", "40")
    _flag("-cbf", text, set_("out.cbf_file"), "also write the int image as CBF (beyond C)", OUT,
          "FILE", "", "none")
    _flag("-h5 -hdf5", text, set_("out.h5_file"),
          "also write the float image as HDF5 (beyond C)", OUT, "FILE", "", "none")

    # run control
    _flag("-printout", None, const("out.printout", True),
          "C's per-pixel debug lines (accepted, not printed: use -trace_pixel)", R,
          default="off")
    _flag("-printout_pixel", (int_, int_), apply_printout_pixel,
          "C's debug lines of one pixel (accepted, not printed: use -trace_pixel)", R,
          "FAST SLOW", "pixels", "-")
    _flag("-trace_pixel", (int_, int_), apply_trace, "TRACE_PY lines for one pixel (beyond C)", R,
          "SLOW FAST", "pixels", "-")
    _flag("-progress", None, const("out.progress", True),
          "progress bar on stderr after 2 s (C: 'NN% done' on stdout)", R,
          default="on")
    _flag("-noprogress", None, const("out.progress", False), "no progress bar", R,
          default="progress on")
    _flag("-max_terms", num, set_("out.max_terms", conv=term_count),
          "refuse a render of more terms (pixels x sub-pixels x layers x sources x phi steps "
          "x mosaic domains) than this, in under a second; 0 = no limit (beyond C)", R, "N",
          "terms", "$NB_MAX_TERMS or 1e11")
    _flag("-dtype", text, apply_dtype,
          f"floating-point precision (default from ${DTYPE_ENV}; beyond C)",
          R, "float32|float64", "", "float32")
    _flag("-device", text, set_("device"), "torch device (beyond C)", R, "cpu|cuda[:N]", "", "cpu")
    _flag(cmatch.STRICT_FLAG, None, nothing,
          "match flags exactly: refuse unknown flags and stray words instead of reading them as "
          "the C program does (also implied by -quirks corrected; beyond C)", R,
          default="C's substring matching")
    _flag("-quirks", text, apply_quirks,
          "'c': reproduce C's quirks bit for bit; 'corrected': fixed physics (beyond C)", R,
          "c|corrected", "", "c")


_build_table()
TABLE: tuple[Flag, ...] = tuple(_TABLE)
FLAGS: dict[str, Flag] = {name: flag for flag in TABLE for name in flag.names}
