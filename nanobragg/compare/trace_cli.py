"""``nb-trace-diff C_LOG PY_LOG``: compare TRACE_C and TRACE_PY pixel traces.

Exit status: 0 no quantity beyond tolerance, 1 at least one diverged (or, with ``--strict``, a
quantity is present in only one log), 2 usage error or unreadable/empty trace.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nanobragg.compare import scaling
from nanobragg.compare.report import prepare_outdir
from nanobragg.compare.trace import (
    GENERIC_RTOL,
    Tol,
    TraceError,
    diff_traces,
    json_report,
    markdown_report,
    read_trace,
    summary,
    table,
)


def parse_tol(text: str) -> tuple[str, Tol]:
    """``NAME=RTOL`` or ``NAME=RTOL,ATOL`` (NAME may be an fnmatch pattern)."""
    name, sep, spec = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--tol {text!r}: expected NAME=RTOL[,ATOL]")
    try:
        parts = [float(x) for x in spec.split(",")]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--tol {text!r}: tolerances must be numbers") from exc
    if len(parts) not in (1, 2):
        raise argparse.ArgumentTypeError(f"--tol {text!r}: expected NAME=RTOL[,ATOL]")
    return name, Tol(rtol=parts[0], atol=parts[1] if len(parts) == 2 else 0.0)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nb-trace-diff",
        description="Align TRACE_C and TRACE_PY lines by name (pipeline order), compare with "
        "per-quantity tolerances, report the first divergence and a table.",
        epilog="Exit status: 0 no divergence, 1 divergence, 2 usage or unreadable trace. "
        "Default tolerances: docs/nb-compare.md.",
    )
    p.add_argument("c_log", help="log with TRACE_C lines (C nanoBragg -trace_pixel S F)")
    p.add_argument("py_log", help="log with TRACE_PY lines (nanobragg -trace_pixel S F)")
    p.add_argument("--c-prefix", default="TRACE_C", help="line prefix in C_LOG (TRACE_C)")
    p.add_argument("--py-prefix", default="TRACE_PY", help="line prefix in PY_LOG (TRACE_PY)")
    p.add_argument(
        "--rtol",
        type=float,
        default=GENERIC_RTOL,
        help=f"relative tolerance of quantities without a specific one (default {GENERIC_RTOL:g})",
    )
    p.add_argument(
        "--tol",
        type=parse_tol,
        action="append",
        default=[],
        metavar="NAME=RTOL[,ATOL]",
        help="tolerance for NAME (fnmatch pattern); repeatable, wins over the defaults",
    )
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="PATTERN",
        help="skip quantities matching PATTERN (repeatable)",
    )
    p.add_argument(
        "--strict", action="store_true", help="also fail when a quantity is in only one log"
    )
    p.add_argument("--all", action="store_true", help="print every row, not only divergences")
    p.add_argument(
        "--scaling-chain", action="store_true", help="also print the scaling-chain table (markdown)"
    )
    p.add_argument("--outdir", help="write trace_diff.md/.json and scaling_chain.md/.json here")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        opts = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if opts.outdir:
        problem = prepare_outdir(Path(opts.outdir))
        if problem:
            print(f"nb-trace-diff: {problem}", file=sys.stderr)
            return 2
    try:
        c = read_trace(opts.c_log, opts.c_prefix)
        py = read_trace(opts.py_log, opts.py_prefix)
    except TraceError as exc:
        print(f"nb-trace-diff: {exc}", file=sys.stderr)
        return 2
    generic = Tol(rtol=opts.rtol)
    result = diff_traces(c, py, opts.tol, generic, opts.ignore)
    if not result.compared:
        print("nb-trace-diff: the two traces have no quantity in common", file=sys.stderr)
        return 2
    print(summary(result))
    rows = result.rows if opts.all else result.diverged
    if opts.strict and not opts.all:
        rows = [r for r in result.rows if r.status == "DIVERGED" or r.status.startswith("miss")]
    if rows:
        print()
        print(table(rows))
    chain = scaling.scaling_chain(c, py, opts.tol, generic)
    if opts.scaling_chain:
        print()
        print(scaling.markdown(chain))
    if opts.outdir:
        out = Path(opts.outdir)
        (out / "trace_diff.md").write_text(markdown_report(result))
        (out / "trace_diff.json").write_text(json.dumps(json_report(result), indent=2) + "\n")
        (out / "scaling_chain.md").write_text(scaling.markdown(chain))
        (out / "scaling_chain.json").write_text(json.dumps(chain, indent=2) + "\n")
    failed = bool(result.diverged) or (opts.strict and bool(result.missing))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
