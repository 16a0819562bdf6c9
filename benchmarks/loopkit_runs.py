"""loopkit run at scale (issue 18): a memo of many steps, and one step with a huge output.

* ``steps``: a memo of N ``echo`` steps (default 10,000) run by ``python -m loopkit run``;
  prints the wall time, the time per step and the size of run.json.
* ``output``: one step printing M MB (default 300) of lines with a planted secret at the
  end; prints the wall time, loopkit's peak RSS (the largest process loopkit waited for, bash
  and the printing program included) and whether the secret reached the run folder.

    python benchmarks/loopkit_runs.py [--steps 10000] [--megabytes 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """Summary: scale
Mode: Docs
Focus: SCALE-001 / Phase A1 — scale
Mapped tests: none — evidence-only
Artifacts: reports/scale/
Do Now: SCALE-001 — echo ok
If Blocked: stop.

How-To Map:
"""
SECRET = "pw-Qz81xLm-scale"


def _repo(base: Path, memo: str) -> Path:
    repo = base / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "memo.md").write_text(memo)
    return repo


def _run(repo: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and the exit code of ``loopkit run memo.md``."""
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "loopkit", "--root", str(repo), "run",
                          "memo.md"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    if out.returncode not in (0, 3):
        print(out.stderr[-2000:], file=sys.stderr)
    return time.monotonic() - started, out.returncode


def many_steps(n: int) -> dict[str, float]:
    memo = HEADER + "".join(f"- echo step {i}\n  Expect: rc=0\n" for i in range(1, n + 1))
    with tempfile.TemporaryDirectory(prefix="lk-steps-") as tmp:
        repo = _repo(Path(tmp), memo)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        wall, rc = _run(repo, env)
        run_json = next((repo / "reports").rglob("run.json"))
        done = sum(s["status"] == "ok" for s in json.loads(run_json.read_text())["steps"])
        return {"steps": n, "steps_ok": done, "rc": rc, "wall_s": round(wall, 1),
                "ms_per_step": round(1000 * wall / n, 1),
                "run_json_kib": round(run_json.stat().st_size / 1024)}


EMIT = """import sys
line = "0123456789abcdef" * 4 + "\\n"
block = line * 16384
for _ in range(int(sys.argv[1]) * 2**20 // len(block)):
    sys.stdout.write(block)
sys.stdout.write(sys.argv[2] + "\\n")
"""


def huge_output(megabytes: int) -> dict[str, object]:
    memo = HEADER + f'- python emit.py {megabytes} "$MY_PRIVATE_PW"\n  Expect: rc=0\n'
    with tempfile.TemporaryDirectory(prefix="lk-output-") as tmp:
        repo = _repo(Path(tmp), memo)
        (repo / "emit.py").write_text(EMIT)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "MY_PRIVATE_PW": SECRET}
        wall, rc = _run(repo, env)
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        out = next((repo / "reports").rglob("steps/01.out"))
        with open(out, "rb") as fh:
            fh.seek(max(0, out.stat().st_size - 4096))
            tail = fh.read()
        return {"megabytes": megabytes, "rc": rc, "wall_s": round(wall, 1),
                "peak_rss_mib": round(peak_mib), "out_mib": round(out.stat().st_size / 2**20),
                "secret_in_output": SECRET.encode() in tail}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--megabytes", type=int, default=300)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    result = {"output": huge_output(args.megabytes), "steps": many_steps(args.steps)}
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
