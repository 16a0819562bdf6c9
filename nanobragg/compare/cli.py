"""``nb-compare``: run C nanoBragg and nanobragg with the same arguments and compare the images.

Modes (see docs/nb-compare.md):

* ``nb-compare [options] -- <nanoBragg args>``: run both programs (live parity).
* ``nb-compare --images C_IMG PY_IMG [--shape S F | -- <nanoBragg args>]``: two existing images.
* ``nb-compare --golden CASE_DIR``: nanobragg against a stored golden case (no C binary needed).

Exit status: 0 pass, 2 usage, 3 below threshold, 4 shape mismatch, 5 a side failed to run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from nanobragg.compare import plots, report, scaling
from nanobragg.compare.core import (
    EXIT_SHAPE_MISMATCH,
    EXIT_SIDE_FAILED,
    EXIT_USAGE,
    Limits,
    crop_roi,
    evaluate,
)
from nanobragg.compare.images import ImageError, read_image
from nanobragg.compare.nbargs import absolutize_inputs, args_shape
from nanobragg.compare.resample import resample_pair
from nanobragg.compare.runner import (
    SideFailed,
    c_version,
    default_py_command,
    py_version,
    run_side,
    sha256_file,
)
from nanobragg.compare.trace import (
    TraceError,
    diff_traces,
    json_report,
    markdown_report,
    read_trace,
    summary,
)
from nanobragg.errors import NanoBraggError
from nanobragg.golden import GoldenCase, GoldenCaseError, NotAGoldenCase

MISSING_C = "C binary not found: set NB_C_BIN or pass --c-bin"


class InputError(NanoBraggError):
    """A bad golden case, image, output directory or --py-cmd: one line, exit 2, no usage."""


class UsageError(NanoBraggError):
    """A bad nb-compare command line: usage, one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nb-compare",
        description="Compare C nanoBragg and nanobragg float images. Put the nanoBragg "
        "arguments after '--'.",
        epilog="Exit status: 0 pass, 2 usage, 3 below threshold, 4 shape mismatch, "
        "5 a side failed to run. Details: docs/nb-compare.md.",
    )
    _add_sources(p.add_argument_group("what to compare"))
    out = p.add_argument_group("output and criteria")
    _add_criteria(out)
    _add_outputs(out)
    return p


def _add_sources(src: argparse._ArgumentGroup) -> None:
    src.add_argument("--c-bin", help="C nanoBragg binary (default: $NB_C_BIN)")
    src.add_argument(
        "--py-cmd",
        help="command that runs the python side, shell-split "
        "(default: '<this python> -m nanobragg')",
    )
    src.add_argument(
        "--images",
        nargs=2,
        metavar=("C_IMG", "PY_IMG"),
        help="compare two existing images (.npy, SMV, or raw float32)",
    )
    src.add_argument(
        "--shape",
        nargs=2,
        type=int,
        metavar=("SLOW", "FAST"),
        help="shape of raw float images for --images (else from the args)",
    )
    src.add_argument(
        "--golden",
        metavar="CASE_DIR",
        help="compare nanobragg against a stored golden case directory",
    )


def _add_criteria(out: argparse._ArgumentGroup) -> None:
    """The pass criteria of the verdict (docs/nb-compare.md)."""
    out.add_argument("--outdir", default="nb_compare_out", help="output directory")
    out.add_argument(
        "--threshold", type=float, default=0.999, help="minimum correlation (default 0.999)"
    )
    out.add_argument(
        "--rmse-tol", type=float, default=1e-3, help="maximum RMSE / max|C| (default 1e-3)"
    )
    out.add_argument(
        "--sum-tol", type=float, default=1e-3,
        help="maximum |sum_py / sum_c - 1| (default 1e-3)",
    )
    out.add_argument(
        "--spot-tol", type=float, default=1e-3,
        help="maximum |I_py / I_c - 1| of the worst of the C image's top-N spots, each "
             "integrated over 3x3 pixels (default 1e-3)",
    )
    out.add_argument(
        "--peak-tol",
        type=float,
        default=1.0,
        help="maximum distance of matched peaks in px (default 1)",
    )
    out.add_argument(
        "--peak-match-min",
        type=float,
        default=0.8,
        help="minimum matched fraction of peaks (default 0.8)",
    )
    out.add_argument("--peaks", type=int, default=50, help="top-N peaks per image (default 50)")
    out.add_argument(
        "--peak-radius", type=float, default=3.0, help="matching radius in px (default 3)"
    )


def _add_outputs(out: argparse._ArgumentGroup) -> None:
    """What is compared, how the sides run and what is written."""
    out.add_argument(
        "--resample",
        action="store_true",
        help="compare images of different shape (block-sum or common crop)",
    )
    out.add_argument(
        "--roi",
        nargs=4,
        type=int,
        metavar=("X0", "X1", "Y0", "Y1"),
        help="compare only fast X0..X1, slow Y0..Y1 (inclusive)",
    )
    out.add_argument(
        "--dtype", choices=("float32", "float64"), help="NB_PYTORCH_DTYPE for the python side"
    )
    out.add_argument("--timeout", type=float, default=None, help="seconds per side")
    out.add_argument(
        "--keep-scratch", action="store_true",
        help="keep the run directories as OUTDIR/scratch/{c,py}",
    )
    out.add_argument(
        "--save-images",
        action="store_true",
        help="also write c_image.npy and py_image.npy (float32)",
    )
    out.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    out.add_argument(
        "--trace-pixel",
        nargs=2,
        type=int,
        metavar=("SLOW", "FAST"),
        help="run mode: add -trace_pixel SLOW FAST to both runs and write the "
        "trace diff and scaling chain (needs the instrumented C binary)",
    )


def split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return argv, []


def find_c_bin(opt: str | None) -> Path:
    value = opt or os.environ.get("NB_C_BIN")
    if not value:
        raise SideFailed("c", MISSING_C)
    path = Path(value)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise SideFailed("c", f"{path} is not an executable file; {MISSING_C}")
    return path


def py_prefix(opt: str | None) -> list[str]:
    if not opt:
        return default_py_command()
    try:
        return shlex.split(opt)
    except ValueError as exc:  # "No closing quotation"
        raise InputError(f"--py-cmd {opt!r}: {str(exc).lower()}") from None


def py_env(opts) -> dict[str, str]:
    return {"NB_PYTORCH_DTYPE": opts.dtype} if opts.dtype else {}


def limits_from(opts) -> Limits:
    return Limits(
        correlation=opts.threshold,
        rmse_rel_max=opts.rmse_tol,
        sum_ratio_error=opts.sum_tol,
        worst_spot_rel_diff=opts.spot_tol,
        peak_max_distance_px=opts.peak_tol,
        peak_match_fraction=opts.peak_match_min,
        n_peaks=opts.peaks,
        peak_radius_px=opts.peak_radius,
    )


class Session:
    """One nb-compare invocation: collects what metrics.json will say."""

    def __init__(self, opts, argv: list[str], nb_args: list[str], mode: str) -> None:
        self.opts = opts
        self.argv = argv
        self.nb_args = nb_args
        self.mode = mode
        self.outdir = Path(opts.outdir)
        #: removed again if the run stops on bad input before writing anything into it
        self.created_outdir = not self.outdir.exists()
        problem = report.prepare_outdir(self.outdir)
        if problem:
            raise InputError(problem)
        self.fields: dict = {"nanobragg_args": nb_args}

    def scratch(self, name: str) -> Path:
        if self.opts.keep_scratch:
            path = self.outdir / "scratch" / name
            if path.exists():
                shutil.rmtree(path)
            return path
        return Path(tempfile.mkdtemp(prefix=f"nbcmp_{name}_"))

    def drop(self, path: Path) -> None:
        if not self.opts.keep_scratch:
            shutil.rmtree(path, ignore_errors=True)

    def finish(self, exit_code: int, verdict: str, message: str = "") -> int:
        self.fields.update(exit_code=exit_code, verdict=verdict)
        if message:
            self.fields["message"] = message
        doc = report.build(self.mode, self.argv, **self.fields)
        report.write_json(self.outdir, doc)
        report.write_readme(self.outdir, doc)
        print(summary_line(doc))
        return exit_code

    def fail_side(self, exc: SideFailed) -> int:
        print(f"nb-compare: {exc}", file=sys.stderr)
        if exc.stderr:
            print(f"--- {exc.side} output (tail) ---\n{exc.stderr}", file=sys.stderr)
        self.fields[f"{exc.side}_failure"] = {"message": str(exc), "stderr_tail": exc.stderr}
        return self.finish(EXIT_SIDE_FAILED, "error", str(exc))

    def compare(self, ref: np.ndarray, test: np.ndarray, labels: tuple[str, str]) -> int:
        opts = self.opts
        if ref.shape != test.shape and not opts.resample:
            msg = (
                f"shape mismatch: C {list(ref.shape)} vs py {list(test.shape)} "
                "(slow, fast); pass --resample to compare anyway"
            )
            print(f"nb-compare: {msg}", file=sys.stderr)
            self.fields["resample"] = {
                "method": "none",
                "shape_c": list(ref.shape),
                "shape_py": list(test.shape),
            }
            return self.finish(EXIT_SHAPE_MISMATCH, "shape_mismatch", msg)
        ref, test, info = resample_pair(ref, test)
        if info["method"] != "none":
            print(
                f"nb-compare: warning: resampled ({info['method']}) C {info['shape_c']} "
                f"and py {info['shape_py']} to {info['shape_compared']}",
                file=sys.stderr,
            )
        roi = tuple(opts.roi) if opts.roi else None
        if roi:
            x0, x1, y0, y1 = roi
            if not (0 <= x0 <= x1 < ref.shape[1] and 0 <= y0 <= y1 < ref.shape[0]):
                raise UsageError(
                    f"--roi {x0} {x1} {y0} {y1} lies outside the image "
                    f"{ref.shape[0]}x{ref.shape[1]} (slow x fast)"
                )
            ref, test = crop_roi(ref, roi), crop_roi(test, roi)
        result = evaluate(ref, test, limits_from(opts))
        for msg in result["nonfinite"]:
            print(f"nb-compare: {msg}", file=sys.stderr)
        self.fields.update(result)
        self.fields.update(resample=info, roi=list(roi) if roi else None, shape=list(ref.shape))
        if opts.save_images:
            np.save(self.outdir / "c_image.npy", ref.astype(np.float32))
            np.save(self.outdir / "py_image.npy", test.astype(np.float32))
        if not opts.no_plots:
            self.fields["files"] = plots.write_all(self.outdir, ref, test, result["peaks"], labels)
        exit_code = self.fields.pop("exit_code")
        verdict = self.fields.pop("verdict")
        return self.finish(exit_code, verdict)


def summary_line(doc: dict) -> str:
    def f(key: str) -> str:
        v = doc.get(key)
        digits = 10 if key in ("correlation", "sum_ratio") else 6
        return "n/a" if v is None else (f"{v:.{digits}g}" if isinstance(v, float) else str(v))

    peaks = doc.get("peaks") or {}
    md = peaks.get("max_distance_px")
    return (
        f"nb-compare: {doc['verdict'].upper()} (exit {doc['exit_code']}) "
        f"correlation={f('correlation')} rmse_rel_max={f('rmse_rel_max')} "
        f"max_abs_diff={f('max_abs_diff')} sum_ratio={f('sum_ratio')} "
        f"worst_spot={f('worst_spot_rel_diff')} "
        f"peaks matched={peaks.get('matched', 'n/a')} "
        f"max_dist_px={'n/a' if md is None else f'{md:.3g}'} "
        f"c_time_s={f('wall_time_c_s')} py_time_s={f('wall_time_py_s')} -> {doc.get('outdir', '')}"
    )


def run_live(s: Session) -> int:
    opts = s.opts
    if not s.nb_args:
        raise UsageError("no nanoBragg arguments: put them after '--'")
    args = absolutize_inputs(s.nb_args, Path.cwd())
    try:
        c_bin = find_c_bin(opts.c_bin)
    except SideFailed as exc:
        return s.fail_side(exc)
    if opts.trace_pixel:
        args = [*args, "-trace_pixel", *(str(v) for v in opts.trace_pixel)]
    prefix = py_prefix(opts.py_cmd)
    data_dir = Path.cwd() / "data" if (Path.cwd() / "data").is_dir() else None
    sides = {}
    for side, cmd, extra in (("c", [str(c_bin.resolve())], {}), ("py", prefix, py_env(opts))):
        work = s.scratch(side)
        try:
            sides[side] = run_side(
                side, cmd, args, work, data_dir=data_dir, env_extra=extra, timeout=opts.timeout
            )
        except SideFailed as exc:
            s.drop(work)
            return s.fail_side(exc)
        res = sides[side]
        res.version = c_version(c_bin, res.stdout) if side == "c" else py_version(cmd)
        (s.outdir / f"{side}_stdout.log").write_text(res.stdout)
        if res.stderr:
            (s.outdir / f"{side}_stderr.log").write_text(res.stderr)
        s.drop(work)
        s.fields[side] = res.summary()
        s.fields[f"wall_time_{side}_s"] = round(res.wall_time_s, 4)
    if opts.trace_pixel:
        s.fields["trace"] = trace_report(s.outdir, sides["c"].stdout, sides["py"].stdout)
    return s.compare(sides["c"].image, sides["py"].image, ("C", "nanobragg"))


def trace_report(outdir: Path, c_out: str, py_out: str) -> dict:
    """Trace diff and scaling chain from both sides' stdout (does not change the exit status)."""
    c_log, py_log = outdir / "c_trace.log", outdir / "py_trace.log"
    c_log.write_text(c_out)
    py_log.write_text(py_out)
    try:
        c_tr = read_trace(c_log, "TRACE_C")
        py_tr = read_trace(py_log, "TRACE_PY")
    except TraceError as exc:
        print(f"nb-compare: warning: no trace diff: {exc}", file=sys.stderr)
        return {"error": str(exc)}
    result = diff_traces(c_tr, py_tr)
    chain = scaling.scaling_chain(c_tr, py_tr)
    (outdir / "trace_diff.md").write_text(markdown_report(result))
    (outdir / "trace_diff.json").write_text(json.dumps(json_report(result), indent=2) + "\n")
    (outdir / "scaling_chain.md").write_text(scaling.markdown(chain))
    (outdir / "scaling_chain.json").write_text(json.dumps(chain, indent=2) + "\n")
    print(summary(result), file=sys.stderr)
    first = result.first_divergence()
    return {
        "n_compared": len(result.compared),
        "n_diverged": len(result.diverged),
        "first_divergence": first.label if first else None,
        "final_ratio_py_over_c": chain["final_ratio_py_over_c"],
        "first_differing_factor": chain["first_differing_factor"],
        "files": [
            "c_trace.log",
            "py_trace.log",
            "trace_diff.md",
            "trace_diff.json",
            "scaling_chain.md",
            "scaling_chain.json",
        ],
    }


def run_images(s: Session) -> int:
    opts = s.opts
    shape = tuple(opts.shape) if opts.shape else None
    if shape is None and s.nb_args:
        shape = args_shape(s.nb_args)
    images = []
    for side, name in zip(("c", "py"), opts.images, strict=True):
        path = Path(name)
        try:
            images.append(read_image(path, shape))
        except ImageError as exc:
            return s.fail_side(SideFailed(side, f"unreadable image: {exc}"))
        s.fields[side] = {"file": str(path.resolve()), "sha256": sha256_file(path)}
    return s.compare(images[0], images[1], (Path(opts.images[0]).name, Path(opts.images[1]).name))


def run_golden(s: Session) -> int:
    opts = s.opts
    case_dir = Path(opts.golden)
    try:
        case = GoldenCase.load(case_dir)
    except NotAGoldenCase as exc:
        raise UsageError(str(exc)) from None
    except GoldenCaseError as exc:
        raise InputError(str(exc)) from None
    args = case.args
    meta = case.meta
    if "float" in case.outputs:
        ref = read_image(case.file("float"), case.shape)
    elif "float_roi" in case.outputs:
        ref = read_image(case.file("float_roi"))
    else:
        raise UsageError(f"{case_dir}: case.yaml lists no float image")
    s.nb_args = args
    s.fields.update(
        nanobragg_args=args,
        golden={
            "case": case.recorded_id,
            "path": str(case_dir.resolve()),
            "roi": meta.get("roi"),
        },
        c={
            "source": "golden",
            "command_line": shlex.join(["nanoBragg", *args]),
            "command": ["nanoBragg", *args],
            "version": {"c_reference": meta.get("c_reference", "")},
            "wall_time_s": meta.get("wall_time_s"),
            "omp_num_threads": meta.get("omp_num_threads"),
        },
        wall_time_c_s=meta.get("wall_time_s"),
    )
    prefix = py_prefix(opts.py_cmd)
    work = s.scratch("py")
    data_dir = case_dir.resolve().parent / "data"
    if not data_dir.is_dir():  # inputs from the working directory, as in the live mode
        args = absolutize_inputs(args, Path.cwd())
        data_dir = Path.cwd() / "data"
    try:
        res = run_side(
            "py",
            prefix,
            args,
            work,
            data_dir=data_dir if data_dir.is_dir() else None,
            env_extra=py_env(opts),
            timeout=opts.timeout,
        )
    except SideFailed as exc:
        s.drop(work)
        return s.fail_side(exc)
    s.drop(work)
    res.version = py_version(prefix)
    (s.outdir / "py_stdout.log").write_text(res.stdout)
    s.fields["py"] = res.summary()
    s.fields["wall_time_py_s"] = round(res.wall_time_s, 4)
    test = res.image
    if case.stores_crop:
        if test.shape != case.shape:
            return s.compare(ref, test, ("golden", "nanobragg"))  # reported as a mismatch
        test = case.stored_part(test)
    return s.compare(ref, test, (f"golden {meta.get('id', '')}", "nanobragg"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    own, nb_args = split_argv(argv)
    parser = build_parser()
    try:
        opts = parser.parse_args(own)
    except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
        return int(exc.code or 0)
    if opts.images and opts.golden:
        parser.print_usage(sys.stderr)
        print("nb-compare: --images and --golden are exclusive", file=sys.stderr)
        return EXIT_USAGE
    mode = "images" if opts.images else "golden" if opts.golden else "run"
    session = None
    try:
        session = Session(opts, ["nb-compare", *argv], nb_args, mode)
        session.fields["outdir"] = str(session.outdir.resolve())
        if mode == "images":
            return run_images(session)
        if mode == "golden":
            return run_golden(session)
        return run_live(session)
    except (InputError, ImageError) as exc:
        if session is not None and session.created_outdir:
            with contextlib.suppress(OSError):
                session.outdir.rmdir()  # only if still empty
        print(f"nb-compare: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as exc:
        parser.print_usage(sys.stderr)
        print(f"nb-compare: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
