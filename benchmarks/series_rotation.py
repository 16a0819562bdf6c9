"""A rotation series of the memo geometry in one process against separate nanobragg runs.

    python benchmarks/series_rotation.py [--frames 90] [--processes 90] [--json FILE]

Measures, in one sitting on the same machine:

* ``warm_render_s``: one warm ``Simulator.run`` of a frame (median of repeats, in process);
* ``warm_frame_s``: one warm frame as the series makes it (reconfigure, run, noise image,
  SMV bytes: ``FrameRenderer.render``), median of repeats;
* ``series_per_frame_s``: the series' own rendering time / frames (one process, one
  Simulator; frame files and manifest written), from its summary line;
* ``series_whole_s``: the whole ``python -m nanobragg.series`` command (start-up included);
* ``processes_s``: ``--processes`` separate ``python -m nanobragg`` runs of the same frames
  (``-phi``/``-osc``/``-seed`` of each frame, the noise image written), one after the other;
  scaled to ``--frames`` when fewer are run (``processes_scaled_s``).

Targets (issue 14): series_per_frame_s within 10 % of warm_frame_s (and reported against
warm_render_s), and processes_scaled_s / series_whole_s >= 20.
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


def warm_times(repeats: int) -> tuple[float, float]:
    """(median Simulator.run, median FrameRenderer.render) of a memo frame, warm."""
    from nanobragg.cli.args import parse_args
    from nanobragg.series.plan import rotation_frames
    from nanobragg.series.render import FrameRenderer, SeriesJob

    parsed = parse_args([*MEMO, "-phisteps", "1"], Path.cwd())
    parsed.simulation.seed = 1
    frames = rotation_frames(repeats + 1, 0.0, OSC, 1)
    job = SeriesJob(parsed.simulation, "smv", True, 40.0, 0.0, str(Path.cwd()), None)
    renderer = FrameRenderer(job)
    renderer.render(frames[0])
    runs, renders = [], []
    for frame in frames[1:]:
        start = time.perf_counter()
        renderer.sim.run()
        runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        renderer.render(frame)
        renders.append(time.perf_counter() - start)
    return statistics.median(runs), statistics.median(renders)


def series_times(frames: int, out: Path) -> tuple[float, float]:
    """(whole command wall time, rendering time reported by the series)."""
    command = [sys.executable, "-m", "nanobragg.series", "--frames", str(frames), "--osc",
               str(OSC), "--quiet", "--out", str(out), "--", *MEMO, "-phisteps", "1"]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    whole = time.perf_counter() - start
    rendered = float(re.search(r"rendered in ([0-9.]+) s", done.stdout).group(1))
    return whole, rendered


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=90)
    parser.add_argument("--processes", type=int, default=90,
                        help="separate nanobragg runs to time (scaled to --frames)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    warm_render, warm_frame = warm_times(args.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "series"
        whole, rendered = series_times(args.frames, out)
        count = min(args.processes, args.frames)
        processes = processes_time(count, out)
    per_frame = rendered / args.frames
    scaled = processes * args.frames / count
    result = {
        "frames": args.frames, "threads": os.environ.get("OMP_NUM_THREADS", "default"),
        "warm_render_s": round(warm_render, 4), "warm_frame_s": round(warm_frame, 4),
        "series_per_frame_s": round(per_frame, 4), "series_whole_s": round(whole, 2),
        "per_frame_vs_warm_frame": round(per_frame / warm_frame, 3),
        "per_frame_vs_warm_render": round(per_frame / warm_render, 3),
        "processes_timed": count, "processes_s": round(processes, 2),
        "processes_scaled_s": round(scaled, 2),
        "speedup_vs_processes": round(scaled / whole, 1),
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
