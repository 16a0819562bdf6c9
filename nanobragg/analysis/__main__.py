"""``python -m nanobragg.analysis {scaling,trace}``: the parity loop's analysis commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nanobragg.analysis.render import DTYPES, CaseInput, render_pixel
from nanobragg.analysis.sweep import dtype_sweep
from nanobragg.golden import GoldenCaseError


def _case(opts: argparse.Namespace) -> CaseInput:
    if opts.golden:
        try:
            return CaseInput.from_golden(Path(opts.golden))
        except GoldenCaseError as exc:  # a bad case directory: one line, not a traceback
            raise SystemExit(f"error: {exc}") from None
    if not opts.nb_args:
        raise SystemExit("error: give --golden CASE_DIR or nanoBragg arguments after --")
    return CaseInput(args=list(opts.nb_args), cwd=Path.cwd())


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--golden", metavar="CASE_DIR", help="golden case (args, float.bin, trace.log)")
    p.add_argument("--pixel", nargs=2, type=int, metavar=("SLOW", "FAST"), required=True)
    p.add_argument("nb_args", nargs=argparse.REMAINDER,
                   help="nanoBragg arguments after -- (instead of --golden)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nanobragg.analysis", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sc = sub.add_parser("scaling", help="per-factor scaling chain of a pixel, per dtype")
    _add_common(sc)
    sc.add_argument("--dtype", action="append", choices=list(DTYPES),
                    help="dtype to render (repeatable; default float32 and float64)")
    sc.add_argument("--c-trace", type=Path, help="C trace log (default: the golden trace.log)")
    sc.add_argument("--out", type=Path, required=True, help="output directory")
    tr = sub.add_parser("trace", help="write the TRACE_PY lines of a pixel to a file")
    _add_common(tr)
    tr.add_argument("--dtype", choices=list(DTYPES), default="float64")
    tr.add_argument("--out", type=Path, required=True, help="output file")
    return parser


def _strip_dashes(args: list[str]) -> list[str]:
    return args[1:] if args and args[0] == "--" else args


def cmd_scaling(opts: argparse.Namespace) -> int:
    case = _case(opts)
    dtypes = opts.dtype or ["float32", "float64"]
    summary = dtype_sweep(case, tuple(opts.pixel), dtypes, opts.out, opts.c_trace)
    for d in dtypes:
        shown = " ".join(f"{k}={summary[f'{k}_{d}']:.10g}" for k in
                         ("pixel_value", "final_ratio", "pixel_ratio", "sum_ratio")
                         if isinstance(summary.get(f"{k}_{d}"), float))
        print(f"{d}: {shown} first_differing_factor={summary[f'first_differing_factor_{d}']}")
    if summary.get("dtype_rel_diff_pixel") is not None:
        print(f"dtype_rel_diff_pixel={summary['dtype_rel_diff_pixel']:.6e}")
    print(f"wrote {opts.out}/summary.json and {opts.out}/scaling_sweep.md")
    return 0


def cmd_trace(opts: argparse.Namespace) -> int:
    render = render_pixel(_case(opts), tuple(opts.pixel), opts.dtype)
    if not render.trace:
        print(f"error: pixel {tuple(opts.pixel)} was not rendered (outside the ROI or masked?)",
              file=sys.stderr)
        return 1
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text("\n".join(render.trace) + "\n", encoding="utf-8")
    print(f"wrote {len(render.trace)} TRACE_PY lines for pixel {tuple(opts.pixel)} "
          f"({opts.dtype}) to {opts.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    opts = build_parser().parse_args(argv)
    opts.nb_args = _strip_dashes(opts.nb_args)
    handler = {"scaling": cmd_scaling, "trace": cmd_trace}[opts.command]
    return handler(opts)


if __name__ == "__main__":
    raise SystemExit(main())
