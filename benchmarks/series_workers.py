"""``--workers 2`` against ``--workers 1`` on a case with >= 50 terms per pixel.

    python benchmarks/series_workers.py [--frames 96] [--rounds 3] [--threads 1|all]
        [--json FILE]

The frame: 512 x 512 pixels, oversample 2 (4 sub-pixels), 5 mosaic domains, 3 phi steps =
60 terms per pixel. Each configuration runs the whole ``python -m nanobragg.series`` command
(worker start-up included); the series' own rendering time is reported too. Target
(issue 14): whole_1 / whole_2 >= 1.7 on 2 cores. Frames must be byte-identical.

A shared host's speed drifts by tens of percent within minutes, so one pair of runs can land
anywhere from 1.45 to 1.8 x. Each of ``--rounds`` rounds runs ``--workers 1`` then
``--workers 2`` back to back and takes their ratio; the medians over rounds are reported, with
every round's figures.

A worker gets this process's torch threads / K. ``--threads 1`` (default) runs both commands
with ``OMP_NUM_THREADS=1``, so every worker renders on one thread and the ratio measures how
the frames spread over processes; ``--threads all`` leaves the threads alone, so that
``--workers 1`` renders on every core with torch threads (the ratio is then processes against
threads).
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

FRAME = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "300", "-N", "10",
         "-lambda", "1.0", "-distance", "100", "-detpixels", "512", "-pixel", "0.1",
         "-oversample", "2", "-mosaic", "0.2", "-mosaic_domains", "5", "-phisteps", "3"]
TERMS_PER_PIXEL = 2 * 2 * 5 * 3


def timed(frames: int, workers: int, out: Path, env: dict) -> tuple[float, float]:
    command = [sys.executable, "-m", "nanobragg.series", "--frames", str(frames), "--osc",
               "0.1", "--format", "float", "--workers", str(workers), "--quiet", "--out",
               str(out), "--", *FRAME]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    whole = time.perf_counter() - start
    return whole, float(re.search(r"rendered in ([0-9.]+) s", done.stdout).group(1))


def one_round(frames: int, env: dict) -> dict:
    """``--workers 1`` then ``--workers 2``, back to back: their times and ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp) / "w1", Path(tmp) / "w2"
        whole_1, rendered_1 = timed(frames, 1, one, env)
        whole_2, rendered_2 = timed(frames, 2, two, env)
        identical = all((one / p.name).read_bytes() == p.read_bytes()
                        for p in two.glob("frame_*"))
    return {"whole_1_s": whole_1, "whole_2_s": whole_2, "speedup_whole": whole_1 / whole_2,
            "rendered_1_s": rendered_1, "rendered_2_s": rendered_2,
            "speedup_rendering": rendered_1 / rendered_2, "frames_identical": identical}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", choices=("1", "all"), default="1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.threads == "1":
        env["OMP_NUM_THREADS"] = "1"
    rounds = [one_round(args.frames, env) for _ in range(args.rounds)]
    identical = all([r.pop("frames_identical") for r in rounds])
    median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    result = {
        "frames": args.frames, "terms_per_pixel": TERMS_PER_PIXEL, "threads": args.threads,
        "cores": os.cpu_count(), "rounds": args.rounds,
        **{key: round(v, 2) for key, v in median.items()},
        "per_round": {key: [round(r[key], 2) for r in rounds] for key in rounds[0]},
        "frames_identical": identical,
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
