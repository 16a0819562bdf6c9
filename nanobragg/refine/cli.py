"""``nanobragg-refine``: fit a nanobragg model to observed images.

    nanobragg-refine --image obs.img --refine distance,beam_x,beam_y,scale --out fit \\
        -- -cell 100 100 100 90 90 90 -default_F 300 -N 10 -distance 101 ...

Everything after ``--`` is an ordinary nanobragg command line: the starting model.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from nanobragg.console import Console
from nanobragg.errors import NanoBraggError

PROG = "nanobragg-refine"

EPILOG = """parameters (command-line units): cell_a cell_b cell_c (A), cell_alpha cell_beta
cell_gamma (deg), misset_x misset_y misset_z (deg), distance (mm), beam_x beam_y (mm, as -Xbeam
-Ybeam), rotx roty rotz twotheta (deg), lambda (A), mosaic (deg), Na Nb Nc (cells; needs
-round_xtal or -gauss_xtal), scale, background [background_x background_y background_xx
background_xy background_yy] (photons/pixel), F (every reflection of the -hkl table).

outputs in DIR: refined.json, history.jsonl, covariance.json, observed_model_residual.png,
refined_image.bin (raw float32 as -floatfile); F_refined.hkl and F_refined_sigma.hkl when F
is refined. See docs/refinement.md."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not usage + line
        raise NanoBraggError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=PROG, description="Fit the nanobragg simulator to observed images "
                "(every parameter by autograd, with standard errors).",
                usage=f"{PROG} --image OBS [--image OBS2 ...] --refine NAMES --out DIR "
                "[options] -- <nanobragg arguments of the starting model> "
                "[-- <model of image 2> ...]",
                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", action="append", required=True, metavar="OBS",
                   help="observed image: SMV, CBF, HDF5 or raw float32 (with --shape); repeat "
                   "for a joint fit of several images")
    p.add_argument("--refine", required=True, metavar="NAMES", help="comma-separated names")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--per-image", default="", metavar="NAMES",
                   help="parameters with one value per image (e.g. misset_x,misset_y,scale)")
    p.add_argument("--start", action="append", default=[], metavar="NAME[@I]=V",
                   help="starting value (image I, 1-based, for a per-image parameter)")
    p.add_argument("--bounds", action="append", default=[], metavar="NAME=LO:HI")
    p.add_argument("--prior", action="append", default=[], metavar="NAME=MEAN:SIGMA",
                   help="Gaussian prior")
    p.add_argument("--loss", default="poisson", choices=("poisson", "gaussian"))
    p.add_argument("--readout-sigma", type=float, default=0.0, metavar="S",
                   help="Gaussian read-out noise in counts (least squares: the pixel sigma)")
    p.add_argument("--mask", metavar="FILE", help="SMV mask (0 = ignore the pixel), as -mask")
    p.add_argument("--pixels", default="all", metavar="all|spots|random:K",
                   help="pixels in the loss: all, shoeboxes around predicted spots, or K "
                   "random pixels drawn each iteration")
    p.add_argument("--method", default="lbfgs", choices=("lbfgs", "adam"))
    p.add_argument("--max-iter", type=int, default=100, metavar="N")
    p.add_argument("--gtol", type=float, default=1e-3,
                   help="stop when every gradient component (in units of the starting "
                   "standard errors) is below this")
    p.add_argument("--ftol", type=float, default=1e-10, help="stop on this relative loss change")
    p.add_argument("--learning-rate", type=float, default=0.1, help="Adam's step")
    p.add_argument("--adc", type=float, default=None,
                   help="offset to subtract (default: the model's -adc, 40, for SMV and CBF)")
    p.add_argument("--shape", type=int, nargs=2, metavar=("SLOW", "FAST"),
                   help="size of raw float images")
    p.add_argument("--seed", type=int, default=0, help="seed of the random pixel draws")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _split(argv: list[str]) -> tuple[list[str], list[list[str]]]:
    """(own options, starting models): after the first ``--`` one model, or one per image
    separated by further ``--``."""
    if "--" not in argv:
        return argv, []
    i = argv.index("--")
    models: list[list[str]] = [[]]
    for token in argv[i + 1:]:
        if token == "--":
            models.append([])
        else:
            models[-1].append(token)
    return argv[:i], models


def run(argv: Sequence[str]) -> int:
    own, model = _split(list(argv))
    if any(a in ("-h", "--help") for a in own):
        build_parser().print_help()
        return 0
    options = build_parser().parse_args(own)
    if not model or not all(model):
        raise NanoBraggError("give the starting model after '--' (nanobragg arguments; one "
                             "model for all images, or one per image separated by '--')")
    from nanobragg.refine import api, optimise
    from nanobragg.refine.parameters import parse_ranges, parse_starts
    from nanobragg.refine.progress import ProgressLines

    settings = optimise.Settings(options.method, options.max_iter, options.gtol, options.ftol,
                                 options.learning_rate, seed=options.seed)
    progress = None if options.quiet else ProgressLines(options.max_iter)
    try:
        result = api.refine(
            options.image, model[0] if len(model) == 1 else model, options.refine,
            out=options.out, per_image=options.per_image,
            start=parse_starts(options.start), bounds=parse_ranges(options.bounds, "--bounds"),
            priors=parse_ranges(options.prior, "--prior"), loss=options.loss,
            readout_sigma=options.readout_sigma, mask=options.mask, pixels=options.pixels,
            settings=settings, adc=options.adc,
            shape=tuple(options.shape) if options.shape else None, report=progress)
    finally:
        if progress is not None:
            progress.close()
    status = "converged" if result.converged else "not converged"
    sys.stderr.write(f"{PROG}: {status} after {result.iterations} iterations ({result.message}); "
                     f"wrote {options.out}/refined.json\n")
    for warning in result.warnings:
        sys.stderr.write(f"{PROG}: warning: {warning}\n")
    return 0


#: how a refinement that does not return a status ends (nanobragg.console)
CONSOLE = Console(PROG, out_of_memory="out of memory: use --pixels spots or random:K, or a "
                  "smaller detector")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    return CONSOLE.run(lambda: run(argv))


def console_main() -> None:  # pragma: no cover - the console script
    sys.exit(main())
