"""Replay this repository's K3g3 loop as two scripted turns of ``loopkit loop``.

    .venv/bin/python scripts/loop_replay_k3g3.py --out reports/loop-replay-k3g3

On a scratch clone of the repository (its committed state), the supervisor turn runs
``loopkit memo new --task K3g3 --write`` then ``loopkit memo lint`` and adds a memory recap;
the engineer turn runs ``loopkit run`` on that memo and ``loopkit attempt add``. Set NB_C_BIN
for the live steps; without it they are skipped-by-environment and the run is partial.
The records are copied to ``--out/<STAMP>/``: the journal, ``turns --json``, ``check
--turns``, the two commits with their trailers, the turn logs, the drafted memo, the
Attempt and the memory entry the turns added, and the run folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests/loopkit"))
sys.path.insert(0, str(REPO / "tests"))

from loop_helpers import scratch_copy  # noqa: E402


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout


def venv_view(venv: Path, view: Path) -> None:
    """A virtual environment at ``view`` that shares ``venv``'s packages: its own python and
    console scripts (their shebangs name the view), so the evidence never names ``venv``."""
    (view / "bin").mkdir(parents=True)
    (view / "lib").symlink_to(venv / "lib")
    (view / "pyvenv.cfg").write_bytes((venv / "pyvenv.cfg").read_bytes())
    python = view / "bin/python3"
    python.symlink_to((venv / "bin/python3").resolve())
    (view / "bin/python").symlink_to("python3")
    for script in (venv / "bin").iterdir():
        if script.name.startswith("python") or not script.is_file():
            continue
        text = script.read_text(errors="replace")
        if text.startswith("#!") and "python" in text.splitlines()[0]:
            target = view / "bin" / script.name
            target.write_text(f"#!{python}\n" + text.split("\n", 1)[1])
            target.chmod(0o755)


def lk_in_copy(root: Path, *args: str,
               timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    """loopkit through the copy's own ``.venv`` (a link to this one), so the evidence names
    ``<repo>/.venv`` rather than this machine's path."""
    python = root / ".venv/bin/python"
    env = dict(os.environ)
    env["PATH"] = f"{python.parent}:{env.get('PATH', '')}"
    return subprocess.run([str(python), "-m", "loopkit", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)


def replay(out_root: Path, workdir: Path) -> Path:
    root = scratch_copy(workdir / "copy", "k3g3_supervisor.sh", "k3g3_engineer.sh")
    venv_view(Path(sys.prefix), root / ".venv")
    base = _git(root, "rev-parse", "HEAD").strip()
    loop = lk_in_copy(root, "loop", "--turns", "2", timeout=1800)
    if loop.returncode != 0:
        raise SystemExit(f"loopkit loop failed:\n{loop.stdout}{loop.stderr}")
    rows = json.loads(lk_in_copy(root, "turns", "--json").stdout)
    out = out_root / rows[0]["log"].split("/")[-2].split("-t")[0]
    out.mkdir(parents=True, exist_ok=False)
    (out / "loop_output.txt").write_text(loop.stdout)
    (out / "turns.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / "check_turns.txt").write_text(lk_in_copy(root, "check", "--turns").stdout)
    (out / "commits.txt").write_text(_git(root, "log", "--stat", "--format=%n%H%n%B",
                                          f"{base}..HEAD"))
    for name in ("input.md", "docs/fix_plan.md", "galph_memory.md"):
        diff = _git(root, "diff", base, "HEAD", "--", name)
        (out / (name.replace("/", "_") + ".diff")).write_text(diff)
    shutil.copy(root / ".loopkit/turns.jsonl", out / "turns.jsonl")
    for row in rows:
        shutil.copy(root / row["log"], out / f"turn{row['turn']}_{row['role']}.log")
    for run_json in rows[1]["files"]:
        if run_json.endswith("/run.json"):
            shutil.copytree(root / Path(run_json).parent, out / "run")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/loop-replay-k3g3"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = replay(args.out.resolve(), Path(tmp))
    rows = json.loads((out / "turns.json").read_text())
    for row in rows:
        print(f"turn {row['turn']} {row['role']}: {row['verdict']} ({row['reason']}) "
              f"{row['duration_s']} s")
    print(f"records in {out}")
    return 0 if all(r["verdict"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
