"""Kill -9 a nanobragg-series run at random moments, rerun it, and check it loses nothing.

    python benchmarks/series_kill.py [--kills 20] [--frames 24] [--workers K] [--seed 0]
        [--json FILE]

1. An uninterrupted run writes the reference series.
2. The same command is started again and again in a second directory, each time killed with
   SIGKILL at a random moment of its run (start-up included; see :func:`run`). After every
   kill, every frame file present must be
   byte-identical to the reference (a partial file would differ) and every manifest line
   but the last must parse.
3. A last, unkilled run completes the series: all frames and the manifest must be
   byte-identical to the reference, and no temporary file may remain.

With ``--workers K`` every run renders in a pool of K worker processes, and after each kill
no process of the killed command may remain (found through ``/proc`` by a marker in their
environment; Linux only): a worker outliving the command would hold its Simulator forever.

Prints one JSON object (also written to --json) with the figures; exit status 1 when any
check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

FRAME = ["-cell", "100", "100", "100", "90", "90", "90", "-default_F", "300", "-N", "10",
         "-lambda", "1.0", "-distance", "100", "-detpixels", "256", "-pixel", "0.2",
         "-phisteps", "2"]


MARKER = "NB_SERIES_KILL_MARK"
#: seconds the processes of a killed command get to follow it out
ORPHAN_GRACE_S = 5.0


def series_command(out: Path, frames: int, workers: int | None) -> list[str]:
    where = ["--workers", str(workers)] if workers else []
    return [sys.executable, "-m", "nanobragg.series", "--frames", str(frames), "--osc", "0.2",
            *where, "--quiet", "--out", str(out), "--", *FRAME]


def processes_marked(mark: str) -> int | None:
    """How many processes carry ``MARKER=mark`` in their environment (None without /proc)."""
    if not os.path.isdir("/proc"):
        return None
    needle, count = f"{MARKER}={mark}".encode(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                count += needle in Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
    return count


def orphans_after(mark: str) -> int | None:
    """Processes of a killed command still there after :data:`ORPHAN_GRACE_S`."""
    deadline = time.monotonic() + ORPHAN_GRACE_S
    while (left := processes_marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def frame_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("frame_*"))}


def temporaries(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob(".*.part"))


def check_after_kill(out: Path, reference: dict[str, bytes]) -> dict:
    present = frame_files(out)
    partial = [name for name, data in present.items() if reference.get(name) != data]
    lines = (out / "manifest.jsonl").read_text().splitlines() if (out / "manifest.jsonl").exists() \
        else []
    bad_lines = 0
    for line in lines[:-1]:
        try:
            json.loads(line)
        except ValueError:
            bad_lines += 1
    return {"frames_present": len(present), "partial_frame_files": partial,
            "temporaries_left": len(temporaries(out)), "bad_manifest_lines": bad_lines}


def timed_reference(command: list[str], out: Path, env: dict) -> tuple[float, float]:
    """Run the reference series; (seconds to its first frame, seconds in all)."""
    start = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    first = None
    while process.poll() is None:
        if first is None and any(out.glob("frame_*")):
            first = time.monotonic() - start
        time.sleep(0.02)
    if process.returncode != 0:
        raise SystemExit("the reference series failed")
    total = time.monotonic() - start
    return (first if first is not None else total), total


def run(kills: int, frames: int, seed: int, workdir: Path, workers: int | None = None) -> dict:
    """Each kill moment is uniform in [0, start-up + the frames left x the time per frame] of
    the reference, so kills land during start-up and during rendering alike; when a run
    completes before its kill, the series starts over in a fresh directory."""
    rng = random.Random(seed)
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    ref, out = workdir / "reference", workdir / "killed"
    first, total = timed_reference(series_command(ref, frames, workers), ref, env)
    per_frame = (total - first) / max(frames - 1, 1)
    reference = frame_files(ref)
    records, restarts = [], 0
    for _ in range(kills):
        left = frames - len(frame_files(out)) if out.exists() else frames
        if left == 0:
            shutil.rmtree(out)
            restarts, left = restarts + 1, frames
        moment = rng.uniform(0.0, first + left * per_frame)
        mark = uuid.uuid4().hex
        process = subprocess.Popen(series_command(out, frames, workers),
                                   env={**env, MARKER: mark},
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=moment)
            finished = True
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            finished = False
        orphans = orphans_after(mark)
        after = check_after_kill(out, reference) if out.exists() else {
            "frames_present": 0, "partial_frame_files": [], "temporaries_left": 0,
            "bad_manifest_lines": 0}
        records.append({"moment_s": round(moment, 3), "finished_before_kill": finished,
                        "frames_left_before": left, "processes_left": orphans, **after})
    subprocess.run(series_command(out, frames, workers), check=True, env=env,
                   capture_output=True)
    identical = (frame_files(out) == reference
                 and (out / "manifest.jsonl").read_bytes() == (ref / "manifest.jsonl").read_bytes())
    return {
        "frames": frames, "workers": workers, "kills": kills, "reference_wall_s": round(total, 2),
        "reference_first_frame_s": round(first, 2), "restarts_after_completion": restarts,
        "kills_that_interrupted": sum(not r["finished_before_kill"] for r in records),
        "kills_during_rendering": sum(not r["finished_before_kill"]
                                      and r["frames_present"] > frames - r["frames_left_before"]
                                      for r in records),
        "partial_frame_files_seen": sum(len(r["partial_frame_files"]) for r in records),
        "max_temporaries_left_by_a_kill": max((r["temporaries_left"] for r in records),
                                              default=0),
        "bad_manifest_lines_seen": sum(r["bad_manifest_lines"] for r in records),
        "temporaries_after_final_run": len(temporaries(out)),
        "processes_left_by_kills": (None if records and records[0]["processes_left"] is None
                                    else sum(r["processes_left"] for r in records)),
        "final_identical_to_reference": identical,
        "per_kill": records,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--workers", type=int, help="render in K worker processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path, help="keep the series here (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.kills, args.frames, args.seed, workdir, args.workers)
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    ok = (result["final_identical_to_reference"] and result["partial_frame_files_seen"] == 0
          and result["bad_manifest_lines_seen"] == 0 and result["temporaries_after_final_run"] == 0
          and not result["processes_left_by_kills"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
