"""Small helpers for nanoBragg argument lists: image shape and output-file rewriting."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from nanobragg.compare.images import ImageError, parse_smv_header

# Flags whose value names an output file; nb-compare replaces them with its own names.
FLOAT_FLAGS = ("-floatfile", "-floatimage")
INT_FLAGS = ("-intfile", "-intimage")
# Flags whose (first) value names an input file; relative paths are made absolute.
INPUT_FILE_FLAGS = ("-hkl", "-mat", "-matrix", "-img", "-mask", "-sourcefile", "-stol", "-4stol",
                    "-Q")


def _float(token: str) -> float:
    try:
        return float(token)
    except ValueError:
        return 0.0  # atof() semantics: garbage reads as 0


def args_shape(args: Sequence[str], cwd: Path | None = None) -> tuple[int, int]:
    """``(slow, fast)`` pixel counts that nanoBragg derives from ``args``.

    Follows the C logic: ``-img``/``-mask`` headers first (``-img`` wins), then ``-detsize*``,
    ``-detpixels*`` and ``-pixel`` left to right; a pixel count fixes the size, otherwise
    ``n = ceil(detsize/pixel - 0.5)``.
    """
    cwd = cwd or Path.cwd()
    pixel = 0.1e-3
    size_f = size_s = 102.4e-3
    n_f = n_s = 0
    args = list(args)
    for flag in ("-mask", "-img"):
        if flag in args and args.index(flag) + 1 < len(args):
            path = Path(args[args.index(flag) + 1])
            header = parse_smv_header(path if path.is_absolute() else cwd / path)
            try:
                n_f, n_s = int(header["SIZE1"]), int(header["SIZE2"])
            except (KeyError, ValueError) as exc:
                raise ImageError(f"{path}: header lacks SIZE1/SIZE2") from exc
            if "PIXEL_SIZE" in header:
                pixel = _float(header["PIXEL_SIZE"]) / 1000.0
            size_f, size_s = pixel * n_f, pixel * n_s
    for i, tok in enumerate(args[:-1]):
        val = args[i + 1]
        if tok == "-detsize":
            size_f = size_s = _float(val) / 1000.0
        elif tok == "-detsize_f":
            size_f = _float(val) / 1000.0
        elif tok == "-detsize_s":
            size_s = _float(val) / 1000.0
        elif tok == "-detpixels":
            n_f = n_s = int(_float(val))
        elif tok in ("-detpixels_f", "-detpixels_x"):
            n_f = int(_float(val))
        elif tok in ("-detpixels_s", "-detpixels_y"):
            n_s = int(_float(val))
        elif tok == "-pixel":
            pixel = _float(val) / 1000.0
    if n_f:
        size_f = pixel * n_f
    if n_s:
        size_s = pixel * n_s
    return math.ceil(size_s / pixel - 0.5), math.ceil(size_f / pixel - 0.5)


def replace_flag(args: Sequence[str], names: Sequence[str], value: str) -> list[str]:
    """Drop every ``name VALUE`` pair for ``names`` and append ``names[0] value``."""
    out: list[str] = []
    skip = False
    for i, tok in enumerate(args):
        if skip:
            skip = False
            continue
        if tok in names and i + 1 < len(args):
            skip = True
            continue
        out.append(tok)
    return [*out, names[0], value]


def absolutize_inputs(args: Sequence[str], cwd: Path) -> list[str]:
    """Make relative input-file paths absolute (relative to ``cwd``) if they exist there."""
    out = list(args)
    for i, tok in enumerate(out[:-1]):
        if tok in INPUT_FILE_FLAGS:
            path = Path(out[i + 1])
            if not path.is_absolute() and (cwd / path).exists():
                out[i + 1] = str((cwd / path).resolve())
    return out


def roi_from_args(args: Sequence[str]) -> tuple[int, int, int, int] | None:
    """``-roi xmin xmax ymin ymax`` (fast min/max, slow min/max; inclusive), last one wins."""
    roi = None
    for i, tok in enumerate(args):
        if tok == "-roi" and i + 4 < len(args):
            roi = tuple(int(_float(v)) for v in args[i + 1 : i + 5])
    return roi  # type: ignore[return-value]
