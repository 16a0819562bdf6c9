"""How the C program matches command-line tokens to flags, as data, and what nanobragg does
with a token under that rule.

nanoBragg's argument loop tests every token that starts with ``-`` against each of its flags in
turn, mostly with ``strstr(token, "-flag")`` (a substring test), a few with an added length
test or ``strcmp``. Every test that passes acts, reading its values from the tokens that follow
without consuming them, unless it ends the iteration with ``continue``; a flag acts only when
enough tokens follow it (``argc > i+k``). Tokens that match nothing, and tokens that do not start
with ``-``, are ignored. Hence ``-dispstep 3`` is ignored, ``-mosaic_domains`` means
``-mosaic_dom``, ``-twotheta_axis X Y Z`` also sets two-theta to X, ``-misset_seed N`` followed by
three tokens also sets the misset angles, and a trailing ``-curved_det`` does nothing.

By default nanobragg gives a command line C's meaning (:func:`resolve`) and says in one notice
per token where that differs from an exact reading; with ``-strict_flags`` (or
``-quirks corrected``) tokens must spell a flag exactly (:func:`resolve_strict`). The table of
C's tests, :data:`C_LOOP`, is the only place the C matching rule is written down.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

STRICT_FLAG = "-strict_flags"


class FlagLike(Protocol):
    """What matching needs of a flag of :mod:`nanobragg.cli.args`."""

    names: tuple[str, ...]
    kinds: tuple[Any, ...]
    reader: Any

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class CTest:
    """One of C's token tests: ``strstr(token, pattern)``, optionally ``strlen(token) == n``,
    or ``strcmp(token, pattern) == 0``."""

    pattern: str
    length: int | None = None
    exact: bool = False

    def matches(self, token: str) -> bool:
        if self.exact:
            return token == self.pattern
        if self.length is not None and len(token) != self.length:
            return False
        return self.pattern in token


@dataclass(frozen=True)
class CRule:
    """One ``if`` of C's argument loop: its tests (any may pass), the nanobragg flag it stands
    for, how many tokens must follow for it to act, and whether it ends the iteration."""

    tests: tuple[CTest, ...]
    flag: str
    needs: int
    stops: bool = False

    def matched_pattern(self, token: str) -> str | None:
        for test in self.tests:
            if test.matches(token):
                return test.pattern
        return None


def _test(spec: str) -> CTest:
    if spec.startswith("="):
        return CTest(spec[1:], exact=True)
    pattern, _, length = spec.partition("#")
    return CTest(pattern, int(length) if length else None)


def _rules(spec: str) -> tuple[CRule, ...]:
    """Lines ``TEST[|TEST...] FLAG NEEDS [stop]``; ``=NAME`` is strcmp, ``NAME#N`` adds
    ``strlen == N``."""
    rules = []
    for line in spec.strip().splitlines():
        tests, flag, needs, *stop = line.split()
        rules.append(CRule(tuple(_test(t) for t in tests.split("|")), flag, int(needs),
                           stops=stop == ["stop"]))
    return tuple(rules)


#: C's argument loop (second pass), in C's order. ``-mask`` is acted on in C's first pass,
#: together with ``-img``; it is listed so that its spellings are known here too.
C_LOOP = _rules("""
-Na -Na 1 stop
-Nb -Nb 1 stop
-Nc -Nc 1 stop
=-N -N 1 stop
-cell -cell 1
-misset -misset 3
-samplesize|-sample_size -xtalsize 1
-sample_thick|-sample_x -xtal_thick 1
-sample_width|-sample_y|-width -xtal_width 1
-sample_heigh|-sample_z|-heigh -xtal_height 1
-xtalsize|-xtal_size -xtalsize 1
-xtal_thick|-xtal_x -xtal_thick 1
-xtal_width|-xtal_y|-width -xtal_width 1
-xtal_heigh|-xtal_z|-heigh -xtal_height 1
-density|-sample_den -density 1
=-MW|-molec -MW 1
-Xbeam -Xbeam 1
-Ybeam -Ybeam 1
-Xclose -Xclose 1
-Yclose -Yclose 1
-ORGX -ORGX 1
-ORGY -ORGY 1
-pivot -pivot 1
-mosflm -mosflm 0
-xds -xds 0
-adxv -adxv 0
-denzo -denzo 0
-dials -dials 0
-fdet_vector -fdet_vector 3
-sdet_vector -sdet_vector 3
-odet_vector -odet_vector 3
-beam_vector -beam_vector 3
-polar_vector -polar_vector 3
-spindle_axis -spindle_axis 3
-twotheta_axis -twotheta_axis 3
-pix0_vector -pix0_vector 3
-distance -distance 1
-close_distance -close_distance 1
-detector_abs -detector_abs 0
-detector_thick#15 -detector_thick 0
-detector_thicksteps -detector_thicksteps 0
-thicksteps -detector_thicksteps 0
-twotheta -twotheta 1
-detector_rotx -detector_rotx 1
-detector_roty -detector_roty 1
-detector_rotz -detector_rotz 1
-detsize#8 -detsize 1
-detsize_f -detsize_f 1
-detsize_s -detsize_s 1
-detpixels#10 -detpixels 1
-detpixels_f|-detpixels_x -detpixels_f 1
-detpixels_s|-detpixels_y -detpixels_s 1
-curved_det -curved_det 1
-pixel -pixel 1
-point_pixel -point_pixel 0
-polar#6 -polar 1
-nopolar -nopolar 0
-oversample_thick -oversample_thick 0 stop
-oversample_polar -oversample_polar 0 stop
-oversample_omega -oversample_omega 0 stop
-oversample -oversample 1
-roi -roi 4
-lambda|-wave -lambda 1
-energy -energy 1
-fluence -fluence 1
-flux -flux 1
-exposure -exposure 1
-beamsize -beamsize 1
-mosaic#7|-mosaici|-mosaic_spr -mosaic 1
-mosaic_dom -mosaic_domains 1
-dispersion -dispersion 1
-dispsteps -dispsteps 1
-divergence -divergence 1
-hdivrange -hdivrange 1
-vdivrange -vdivrange 1
-hdivstep#9 -hdivstep 1
-hdivsteps -hdivsteps 1
-vdivstep#9 -vdivstep 1
-vdivsteps -vdivsteps 1
-divsteps -divsteps 1
-round_div -round_div 0
-square_div -square_div 0
-adc -adc 1
-phi#4 -phi 1
-osc -osc 1
-phistep#8 -phistep 1
-phisteps -phisteps 1
-dmin -dmin 1
-mat -mat 1
-hkl -hkl 1
-default_F -default_F 1
-dump -dump 1
-img -img 1
-mask -mask 1
-stolout -stolout 1
-stol#5 -stol 1
-4stol#6 -4stol 1
-Q#2 -Q 1
-sourcefile -sourcefile 1
-floatfile|-floatimage -floatfile 1
-intfile|-intimage -intfile 1
-pgmfile|-pgmimage -pgmfile 1
-noisefile|-noiseimage -noisefile 1
-nonoise -nonoise 0
-nopgm -nopgm 0
-scale -scale 1
-pgmscale -pgmscale 1
-coherent -coherent 0
-printout -printout 0
-noprogress -noprogress 0
-progress -progress 0
-interpolate -interpolate 0
-nointerpolate -nointerpolate 0
-round_xtal -round_xtal 0
-square_xtal -square_xtal 0
-gauss_xtal -gauss_xtal 0
-binary_spots|-tophat_spots -tophat_spots 0
-fudge -fudge 1
-printout_pixel -printout_pixel 2
-seed -seed 1
-mosaic_seed -mosaic_seed 1
-misset_seed -misset_seed 1
-water -water 1
""")

#: collisions C means on purpose (the first flag already does what the second one does)
INTENDED = {("-printout_pixel", "-printout")}


def c_rules(token: str, following: int) -> list[tuple[CRule, str]]:
    """The rules of C's loop that act on ``token`` with ``following`` tokens after it, in C's
    order, each with the pattern that matched."""
    acting = []
    for rule in C_LOOP:
        pattern = rule.matched_pattern(token)
        if pattern is None or following < rule.needs:
            continue
        acting.append((rule, pattern))
        if rule.stops:
            break
    return acting


#: C's first pass, which reads these SMV headers before every other flag
C_FIRST_PASS = _rules("""
-img -img 1
-mask -mask 1
""")


def header_flags(token: str, strict: bool) -> list[str]:
    """The header flags (``-img``, ``-mask``) that ``token`` names in C's first pass."""
    if strict:
        return [rule.flag for rule in C_FIRST_PASS if rule.flag == token]
    return [rule.flag for rule in C_FIRST_PASS if rule.matched_pattern(token)]


def c_known(token: str) -> bool:
    """Whether some test of C's loop matches ``token`` (however many tokens follow it)."""
    return any(rule.matched_pattern(token) for rule in C_LOOP)


# ------------------------------------------------------------------------------------------------
# C's atoi (atof: nanobragg.io.smv.c_atof), for the values a colliding flag reads
# ------------------------------------------------------------------------------------------------

_ATOI = re.compile(r"\s*[+-]?\d+")


def c_atoi(token: str) -> int:
    found = _ATOI.match(token)
    return int(found.group()) if found else 0


# ------------------------------------------------------------------------------------------------
# Resolution of one token
# ------------------------------------------------------------------------------------------------


@dataclass
class Resolution:
    """What nanobragg does with the token at ``argv[i]``.

    ``flag`` is applied with values read strictly by its reader (None: the token, and the
    ``ignored`` tokens after it, are skipped); each flag of ``also`` is applied afterwards with
    the values C reads for it (``atof``/``atoi`` of the tokens that follow, nothing consumed).
    """

    flag: FlagLike | None
    also: list[FlagLike] = field(default_factory=list)
    ignored: int = 0
    notice: str | None = None


def wants_strict(argv: Sequence[str]) -> bool:
    """``-strict_flags`` anywhere, or ``-quirks corrected``: exact matching."""
    pairs = zip(argv, argv[1:], strict=False)
    return STRICT_FLAG in argv or any(a == "-quirks" and b == "corrected" for a, b in pairs)


def suggest(token: str, flags: Mapping[str, FlagLike]) -> str | None:
    """The flag closest to ``token``, if any is close."""
    lowered = {name.lower(): name for name in flags}
    key = "-" + token.lower().lstrip("-")
    if key in lowered:
        return lowered[key]
    close = difflib.get_close_matches(key, list(lowered), n=1, cutoff=0.6)
    return lowered[close[0]] if close else None


def resolve(argv: Sequence[str], i: int, flags: Mapping[str, FlagLike]) -> Resolution:
    """The C program's reading of ``argv[i]`` (see the module docstring)."""
    token, following = argv[i], len(argv) - i - 1
    if _value_like(token) or (token not in flags and not c_known(token)):
        return _ignored(argv, i, flags)
    acting = c_rules(token, following)
    if token in flags:
        flag = flags[token]
        if not _takes_values(flag) and c_known(token) and not acting:
            return Resolution(None, notice=f"ignored {token} as the last argument, as the C "
                              "program does (it acts only when another token follows it); "
                              "put it before another flag")
    else:
        flag = flags[max(acting, key=lambda rp: len(rp[1]))[0].flag] if acting else None
        if flag is None:  # known to C, but too few tokens follow: C ignores it
            return _ignored(argv, i, flags)
    also = _unique(flags[rule.flag] for rule, _ in acting)
    also = [f for f in also if f is not flag and (flag.name, f.name) not in INTENDED]
    return Resolution(flag, also, notice=_describe(argv, i, flag, also))


def c_values(flag: FlagLike, argv: Sequence[str], i: int) -> list[Any]:
    """The values C reads for a colliding ``flag`` at ``argv[i]``: each kind's ``c_read``
    (atof, atoi, the token itself) of the next tokens, an empty token past the end."""
    tokens = [*argv[i + 1:i + 1 + len(flag.kinds)], *[""] * len(flag.kinds)]
    return [kind.c_read(token) for kind, token in zip(flag.kinds, tokens, strict=False)]


def _takes_values(flag: FlagLike) -> bool:
    return bool(flag.kinds) or flag.reader is not None


def _unique(items) -> list:
    out: list = []
    for item in items:
        if all(item is not seen for seen in out):
            out.append(item)
    return out


def _ignored(argv: Sequence[str], i: int, flags: Mapping[str, FlagLike]) -> Resolution:
    """A token C ignores, with the value-like tokens after it (C skips those too)."""
    token = argv[i]
    j = i + 1
    while j < len(argv) and _value_like(argv[j]):
        j += 1
    words = " ".join(argv[i:j])
    tail = ""
    if _value_like(token):
        before = f" after {argv[i - 1]}" if i > 0 else ""
        why = f"it skips tokens that do not start a flag{before}"
    elif c_known(token):
        why = f"{token} acts only when enough tokens follow it"
    else:
        hint = suggest(token, flags)
        tail = f"; did you mean {hint}?" if hint else "; see nanobragg -h"
        why = f"no flag of the C program matches {token}"
    return Resolution(None, ignored=j - i,
                      notice=f"ignored '{words}', as the C program does ({why}){tail}")


def _value_like(token: str) -> bool:
    return not token.startswith("-") or _is_number(token)


def _is_number(token: str) -> bool:
    return bool(re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", token))


def _describe(argv: Sequence[str], i: int, flag: FlagLike, also: list[FlagLike]) -> str | None:
    """The notice for a token that C reads differently from an exact reading, or None."""
    token = argv[i]
    parts = []
    if token != flag.name and token not in flag.names:
        parts.append(f"read {token} as {flag.name}, as the C program does; spell it {flag.name}")
    for other in also:
        values = " ".join(str(_show(v)) for v in c_values(other, argv, i))
        parts.append(f"{token} also sets {other.name} {values}".rstrip()
                     + f", as in the C program (its test for {other.name} matches {token})")
    if not parts:
        return None
    if also:
        parts.append(f"give {STRICT_FLAG} to read flags exactly")
    return "; ".join(parts)


def _show(value: Any) -> Any:
    return f"{value:g}" if isinstance(value, float) else value
