"""A rotation series of the memo geometry in one process against separate nanobragg runs.

    python benchmarks/series_rotation.py [--frames 90] [--processes 90] [--format smv|float]
        [--rounds 3] [--json FILE]

Measures, in one sitting on the same machine, in ``--rounds`` rounds (medians reported, each
ratio taken within its round):

* ``warm_render_s``: one warm ``Simulator.run`` of a frame (in process, the mean over the
  series' frames);
* ``warm_noise_s``: the noise image of a frame (C's sequential ran1/poidev, bit-exact);
* ``warm_frame_s``: one warm frame as the series makes it, one step after the other
  (reconfigure, run, noise image, file bytes: ``FrameRenderer.render``);
* ``series_per_frame_s``: the series' own time per frame (one process, one Simulator; frame
  files and manifest written), from the frames/s of its summary line;
* ``series_marginal_frame_s``: what one more frame costs: the rendering time of a series of
  2 x ``--frames`` less that of ``--frames``, per frame (torch's one-time warm-up cancels);
* ``series_whole_s``: the whole ``python -m nanobragg.series`` command (start-up included);
* ``processes_s``: ``--processes`` separate ``python -m nanobragg`` runs of the same frames
  (``-phi``/``-osc``/``-seed`` of each frame, the noise image written), one after the other;
  scaled to ``--frames`` when fewer are run (``processes_scaled_s``).

``--format float`` writes the render itself, so its frames compare with ``warm_render_s``;
the default ``smv`` frames hold the noise image, made from the render by C's sequential
random numbers, so they compare with ``warm_render_s + warm_noise_s``
(``per_frame_vs_warm_output``, and ``marginal_vs_warm_output`` for the marginal cost).
Targets (issue 14): those ratios <= 1.1, and
processes_scaled_s / series_whole_s >= 20.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: the memo command (docs/fix_plan.md, tests/golden/memo_512): one term per pixel; its
#: -phisteps 1 is added where the frames are rendered
MEMO = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "300", "-N", "10",
        "-lambda", "1.0", "-distance", "100", "-detpixels", "512", "-pixel", "0.1",
        "-oversample", "1", "-mosaic_dom", "1"]
OSC = 0.1


def warm_times(frames: int, fmt: str) -> dict[str, float]:
    """Means over the series' own ``frames`` frames, by a warm Simulator (one render first):
    ``render`` (``Simulator.run`` after the frame's reconfigure), ``noise`` (the frame's
    noise image), ``frame`` (``FrameRenderer.render``: reconfigure, run, noise, file bytes,
    one after the other). The same frames as the series, since a frame's cost depends a
    little on its orientation."""
    from nanobragg.cli.args import parse_args
    from nanobragg.cli.images import noise_of
    from nanobragg.series.plan import frame_config, rotation_frames
    from nanobragg.series.render import FrameRenderer, SeriesJob

    parsed = parse_args([*MEMO, "-phisteps", "1"], Path.cwd())
    parsed.simulation.seed = 1
    specs = rotation_frames(frames, 0.0, OSC, 1)
    job = SeriesJob(parsed.simulation, fmt, True, 40.0, 0.0, str(Path.cwd()), None)
    renderer = FrameRenderer(job)
    renderer.render(specs[-1])  # torch's one-time warm-up
    sim, times = renderer.sim, {"render": 0.0, "noise": 0.0, "frame": 0.0}
    for frame in specs:
        sim.reconfigure(frame_config(job.config, frame))
        start = time.perf_counter()
        image = sim.run().numpy()
        times["render"] += time.perf_counter() - start
        start = time.perf_counter()
        noise_of(image, sim, frame.seed, 40.0)
        times["noise"] += time.perf_counter() - start
    start = time.perf_counter()
    for frame in specs:
        renderer.render(frame)
    times["frame"] = time.perf_counter() - start
    return {name: total / frames for name, total in times.items()}


def series_times(frames: int, out: Path, fmt: str) -> tuple[float, float]:
    """(whole command wall time, rendering time reported by the series)."""
    command = [sys.executable, "-m", "nanobragg.series", "--frames", str(frames), "--osc",
               str(OSC), "--format", fmt, "--quiet", "--out", str(out), "--", *MEMO,
               "-phisteps", "1"]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    whole = time.perf_counter() - start
    rate = float(re.search(r"([0-9.]+) frames/s", done.stdout).group(1))
    return whole, frames / rate


def processes_time(count: int, out: Path) -> float:
    """``count`` separate nanobragg processes, the flags of each frame from the manifest."""
    entries = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        for entry in entries[:count]:
            subprocess.run([sys.executable, "-m", "nanobragg", *MEMO, "-phisteps", "1",
                            *entry["nanobragg_flags"], "-noprogress"], cwd=tmp, check=True,
                           capture_output=True)
        return time.perf_counter() - start


def one_round(args: argparse.Namespace, tmp: Path, n: int) -> dict[str, float]:
    """Warm times, then the series of --frames and of twice as many, close together in time
    (the host's load drifts; ratios are taken within a round)."""
    warm = warm_times(args.frames, args.format)
    # the frame file holds the render itself (float) or its noise image (smv), which C's
    # sequential random numbers make on top of the render
    warm_output = warm["render"] + (warm["noise"] if args.format == "smv" else 0.0)
    whole, rendered = series_times(args.frames, tmp / f"series{n}", args.format)
    # the marginal cost of a frame: a series twice as long, less the first (the start-up
    # of torch's first render, once per process, cancels)
    _, rendered_twice = series_times(2 * args.frames, tmp / f"twice{n}", args.format)
    per_frame = rendered / args.frames
    marginal = (rendered_twice - rendered) / args.frames
    return {
        "warm_render_s": warm["render"], "warm_noise_s": warm["noise"],
        "warm_frame_s": warm["frame"], "series_per_frame_s": per_frame,
        "series_whole_s": whole, "series_marginal_frame_s": marginal,
        "per_frame_vs_warm_render": per_frame / warm["render"],
        "per_frame_vs_warm_output": per_frame / warm_output,
        "marginal_vs_warm_output": marginal / warm_output,
        "per_frame_vs_warm_frame": per_frame / warm["frame"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--processes", type=int, default=90,
                        help="separate nanobragg runs to time (scaled to --frames)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of warm times and series; the medians are reported")
    parser.add_argument("--format", default="smv", choices=("smv", "float"),
                        help="frame files: smv (the noise image, the default) or float (the "
                             "rendered image itself)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rounds = [one_round(args, Path(tmp), n) for n in range(args.rounds)]
        count = min(args.processes, args.frames)
        processes = processes_time(count, Path(tmp) / "series0")
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    scaled = processes * args.frames / count
    result = {
        "frames": args.frames, "format": args.format,
        "threads": os.environ.get("OMP_NUM_THREADS", "default"), "rounds": args.rounds,
        **{key: round(v, 4) for key, v in median.items()},
        "per_round": {key: [round(r[key], 4) for r in rounds] for key in rounds[0]},
        "processes_timed": count, "processes_s": round(processes, 2),
        "processes_scaled_s": round(scaled, 2),
        "speedup_vs_processes": round(scaled / median["series_whole_s"], 1),
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
