"""``nanobragg`` console script: parse, simulate, write C's output files and stdout lines.

Flow: :func:`~nanobragg.cli.args.parse_args` -> :class:`~nanobragg.simulator.Simulator`
(validates the config and prints C's set-up lines) -> ``run`` -> statistics, scales, noise ->
all output files written together at the end, each atomically, so a failed or interrupted run
leaves no new file behind. Tokens read as C reads them rather than as typed (C's substring
flag matching, :mod:`nanobragg.cli.cmatch`) give one ``nanobragg: warning: ...`` line each on
stderr before the run. Every :class:`~nanobragg.errors.NanoBraggError` becomes one line
``nanobragg: error: ...`` on stderr and exit status 2; Ctrl-C (SIGINT) gives one line
and exit status 130, SIGTERM one line and 143 (the mapping is :mod:`nanobragg.console`'s).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from nanobragg.cli.args import OutputOptions, ParsedArgs, parse_args
from nanobragg.cli.images import (
    cbf_file_bytes,
    float_detector_image,
    h5_file_bytes,
    int_detector_image,
    noise_detector_image,
    noise_of,
    smv_header_values,
)
from nanobragg.cli.terms import flag_terms, note_line
from nanobragg.cli.usage import usage_text
from nanobragg.console import Console
from nanobragg.errors import EXIT_ERROR, ConfigError, NanoBraggError
from nanobragg.io.atomic import atomic_open
from nanobragg.io.pgm import pgm_bytes
from nanobragg.io.png import png_bytes
from nanobragg.io.raw import float_image_bytes
from nanobragg.io.scaling import ImageStats, image_stats, int_image, intfile_scale, pgm_image
from nanobragg.io.scaling import pgm_scale as auto_pgm_scale
from nanobragg.io.smv import c_format_g, smv_bytes
from nanobragg.workload import LONG_RENDER_S, format_duration

PROG = "nanobragg"
#: runs shorter than this show no progress bar
PROGRESS_DELAY_S = 2.0


class OutputError(NanoBraggError):
    """An output file cannot be written."""


# ------------------------------------------------------------------------------------------------
# Progress bar
# ------------------------------------------------------------------------------------------------


class ProgressBar:
    """A one-line progress bar on stderr that appears only once a run has lasted a while."""

    def __init__(self, stream: TextIO, delay_s: float = PROGRESS_DELAY_S, width: int = 40):
        self.stream = stream
        self.delay_s = delay_s
        self.width = width
        self.start = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.start
        if elapsed < self.delay_s or total <= 0:
            return
        fraction = min(max(done / total, 0.0), 1.0)
        filled = int(round(fraction * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        eta = f"ETA {format_duration(elapsed * (1 - fraction) / fraction)}" if fraction else ""
        self.stream.write(
            f"\r{PROG}: [{bar}] {100 * fraction:3.0f}% {elapsed:6.1f} s  {eta:<12}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
            self.shown = False


# ------------------------------------------------------------------------------------------------
# Checks before the (possibly long) simulation
# ------------------------------------------------------------------------------------------------


def check_outputs(parsed: ParsedArgs, cwd: Path) -> None:
    """Refuse output names that cannot be written, or that name an input file or another
    output (after symbolic links), before anything is computed."""
    out = parsed.outputs
    for flag, name in out.files():
        path = cwd / name
        if not name or path.is_dir():
            raise OutputError(f"{flag} {name!r}: is a directory, not a file name")
        if not path.parent.is_dir():
            raise OutputError(f"{flag} {name}: directory {path.parent} does not exist")
    check_distinct_files(parsed, cwd)
    if out.h5_file:
        _require("h5py", "-h5")
        _require("hdf5plugin", "-h5")
    if out.png_file:
        _require("matplotlib", "-pngfile")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): compare where they lead
        return os.path.realpath(a) == os.path.realpath(b)


def check_distinct_files(parsed: ParsedArgs, cwd: Path) -> None:
    """Every output is a file of its own: not an input (it would be overwritten) and not
    another output (one would replace the other)."""
    outputs = parsed.outputs.files()
    sf = parsed.simulation.structure_factors
    if sf.hkl_file is not None and not str(sf.hkl_file).lower().endswith(".mtz"):
        outputs.append(("-dump", str(sf.dump_file or "Fdump.bin")))  # written with -hkl
    seen: list[tuple[str, str, str]] = [("input", flag, name)
                                        for flag, name in parsed.input_files()]
    for flag, name in outputs:
        for role, other_flag, other in seen:
            if _same_file(cwd / name, cwd / other):
                what = "the input file of" if role == "input" else "also the output of"
                raise OutputError(f"{flag} {name}: is {what} {other_flag} {other}; "
                                  "give the output another name")
        seen.append(("output", flag, name))


def _require(module: str, flag: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise ConfigError(f"{flag} needs the Python package {module!r}") from None


def check_trace_pixel(out: OutputOptions, detector) -> None:
    """``-trace_pixel SLOW FAST`` must lie on the detector finally chosen."""
    if out.trace_pixel is None:
        return
    slow, fast = out.trace_pixel
    if slow >= detector.spixels or fast >= detector.fpixels:
        raise ConfigError(
            f"-trace_pixel {slow} {fast}: outside the detector of {detector.spixels} slow x "
            f"{detector.fpixels} fast pixels (indices start at 0)")


def announce_long_render(sim, warn: Callable[[str], None]) -> None:
    """One line before a render estimated to be long: its terms and the time it may take."""
    work = sim.workload
    seconds = work.estimated_seconds(sim.device.type)
    if seconds >= LONG_RENDER_S:
        warn(f"{work.describe()}: estimated {format_duration(seconds)} on {sim.device.type}")


# ------------------------------------------------------------------------------------------------
# Output phase
# ------------------------------------------------------------------------------------------------


@dataclass
class OutputPlan:
    """Everything the output phase writes: (flag, path, bytes) in C's order, and stdout lines."""

    files: list[tuple[str, Path, bytes]]
    lines: list[str]


def max_position(stats: ImageStats, pixel_size: float, oversample: int) -> tuple[float, float]:
    """C's ``max_I ... at Fdet Sdet``: metres of the *last* sub-pixel of the brightest pixel
    (0 0 when no pixel exceeded 0)."""
    if stats.max_index is None:
        return 0.0, 0.0
    slow, fast = stats.max_index
    sub = pixel_size / oversample
    fdet = sub * (fast * oversample + oversample - 1) + sub / 2.0
    sdet = sub * (slow * oversample + oversample - 1) + sub / 2.0
    return fdet, sdet


def plan_outputs(
    image: np.ndarray, sim, parsed: ParsedArgs, cwd: Path, log: Callable[[str], None]
) -> OutputPlan:
    """Compute every output file's bytes and print C's output-phase lines in C's order."""
    out, cfg, det = parsed.outputs, parsed.simulation, sim.detector
    roi = tuple(det.roi)
    files: list[tuple[str, Path, bytes]] = []
    lines: list[str] = []

    def say(line: str) -> None:
        lines.append(line)
        log(line)

    stats = image_stats(image, roi, cfg.detector.mask)
    say(f"writing {out.floatfile} as {image.size} 4-byte floats")
    files.append(("-floatfile", cwd / out.floatfile, float_image_bytes(image)))
    fdet, sdet = max_position(stats, float(det.pixel_size), sim.report.oversample)
    say(stats.max_line(fdet, sdet))
    say(stats.mean_line())
    int_scale = intfile_scale(out.scale, stats.max_I)
    say(f"intfile_scale = {c_format_g(int_scale)}")
    header = smv_header_values(sim)
    ints = int_image(image, int_scale, out.adc, roi)
    say(f"writing {out.intfile} as 2-byte integers")
    files.append(("-intfile", cwd / out.intfile, smv_bytes(header, ints)))
    scale = auto_pgm_scale(out.pgmscale, stats.rmsd, int_scale)
    if out.write_pgm:
        say(f"pgm_scale = {c_format_g(scale)}")
        pgm = pgm_image(image, scale, roi)
        say(f"writing {out.pgmfile} as 1-byte integers")
        files.append(("-pgmfile", cwd / out.pgmfile, pgm_bytes(pgm, scale)))
    noise = None
    if out.write_noise:
        noise = noise_of(image, sim, int(cfg.seed), out.adc)
        say(noise.summary_line())
        say(f"writing {out.noisefile} as 2-byte integers")
        files.append(("-noisefile", cwd / out.noisefile,
                      smv_bytes(header.for_noise_image(), noise.image)))
    # the counting formats hold the noise image when there is one (nanobragg.cli.images)
    if out.cbf_file:
        counts = (noise_detector_image(noise.image, int(cfg.seed), out.adc) if noise
                  else int_detector_image(ints, int_scale, out.adc))
        say(f"writing {out.cbf_file} as CBF ({counts.description})")
        files.append(("-cbf", cwd / out.cbf_file,
                      cbf_file_bytes(sim, counts, Path(out.cbf_file).stem)))
    if out.h5_file:
        held = (noise_detector_image(noise.image, int(cfg.seed), out.adc) if noise
                else float_detector_image(image))
        say(f"writing {out.h5_file} as NXmx HDF5 ({held.description})")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        files.append(("-h5", cwd / out.h5_file, h5_file_bytes(sim, held, stamp)))
    if out.png_file:
        title = f"{Path(out.png_file).name}: float image, PGM scale {c_format_g(scale)}"
        files.append(("-pngfile", cwd / out.png_file, png_bytes(image, scale, title)))
    return OutputPlan(files, lines)


def write_all(files: Sequence[tuple[str, Path, bytes]]) -> None:
    """Write every file through a temporary sibling; rename them all only once every one of
    them is complete, so an error or Ctrl-C leaves none of them new or half written."""
    try:
        with contextlib.ExitStack() as stack:
            for _flag, path, data in files:
                handle = stack.enter_context(atomic_open(path))
                handle.write(data)
    except OSError as exc:
        failed = exc.filename or "output file"
        raise OutputError(f"cannot write {failed}: {exc.strerror or exc}") from None


# ------------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------------


def print_trace(sim, pixel: tuple[int, int], log: Callable[[str], None]) -> None:
    """The TRACE_PY lines of ``-trace_pixel SLOW FAST`` (the simulator records them)."""
    lines = list(getattr(sim, "trace", []) or [])
    if not lines:
        log(f"WARNING: -trace_pixel {pixel[0]} {pixel[1]}: pixel is not rendered "
            "(outside the detector, the -roi or the -mask)")
        return
    log(f"TRACE_CONFIG: tracing pixel (spixel={pixel[0]}, fpixel={pixel[1]})")
    for line in lines:
        log(line)


def render(sim, out: OutputOptions, log: Callable[[str], None]) -> np.ndarray:
    """Run the simulation (with progress bar, trace and printout) and return the float32 image.

    As in C, ``-printout`` switches the progress meter off.
    """
    bar = ProgressBar(sys.stderr) if out.progress and not out.printout else None
    printout_pixel = None
    if out.printout_pixel is not None:
        fast, slow = out.printout_pixel  # C's -printout_pixel takes fast, then slow
        printout_pixel = (slow, fast)
    try:
        tensor = sim.run(bar, trace_pixel=out.trace_pixel,
                         printout=log if out.printout else None, printout_pixel=printout_pixel)
    finally:
        if bar is not None:
            bar.close()
    if out.trace_pixel is not None:
        print_trace(sim, out.trace_pixel, log)
    return tensor.detach().to("cpu").numpy().astype(np.float32, copy=False)


def run_parameter_lines(parsed: ParsedArgs) -> list[str]:
    """C's lines after the set-up block: the mask in use and the noise parameters."""
    config, out = parsed.simulation, parsed.outputs
    lines = []
    if parsed.mask_file is not None:
        lines.append(f"  skipping zero-flagged pixels in {parsed.mask_file}")
    if out.write_noise:
        lines += ["", "  noise image paramters:", f"  seed: {-int(config.seed)}",
                  f"  water droplet size: {config.beam.water_size:g} m"]
    return lines


def solid_angle_line(sim) -> str:
    """C's ``solid angle subtended by detector = %g steradian ( %g%% sphere)``."""
    solid = sim.report.solid_angle
    omega_sum = getattr(getattr(sim, "state", None), "omega_sum", None)
    if omega_sum is None:
        percent = 100 * solid / 4 / math.pi
    else:  # C's order of operations
        percent = 100 * omega_sum / sim.report.steps / 4 / math.pi
    return (
        f"solid angle subtended by detector = {c_format_g(solid)} steradian "
        f"( {c_format_g(percent)}% sphere)"
    )


def _print(line: str) -> None:
    print(line, flush=False)


def warn(line: str) -> None:
    """One line on stderr, beside C's stdout (notes, the long-render estimate)."""
    sys.stdout.flush()
    sys.stderr.write(f"{PROG}: {line}\n")
    sys.stderr.flush()


def run(argv: Sequence[str], cwd: Path, log: Callable[[str], None] = _print) -> int:
    """One nanobragg run (errors propagate as exceptions)."""
    parsed = parse_args(argv, cwd)
    for notice in parsed.notices:
        sys.stderr.write(f"{PROG}: warning: {notice}\n")
    sys.stderr.flush()
    if parsed.show_help:
        sys.stdout.write(usage_text())
        return 0
    config, out = parsed.simulation, parsed.outputs
    with flag_terms(parsed):
        notes = config.validate(cwd)
    for line in dict.fromkeys(note_line(parsed, note) for note in notes):  # -N: one line
        warn(line)
    check_outputs(parsed, cwd)
    if config.seed is None:
        config.seed = int(time.time())  # C: seed = -time(NULL)
    from nanobragg.simulator import Simulator

    for name in (parsed.mask_file, parsed.img_file):  # C reads the mask header first
        if name is not None:
            log(f"reading {name}")
    with flag_terms(parsed):
        sim = Simulator(config, cwd=cwd, log=log, max_terms=out.max_terms)
    check_trace_pixel(out, sim.detector)
    if out.progress:
        announce_long_render(sim, warn)
    for line in run_parameter_lines(parsed):
        log(line)
    image = render(sim, out, log)
    # C prints the interpolation-fallback warning while rendering; its last line ends where the
    # blank line after the render would
    log(sim.report.interpolation_warning or "")
    log(solid_angle_line(sim))
    plan = plan_outputs(image, sim, parsed, cwd, log)
    write_all(plan.files)
    sys.stdout.flush()
    return 0


#: how a nanobragg run that does not return a status ends (nanobragg.console)
CONSOLE = Console(
    PROG,
    out_of_memory="out of memory while simulating: reduce the detector size, -oversample, the "
    "number of sources, mosaic domains or phi steps",
    allocation_errors=True,
    handle_sigterm=True,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point; returns the exit status (0, 2 on errors, 130 on Ctrl-C)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:
        sys.stdout.write(usage_text())
        sys.stdout.flush()
        sys.stderr.write(
            CONSOLE.error_line("no arguments: give at least -cell or -mat (see above)") + "\n")
        return EXIT_ERROR
    return CONSOLE.run(lambda: run(argv, Path.cwd()))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
