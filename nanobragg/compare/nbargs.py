"""Small helpers for nanoBragg argument lists: image shape (through the nanobragg parser) and
output-file rewriting."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nanobragg.cli.args import parse_args
from nanobragg.compare.images import ImageError
from nanobragg.config import pixel_counts
from nanobragg.errors import NanoBraggError
from nanobragg.io.smv import c_atof

# Flags whose value names an output file; nb-compare replaces them with its own names.
FLOAT_FLAGS = ("-floatfile", "-floatimage")
INT_FLAGS = ("-intfile", "-intimage")
# Flags whose (first) value names an input file; relative paths are made absolute.
INPUT_FILE_FLAGS = ("-hkl", "-mat", "-matrix", "-img", "-mask", "-sourcefile", "-stol", "-4stol",
                    "-Q")


def args_shape(args: Sequence[str], cwd: Path | None = None) -> tuple[int, int]:
    """``(slow, fast)`` pixel counts that nanoBragg derives from ``args``: the nanobragg
    parser reads them (``-img``/``-mask`` headers first, then the flags left to right) and the
    detector's rule turns sizes into counts (:func:`nanobragg.config.pixel_counts`).

    Raises:
        ImageError: the arguments are refused by the parser (message as nanobragg gives it).
    """
    try:
        parsed = parse_args(list(args), cwd)
    except NanoBraggError as exc:
        raise ImageError(f"nanoBragg arguments: {exc}") from None
    fpixels, spixels, _, _ = pixel_counts(parsed.simulation.detector)
    return spixels, fpixels


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
            roi = tuple(int(c_atof(v)) for v in args[i + 1 : i + 5])
    return roi  # type: ignore[return-value]
