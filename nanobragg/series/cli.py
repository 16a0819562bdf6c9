"""``nanobragg-series``: a rotation series or serial stills from one ``nanobragg`` command line.

    nanobragg-series (--frames N --osc DEG [--phi0 DEG] | --stills N) --out DIR
        [--format smv|cbf|h5|float] [--workers K | --dask ADDRESS|local[:K]] [--seed S]
        [--overwrite] [--quiet] -- <nanobragg arguments of one frame>

Everything is checked before anything is written: a bad flag, frame argument, output
directory or Dask address gives one line ``nanobragg-series: error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass

from nanobragg.series import SeriesError

PROG = "nanobragg-series"
DEFAULT_SEED = 1
FORMATS = ("smv", "cbf", "h5", "float")
#: frame flags the series sets itself, with what to use instead
SERIES_OWNED = {
    "-seed": "--seed",
    "-floatfile": "--out/--format", "-intfile": "--out/--format",
    "-noisefile": "--out/--format", "-pgmfile": "--out/--format", "-pgmscale": "--out/--format",
    "-cbf": "--format cbf", "-h5": "--format h5",
    "-trace_pixel": "a single nanobragg run", "-printout": "a single nanobragg run",
    "-printout_pixel": "a single nanobragg run",
}
ROTATION_OWNED = {"-phi": "--phi0", "-osc": "--osc", "-phistep": "--osc and -phisteps"}
STILLS_OWNED = {"-misset": "the drawn orientation (manifest.jsonl)"}

EPILOG = """\
After `--` comes an ordinary nanobragg command line for one frame (crystal, detector, beam,
-phisteps, -nonoise, -adc, ...). Rotation: frame i integrates phi0 + i*osc .. phi0 + (i+1)*osc
with the frame's -phisteps. Stills: each shot gets a uniform random orientation (and the
optional --N/--mosaic/--fluence-sigma/--beam-jitter draws). Frames: DIR/frame_00001.img ...
(numbered from 1), or DIR/series.h5 with --format h5; DIR/manifest.jsonl lists each frame
(path, sha256, seed, angles or orientation and shot parameters, nanobragg flags that
reproduce it). Rerun the same command to resume. See docs/series.md.
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise SeriesError(message)


def build_parser() -> argparse.ArgumentParser:
    usage = ("%(prog)s (--frames N --osc DEG [--phi0 DEG] | --stills N) --out DIR [options] "
             "-- <nanobragg arguments of one frame>")
    p = _Parser(prog=PROG, usage=usage, description="Simulate a rotation series or serial stills.",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = p.add_argument_group("what to simulate (rotation: --frames and --osc; or --stills)")
    mode.add_argument("--frames", type=int, metavar="N", help="rotation frames")
    mode.add_argument("--osc", type=float, metavar="DEG", help="oscillation of one frame")
    mode.add_argument("--phi0", type=float, default=0.0, metavar="DEG",
                      help="spindle angle where frame 0 starts (default 0)")
    mode.add_argument("--stills", type=int, metavar="N", help="serial stills")
    shots = p.add_argument_group("stills: shot-to-shot variation (default: none)")
    shots.add_argument("--N", type=int, nargs=2, metavar=("LO", "HI"), dest="n_range",
                       help="unit cells per edge, uniform integer in [LO, HI]")
    shots.add_argument("--mosaic", type=float, nargs=2, metavar=("LO", "HI"),
                       help="mosaic spread, uniform in [LO, HI] deg")
    shots.add_argument("--fluence-sigma", type=float, metavar="S",
                       help="fluence x exp(S z), z ~ N(0,1) (acts on -flux when given)")
    shots.add_argument("--beam-jitter", type=float, metavar="MM",
                       help="beam centre shift, N(0, MM) in X and Y (needs the beam pivot)")
    out = p.add_argument_group("output")
    out.add_argument("--out", required=True, metavar="DIR", help="output directory")
    out.add_argument("--format", choices=FORMATS, default="smv",
                     help="smv (default), cbf (Pilatus miniCBF), h5 (one NXmx file), float")
    out.add_argument("--seed", type=int, default=DEFAULT_SEED,
                     help=f"base seed of the per-frame seeds (default {DEFAULT_SEED})")
    out.add_argument("--overwrite", action="store_true",
                     help="replace a series made by a different command")
    out.add_argument("--quiet", action="store_true", help="no progress line")
    run = p.add_argument_group("execution (default: this process, one Simulator)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="K",
                       help="K local worker processes sharing the cores (torch threads / K each)")
    where.add_argument("--dask", metavar="ADDRESS|local[:K]",
                       help="a Dask scheduler, or a LocalCluster of K workers started here")
    return p


@dataclass
class SeriesOptions:
    args: argparse.Namespace
    frame_argv: list[str]

    @property
    def rotation(self) -> bool:
        return self.args.stills is None


def parse_series_args(argv: Sequence[str]) -> SeriesOptions:
    argv = list(argv)
    if "--" in argv:
        cut = argv.index("--")
        own, frame_argv = argv[:cut], argv[cut + 1:]
    else:
        own, frame_argv = argv, []
    args = build_parser().parse_args(own)
    _check(args)
    if not frame_argv:
        raise SeriesError("no frame arguments: give `-- <nanobragg arguments of one frame>`")
    return SeriesOptions(args, frame_argv)


def _check(a: argparse.Namespace) -> None:
    if a.stills is None and a.frames is None:
        raise SeriesError("give --frames N --osc DEG (rotation) or --stills N")
    if a.stills is not None and (a.frames is not None or a.osc is not None):
        raise SeriesError("--stills cannot be combined with --frames/--osc")
    count = a.frames if a.stills is None else a.stills
    flag = "--frames" if a.stills is None else "--stills"
    if count < 1:
        raise SeriesError(f"{flag}: need at least 1 frame, got {count}")
    if a.stills is None:
        if a.osc is None:
            raise SeriesError("--frames needs --osc DEG (the oscillation of one frame)")
        if not (a.osc > 0 and math.isfinite(a.osc)):
            raise SeriesError(f"--osc: the oscillation must be positive, got {a.osc:g} deg")
    if a.stills is None and any(v is not None for v in (a.n_range, a.mosaic, a.fluence_sigma,
                                                         a.beam_jitter)):
        raise SeriesError("--N, --mosaic, --fluence-sigma and --beam-jitter are for --stills")
    if a.n_range is not None and not 1 <= a.n_range[0] <= a.n_range[1]:
        raise SeriesError(f"--N: need 1 <= LO <= HI, got {a.n_range[0]} {a.n_range[1]}")
    if a.mosaic is not None and not 0 <= a.mosaic[0] <= a.mosaic[1]:
        raise SeriesError(f"--mosaic: need 0 <= LO <= HI, got {a.mosaic[0]:g} {a.mosaic[1]:g}")
    for name, value in (("--fluence-sigma", a.fluence_sigma), ("--beam-jitter", a.beam_jitter)):
        if value is not None and not (value >= 0 and math.isfinite(value)):
            raise SeriesError(f"{name}: must be zero or positive, got {value:g}")
    if a.workers is not None and a.workers < 1:
        raise SeriesError(f"--workers: need at least 1 worker, got {a.workers}")
    if a.beam_jitter is not None and a.format == "h5":
        raise SeriesError("--beam-jitter: one NXmx file has one detector geometry; use "
                          "--format smv, cbf or float")


def command_record(opts: SeriesOptions) -> dict:
    """What identifies a series (not where or how it runs): recorded in series.json."""
    a = opts.args
    record: dict = {"version": 1, "format": a.format, "seed": a.seed,
                    "frame_arguments": opts.frame_argv}
    if opts.rotation:
        record.update(mode="rotation", frames=a.frames, phi0=a.phi0, osc=a.osc)
    else:
        record.update(mode="stills", stills=a.stills, N=a.n_range, mosaic=a.mosaic,
                      fluence_sigma=a.fluence_sigma, beam_jitter=a.beam_jitter)
    return record
