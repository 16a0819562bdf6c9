"""``--workers 2`` against ``--workers 1`` on a case with >= 50 terms per pixel.

    python benchmarks/series_workers.py [--frames 24] [--threads 1|all] [--json FILE]

The frame: 512 x 512 pixels, oversample 2 (4 sub-pixels), 5 mosaic domains, 3 phi steps =
60 terms per pixel. Each configuration runs the whole ``python -m nanobragg.series`` command
(worker start-up included); the series' own rendering time is reported too. Target
(issue 14): whole_1 / whole_2 >= 1.7 on 2 cores. Frames must be byte-identical.

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--threads", choices=("1", "all"), default="1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.threads == "1":
        env["OMP_NUM_THREADS"] = "1"
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp) / "w1", Path(tmp) / "w2"
        whole_1, rendered_1 = timed(args.frames, 1, one, env)
        whole_2, rendered_2 = timed(args.frames, 2, two, env)
        identical = all((one / p.name).read_bytes() == p.read_bytes()
                        for p in two.glob("frame_*"))
    result = {
        "frames": args.frames, "terms_per_pixel": TERMS_PER_PIXEL, "threads": args.threads,
        "cores": os.cpu_count(),
        "whole_1_s": round(whole_1, 2), "whole_2_s": round(whole_2, 2),
        "speedup_whole": round(whole_1 / whole_2, 2),
        "rendered_1_s": round(rendered_1, 2), "rendered_2_s": round(rendered_2, 2),
        "speedup_rendering": round(rendered_1 / rendered_2, 2),
        "frames_identical": identical,
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
