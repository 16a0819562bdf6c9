"""Usage text for ``nanobragg -h``, generated from the flag table in :mod:`nanobragg.cli.args`."""

from __future__ import annotations

import textwrap

from nanobragg.cli.args import GROUPS, TABLE, Flag

EXAMPLES = (
    (
        "the classic nanoBragg demo: 512x512 detector, cubic cell, every F = 300",
        "nanobragg -cell 100 100 100 90 90 90 -default_F 300 -N 10 -lambda 1.0 -distance 100 "
        "-detpixels 512 -pixel 0.1",
    ),
    (
        "structure factors and orientation from files, wavelength of the A matrix",
        "nanobragg -mat A.mat -hkl P1.hkl -lambda 6.2 -N 10 -distance 100 -detpixels 256 "
        "-seed 22 -dtype float64",
    ),
    (
        "mosaic crystal, 0.5 deg phi sweep, noise-free, custom file names",
        "nanobragg -cell 70 80 90 90 90 90 -default_F 100 -N 5 -mosaic 0.5 -mosaic_domains 10 "
        "-phi 10 -osc 0.5 -phisteps 5 -nonoise -floatfile sweep.bin -intfile sweep.img",
    ),
)

_INTRO = """\
usage: nanobragg -cell a b c alpha beta gamma | -mat FILE  [-hkl FILE | -default_F F]  [options]

Simulates one X-ray diffraction image of a small crystal on a pixel detector; a drop-in for the
C program nanoBragg (same flags, same output files). Writes floatimage.bin, intimage.img,
image.pgm and noiseimage.img in the current directory unless renamed or switched off.
Lengths in mm, wavelengths in A, angles in degrees, divergence in mrad, thicknesses in um.
Later flags win. Flags are matched as the C program matches them (by substring: -mosaic_domain
is -mosaic_domains, -dispstep is ignored), with one warning line for each such token;
-strict_flags matches exactly. Errors are one line on stderr with exit status 2."""

_NAME_WIDTH = 30
_TEXT_WIDTH = 100


def _describe(flag: Flag) -> str:
    text = flag.help
    details = []
    if flag.unit:
        details.append(flag.unit)
    if flag.default:
        details.append(f"default: {flag.default}")
    if details:
        text += f" [{'; '.join(details)}]"
    if len(flag.names) > 1:
        text += f" (also {', '.join(flag.names[1:])})"
    return text


def _entry(flag: Flag) -> list[str]:
    head = f"  {flag.name} {flag.metavar}".rstrip()
    body = textwrap.wrap(_describe(flag), _TEXT_WIDTH - _NAME_WIDTH)
    if len(head) >= _NAME_WIDTH:
        lines = [head]
    else:
        lines = [head.ljust(_NAME_WIDTH) + body.pop(0)]
    lines += [" " * _NAME_WIDTH + line for line in body]
    return lines


def _shell_lines(command: str) -> list[str]:
    """A command split before flags into lines continued with a backslash."""
    words = command.split(" ")
    lines: list[str] = []
    current = "  " + words[0]
    for word in words[1:]:
        if word.startswith("-") and len(current) + len(word) > _TEXT_WIDTH - 20:
            lines.append(current + " \\")
            current = "      " + word
        else:
            current += " " + word
    return [*lines, current]


def usage_text() -> str:
    """The full help: intro, three worked examples, then every flag grouped by topic."""
    lines = [_INTRO, "", "examples:"]
    for what, command in EXAMPLES:
        lines.append(f"  # {what}")
        lines += _shell_lines(command)
    for group in GROUPS:
        lines += ["", f"{group}:"]
        for flag in TABLE:
            if flag.group == group:
                lines += _entry(flag)
    lines += ["", "  -h, -help, --help".ljust(_NAME_WIDTH) + "this text", ""]
    return "\n".join(lines)
