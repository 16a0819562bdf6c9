"""The series run: frame arguments -> base Simulator -> frames -> executor -> store.

Everything that can be refused is refused before the output directory is touched.
"""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TextIO

import numpy as np

from nanobragg.config import Pivot
from nanobragg.console import Console
from nanobragg.errors import NanoBraggError
from nanobragg.series import SeriesError
from nanobragg.series.cli import (
    PROG,
    ROTATION_OWNED,
    SERIES_OWNED,
    STILLS_OWNED,
    SeriesOptions,
    command_record,
    parse_series_args,
)
from nanobragg.series.plan import FrameSpec, StillsDistributions, rotation_frames, still_frames
from nanobragg.series.progress import SeriesProgress
from nanobragg.series.render import SeriesJob
from nanobragg.series.store import SeriesStore, check_out_dir


def parse_frame_arguments(opts: SeriesOptions, cwd: Path):
    """The frame's nanobragg command line, parsed and checked as ``nanobragg`` would."""
    from nanobragg.cli.args import FLAGS, parse_args
    from nanobragg.cli.terms import flag_terms

    owned = {**SERIES_OWNED, **(ROTATION_OWNED if opts.rotation else STILLS_OWNED)}
    for token in opts.frame_argv:
        flag = FLAGS.get(token)
        if flag is not None and flag.name in owned:
            raise SeriesError(f"frame argument {token}: set by the series, use "
                              f"{owned[flag.name]}")
    try:
        parsed = parse_args(opts.frame_argv, cwd)
    except NanoBraggError as exc:
        raise SeriesError(f"frame arguments: {exc}") from None
    if parsed.show_help:
        raise SeriesError("frame arguments: -h is not a frame argument (see nanobragg -h)")
    config = parsed.simulation
    config.seed = opts.args.seed
    if config.crystal.misset_random and config.crystal.misset_seed is None:
        # one orientation for the whole rotation, not one per frame seed
        config.crystal = replace(config.crystal, misset_seed=opts.args.seed)
    with flag_terms(parsed):
        config.validate(cwd)
    return parsed


def plan_frames(opts: SeriesOptions, sim) -> list[FrameSpec]:
    a = opts.args
    if opts.rotation:
        return rotation_frames(a.frames, a.phi0, a.osc, a.seed)
    if a.beam_jitter is not None and sim.detector.pivot is not Pivot.BEAM:
        raise SeriesError("--beam-jitter needs the beam pivot (the frame arguments pivot "
                          "about the sample)")
    dist = StillsDistributions(
        n_range=tuple(a.n_range) if a.n_range else None,
        mosaic_range=tuple(a.mosaic) if a.mosaic else None,
        fluence_sigma=a.fluence_sigma, beam_sigma_mm=a.beam_jitter)
    beam_mm = (float(sim.detector.beam_x) * 1000.0, float(sim.detector.beam_y) * 1000.0)
    return still_frames(a.stills, a.seed, dist, beam_mm)


def make_executor(opts: SeriesOptions, job: SeriesJob):
    from nanobragg.series.executors import DaskExecutor, InlineExecutor, ProcessExecutor

    if opts.args.dask is not None:
        return DaskExecutor(job, opts.args.dask)
    if opts.args.workers is not None:
        return ProcessExecutor(job, opts.args.workers)
    return InlineExecutor(job)


def run(argv: Sequence[str], cwd: Path, stderr: TextIO | None = None) -> int:
    stderr = sys.stderr if stderr is None else stderr
    opts = parse_series_args(argv)
    out = (cwd / opts.args.out).resolve()
    command = command_record(opts)
    check_out_dir(out, command, opts.args.overwrite)
    if opts.args.workers is not None and opts.args.dask is None:
        from nanobragg.series.executors import start_worker_server

        start_worker_server()
    parsed = parse_frame_arguments(opts, cwd)
    from nanobragg.cli.terms import flag_terms
    from nanobragg.simulator import Simulator

    with flag_terms(parsed):  # what only the resolved models refuse, named by the flags
        base = Simulator(parsed.simulation, cwd=cwd)
    frames = plan_frames(opts, base)
    o = parsed.outputs
    key = hashlib.sha256(json.dumps(command).encode()).hexdigest()[:16] + uuid.uuid4().hex[:8]
    job = SeriesJob(parsed.simulation, opts.args.format, o.write_noise, o.adc, o.scale, str(cwd),
                    base.structure_factors, key=key)
    executor = make_executor(opts, job)  # a Dask address that does not answer fails here
    store = SeriesStore(out, command, opts.args.format)
    try:
        done = store.open(frames)
        todo = [f for f in frames if f.index not in done]
        progress = SeriesProgress(None if opts.args.quiet else stderr, len(frames), len(done))
        by_index = {f.index: f for f in frames}
        for result in executor.run(todo):
            frame = by_index[result.index]
            store.record(frame, result, frame.flags(parsed.simulation))
            progress.advance()
        store.finish(lambda h5, staged: _write_h5(h5, staged, base, frames, job, store.created))
    finally:
        executor.close()
        store.close()
    print(progress.close(str(opts.args.out)))
    return 0


def _write_h5(h5, staged: list[Path], sim, frames: list[FrameSpec], job: SeriesJob,
              start_time: str) -> None:
    """Fill series.h5 from the staged frames: the NXmx tree of the base geometry with each
    frame's start angle."""
    import math

    from nanobragg.cli.images import UINT16_CUTOFF, nxmx_geometry
    from nanobragg.io.nxmx import NXmxScan, create_nxmx

    r = sim.report
    starts = [f.phi_start_deg if f.phi_start_deg is not None else math.degrees(r.phi0)
              for f in frames]
    osc = frames[0].osc_deg if frames[0].osc_deg is not None else math.degrees(r.osc)
    if job.write_noise:
        image, saturation = (f"noise image: Poisson photons + ADC offset {job.adc:g}, "
                             "per-frame seeds in manifest.jsonl"), UINT16_CUTOFF
    else:
        image, saturation = "float image: photons/pixel, no noise", None
    dataset = create_nxmx(h5, nxmx_geometry(sim), NXmxScan(starts, osc), job.h5_dtype, image,
                          saturation, start_time)
    shape = (sim.detector.spixels, sim.detector.fpixels)
    for i, path in enumerate(staged):
        dataset[i] = np.frombuffer(path.read_bytes(), dtype=job.h5_dtype).reshape(shape)


#: how a series run that does not return a status ends (nanobragg.console)
#: SIGTERM arrives as Terminated under the console launcher (nanobragg.cli.launch)
CONSOLE = Console(PROG, interrupted="interrupted (rerun the same command to resume)",
                  terminated="terminated (rerun the same command to resume)")


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: 0, 2 on a refused command line, 130 on Ctrl-C."""
    argv = sys.argv[1:] if argv is None else list(argv)
    return CONSOLE.run(lambda: run(argv, Path.cwd()))


def console() -> None:  # pragma: no cover - the installed script
    """``nanobragg-series`` and ``python -m nanobragg.series``: through the console launcher
    (imports without garbage collection, no slow interpreter teardown at exit)."""
    from nanobragg.cli.launch import launch

    launch(PROG, lambda: main)
