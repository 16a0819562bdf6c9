"""The nanoBragg command line: one declarative flag table and a parser built on it.

Semantics follow the C program (``nanoBragg.c``, argument loop and header pre-pass):

* ``-mask`` and then ``-img`` are read first, from their SMV headers, whatever their position;
  every other flag is applied left to right, so later flags win.
* ``-distance``/``-Xbeam``/``-Ybeam`` ask for the BEAM pivot; ``-close_distance``,
  ``-twotheta``, ``-Xclose``, ``-Yclose``, ``-ORGX``, ``-ORGY`` for the SAMPLE pivot; vector
  flags switch to the CUSTOM convention; a convention flag resets both.
* Values are stored raw (converted to SI); rules that C applies after parsing (pixel counts
  from sizes, phi steps, divergence and dispersion steps, ...) are resolved by the engine.

Tokens are matched to flags as C matches them (:mod:`nanobragg.cli.cmatch`: substring tests,
so ``-mosaic_domains`` is ``-mosaic_dom``, ``-twotheta_axis`` also sets two-theta, tokens C
ignores are ignored), each surprise noted in :attr:`ParsedArgs.notices`; ``-strict_flags`` or
``-quirks corrected`` match exactly and refuse unknown flags and stray words. Deliberate
deviations (see ``docs/cli.md``): a missing value or a value that is not a number is an error (C
reads ``atof`` garbage as 0); an integer flag needs an integer.

The parts: value kinds (:mod:`nanobragg.cli.values`), the flag table (:mod:`nanobragg.cli.flags`),
what each flag does (:mod:`nanobragg.cli.appliers`), unit conversions (:mod:`nanobragg.units`)
and the results (:mod:`nanobragg.cli.options`). None of them imports torch, so that tools that
only read a command line (``nb-compare``) do not load it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nanobragg import units
from nanobragg.cli import cmatch
from nanobragg.cli.appliers import State, new_state, parse_dtype
from nanobragg.cli.flags import FLAGS, GROUPS, TABLE, Flag, read_fixed
from nanobragg.cli.options import (
    DEFAULT_ADC,
    DEFAULT_FLOATFILE,
    DEFAULT_INTFILE,
    DEFAULT_NOISEFILE,
    DEFAULT_PGMFILE,
    DTYPE_ENV,
    HELP_FLAGS,
    ArgumentError,
    OutputOptions,
    ParsedArgs,
)
from nanobragg.cli.values import is_number
from nanobragg.io.smv import SMVImage, read_smv_input

__all__ = [
    "DEFAULT_ADC", "DEFAULT_FLOATFILE", "DEFAULT_INTFILE", "DEFAULT_NOISEFILE", "DEFAULT_PGMFILE",
    "DTYPE_ENV", "FLAGS", "GROUPS", "HELP_FLAGS", "TABLE", "ArgumentError", "Flag",
    "OutputOptions", "ParsedArgs", "is_number", "parse_args", "parse_dtype", "read_fixed",
    "suggest",
]


def suggest(token: str) -> str | None:
    """The flag closest to ``token``, if any is close."""
    return cmatch.suggest(token, FLAGS)


def _unknown(token: str, previous: Flag | None) -> ArgumentError:
    hint = suggest(token) if token.startswith("-") or token.startswith("+") else None
    tail = f"; did you mean {hint}?" if hint else "; see nanobragg -h"
    if token.startswith("-"):
        return ArgumentError(f"unknown flag {token!r}{tail}")
    after = f" after {previous.name}" if previous else ""
    return ArgumentError(f"unexpected argument {token!r}{after} (flags start with '-'){tail}")


def _read_headers(st: State, argv: list[str], strict: bool) -> None:
    """C's pre-pass: the last ``-mask`` and the last ``-img`` name SMV files whose headers
    initialise the detector, the mask first, then the image."""
    names: dict[str, str] = {}
    for i, token in enumerate(argv[:-1]):
        for name in cmatch.header_flags(token, strict):
            if argv[i + 1] not in FLAGS:
                names[name] = argv[i + 1]
    if "-mask" in names:
        st.current = f"-mask {names['-mask']}"
        st.parsed.mask_file = names["-mask"]
        smv = read_smv_input(st.cwd / names["-mask"], names["-mask"])
        _apply_header(st, smv, mask=True)
        st.cfg.detector.mask = np.array(smv.data, dtype=np.uint16)
        st.parsed.origins["detector.mask"] = st.current
    if "-img" in names:
        st.current = f"-img {names['-img']}"
        st.parsed.img_file = names["-img"]
        _apply_header(st, read_smv_input(st.cwd / names["-img"], names["-img"]), mask=False)


def _apply_header(st: State, smv: SMVImage, mask: bool) -> None:
    det, beam, xtal = st.cfg.detector, st.cfg.beam, st.cfg.crystal
    det.spixels, det.fpixels = smv.shape
    value = smv.value("PIXEL_SIZE")
    if not math.isnan(value):
        det.pixel_size = units.mm(value)
    det.detsize_f = det.pixel_size * det.fpixels
    det.detsize_s = det.pixel_size * det.spixels
    simple = (
        ("DISTANCE", det, "distance", units.mm),
        ("CLOSE_DISTANCE", det, "close_distance", units.mm),
        ("WAVELENGTH", beam, "wavelength", units.angstrom),
        ("BEAM_CENTER_X", det, "beam_x", units.mm),
        ("ORGX", det, "orgx", float),
        ("ORGY", det, "orgy", float),
        ("PHI", xtal, "phi0", units.deg),
        ("OSC_RANGE", xtal, "osc", units.deg),
    )
    for key, obj, name, conv in simple:
        value = smv.value(key)
        if not math.isnan(value):
            setattr(obj, name, conv(value))
            section = {id(det): "detector", id(beam): "beam", id(xtal): "crystal"}[id(obj)]
            st.parsed.origins[f"{section}.{name}"] = f"{st.current} (header {key}={value:g})"
    value = smv.value("BEAM_CENTER_Y")
    if not math.isnan(value):
        det.beam_y = det.detsize_s - units.mm(value) if mask else units.mm(value)
    # TWOTHETA is read by C into a variable it never uses: no effect.


def parse_args(
    argv: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> ParsedArgs:
    """Parse a nanoBragg command line (without the program name) into configs.

    Relative input files (-mat, -sourcefile, -img, -mask) are read against ``cwd``; -hkl,
    -dump and the output names are kept as typed (the simulator and writer resolve them
    against the same ``cwd``). ``env`` (default ``os.environ``) supplies ``NB_PYTORCH_DTYPE``.

    Raises:
        ArgumentError: unknown flag, missing or garbled value.
        InputFileError: an input file read here is missing or malformed.
    """
    argv = [str(a) for a in argv]
    st = new_state(Path(cwd) if cwd is not None else Path.cwd())
    if any(token in HELP_FLAGS for token in argv):
        st.parsed.show_help = True
        return st.parsed
    env = os.environ if env is None else env
    if env.get(DTYPE_ENV):
        st.cfg.dtype = parse_dtype(env[DTYPE_ENV], f"${DTYPE_ENV}")
    strict = cmatch.wants_strict(argv)
    _read_headers(st, argv, strict)
    i, previous = 0, None
    while i < len(argv):
        if strict:
            flag, also = FLAGS.get(argv[i]), []
            if flag is None:
                raise _unknown(argv[i], previous)
        else:
            found = cmatch.resolve(argv, i, FLAGS)
            if found.notice:
                st.parsed.notices.append(found.notice)
            if found.flag is None:
                i += max(found.ignored, 1)
                continue
            flag, also = found.flag, found.also
        start = i
        values, i = (flag.reader or read_fixed)(flag, argv, i)
        st.current, st.flag = " ".join(argv[start:i]), flag.name
        flag.apply(st, values)
        for other in also:  # C's collisions: the other flag reads the same tokens with atof
            st.flag = other.name
            other.apply(st, cmatch.c_values(other, argv, start))
        previous = flag
    return st.parsed
