"""Benchmarks of the term count (not part of the test suite).

    python benchmarks/workload_benchmarks.py rate      # terms per second of a render (CPU)
    python benchmarks/workload_benchmarks.py refusal   # wall time of refusing the issue-17 jobs
    python benchmarks/workload_benchmarks.py all --out workload_bench.json

``rate`` renders a 512x512 detector at 1, 9 and 36 sub-pixels per pixel in this process and
reports terms per second (compare with ``nanobragg.workload.TERMS_PER_SECOND``, the rate of the
long-render estimate). ``refusal`` runs ``python -m nanobragg`` on each too-large job of issue
17 and on a trivial refusal (a bad value), and reports the wall times: their difference is the
time the count and the refusal take. Figures from a contended machine are not meaningful.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASE = ["-cell", "50", "50", "50", "90", "90", "90", "-default_F", "10", "-distance", "100",
        "-noprogress", "-seed", "1", "-nonoise", "-nopgm"]
BIG = BASE + ["-detpixels", "1024"]
JOBS = {
    "trivial (bad value)": BASE + ["-detpixels", "0"],
    "-oversample 1000": BIG + ["-oversample", "1000"],
    "-dispsteps 1e6": BIG + ["-dispersion", "1", "-dispsteps", "1000000"],
    "-divsteps 1e5": BIG + ["-divergence", "1", "-divsteps", "100000"],
    "-phisteps 1e8 -osc 1": BIG + ["-osc", "1", "-phisteps", "100000000"],
    "-detector_thicksteps 1e9": BIG + ["-detector_thick", "100", "-detector_thicksteps",
                                       "1000000000"],
    "sourcefile of 1e6 lines": BIG + ["-sourcefile", "many.txt"],
}


def rate() -> dict:
    from nanobragg.cli.args import parse_args
    from nanobragg.simulator import Simulator

    out = {}
    for oversample in (1, 3, 6):
        parsed = parse_args(BASE + ["-detpixels", "512", "-oversample", str(oversample)])
        sim = Simulator(parsed.simulation)
        start = time.perf_counter()
        sim.run()
        seconds = time.perf_counter() - start
        out[f"oversample {oversample}"] = {"terms": sim.workload.terms, "seconds": seconds,
                                           "terms_per_s": sim.workload.terms / seconds}
    return out


def refusal() -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "many.txt").write_bytes(b"-10 0 0 1 1e-10\n" * 10**6)
        for name, args in JOBS.items():
            start = time.perf_counter()
            result = subprocess.run([sys.executable, "-m", "nanobragg", *args], cwd=tmp,
                                    capture_output=True, text=True, timeout=600)
            out[name] = {"seconds": time.perf_counter() - start, "status": result.returncode,
                         "stderr": result.stderr.strip()[:160]}
    trivial = out["trivial (bad value)"]["seconds"]
    for entry in out.values():
        entry["beyond_trivial_s"] = entry["seconds"] - trivial
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["rate", "refusal", "all"])
    parser.add_argument("--out", type=Path)
    opts = parser.parse_args()
    results = {"cpu_count": os.cpu_count()}
    if opts.what in ("rate", "all"):
        results["rate"] = rate()
    if opts.what in ("refusal", "all"):
        results["refusal"] = refusal()
    text = json.dumps(results, indent=2, default=lambda x: None if math.isnan(x) else x)
    print(text)
    if opts.out:
        opts.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
