"""kill -9 of ``loopkit loop`` at random moments; every next loop must resume cleanly.

    python benchmarks/loop_kill9.py --kills 100 [--seed 1] [--max-delay 2.0] [--keep DIR]

A scratch repository gets a two-role loop with tiny agents (the engineer writes a file,
sleeps, writes another, so a kill can leave partial changes). Each round starts
``loopkit loop --turns 3`` and sends SIGKILL to loopkit (and, every third round, to its whole
process group, git children included) after a random delay. After every round the committed
journal must extend the one before it (no silent reset). At the end one loop runs unkilled,
and the run checks: ``loopkit check --turns`` is clean; turns are 1..N with one commit each;
every commit the branch ever pointed at that carries a Loopkit-Turn trailer is still in its
history (no lost commit); each ok engineer turn's file is in HEAD; the tree is clean.
Prints the figures as JSON. Timing figures are only meaningful on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TOML = """\
[loop]
order = ["supervisor", "engineer"]
kill_grace_s = 0.5
[roles.supervisor]
command = "sleep 0.$((RANDOM % 3)); echo memo $LOOPKIT_TURN > input.md"
contract = []
[roles.engineer]
command = "t=$LOOPKIT_TURN; echo $t > work/t$t.txt; sleep 0.$((RANDOM % 4)); echo > work/t$t.more"
contract = []
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                          check=True).stdout


def make_repo(root: Path) -> None:
    (root / "work").mkdir(parents=True)
    (root / "work/.keep").write_text("")
    (root / "input.md").write_text("memo\n")
    (root / "loopkit.toml").write_text(TOML)
    (root / ".gitignore").write_text((REPO / ".gitignore").read_text())
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "bench")
    git(root, "config", "user.email", "bench@example.org")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "scratch")


def loop_cmd(root: Path, turns: int) -> list[str]:
    return [sys.executable, "-m", "loopkit", "--root", str(root), "loop", "--turns", str(turns)]


def committed_journal(root: Path) -> list[str]:
    out = subprocess.run(["git", "show", "HEAD:.loopkit/turns.jsonl"], cwd=root,
                         capture_output=True, text=True, check=False)
    return out.stdout.splitlines() if out.returncode == 0 else []


def one_round(root: Path, rng: random.Random, max_delay: float, group: bool) -> dict[str, Any]:
    proc = subprocess.Popen(loop_cmd(root, 3), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    time.sleep(rng.uniform(0.0, max_delay))
    killed = proc.poll() is None
    if killed:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    out, _ = proc.communicate()
    return {"killed": killed, "rc": proc.returncode, "output": out}


def final_checks(root: Path) -> dict[str, Any]:
    records = [json.loads(line) for line in committed_journal(root)]
    check = subprocess.run([sys.executable, "-m", "loopkit", "--root", str(root), "check",
                            "--turns"], capture_output=True, text=True, check=False)
    trailer_fmt = "%H %(trailers:key=Loopkit-Turn,valueonly,separator=%x2C)"
    history = git(root, "log", f"--format={trailer_fmt}").split("\n")
    turn_commits = [line.split()[1] for line in history if len(line.split()) == 2]
    reflog = git(root, "reflog", "show", "--format=%H", "refs/heads/main").split()
    lost = [sha for sha in set(reflog)
            if git(root, "log", "-1", "--format=%(trailers:key=Loopkit-Turn,valueonly)",
                   sha).strip()
            and subprocess.run(["git", "merge-base", "--is-ancestor", sha, "HEAD"], cwd=root,
                               check=False).returncode != 0]
    missing = [r["turn"] for r in records if r["role"] == "engineer" and r["verdict"] == "ok"
               and not (root / f"work/t{r['turn']}.txt").is_file()]
    return {
        "turns": len(records),
        "by_verdict": {v: sum(r["verdict"] == v for r in records)
                       for v in ("ok", "failed", "aborted")},
        "turn_numbers_ok": [r["turn"] for r in records] == list(range(1, len(records) + 1)),
        "turn_commits": len(turn_commits),
        "duplicate_turn_commits": len(turn_commits) - len(set(turn_commits)),
        "lost_commits": len(lost),
        "missing_engineer_files": missing,
        "aside_branches": len(git(root, "branch", "--list", "loopkit/aside/*").split()),
        "check_turns_rc": check.returncode,
        "check_turns": check.stdout.strip().splitlines()[-1:],
        "tree_clean": git(root, "status", "--porcelain", "--untracked-files=all") == "",
    }


def run(kills: int, seed: int, max_delay: float, root: Path) -> dict[str, Any]:
    make_repo(root)
    rng = random.Random(seed)
    t0 = time.monotonic()
    before: list[str] = []
    rounds = killed = resets = failures = recovered = 0
    while killed < kills:
        result = one_round(root, rng, max_delay, group=rounds % 3 == 2)
        rounds += 1
        killed += result["killed"]
        recovered += result["output"].count("recovered: turn ")
        if not result["killed"] and result["rc"] != 0:
            failures += 1
            print(result["output"], file=sys.stderr)
        now = committed_journal(root)
        if now[:len(before)] != before:
            resets += 1
        before = now
    final = subprocess.run(loop_cmd(root, 2), capture_output=True, text=True, check=False)
    figures = {"kills": killed, "rounds": rounds, "seed": seed, "max_delay_s": max_delay,
               "unkilled_loops_that_failed": failures, "journal_resets": resets,
               "final_loop_rc": final.returncode,
               "recoveries": recovered + final.stdout.count("recovered: turn "),
               "seconds": round(time.monotonic() - t0, 1), **final_checks(root)}
    figures["ok"] = (failures == 0 and resets == 0 and final.returncode == 0
                     and figures["check_turns_rc"] == 0 and figures["lost_commits"] == 0
                     and figures["duplicate_turn_commits"] == 0 and figures["turn_numbers_ok"]
                     and not figures["missing_engineer_files"] and figures["tree_clean"]
                     and figures["turn_commits"] == figures["turns"])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-delay", type=float, default=2.0,
                        help="largest delay before the kill, seconds")
    parser.add_argument("--keep", type=Path, help="keep the scratch repository here")
    args = parser.parse_args()
    if args.keep:
        figures = run(args.kills, args.seed, args.max_delay, args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            figures = run(args.kills, args.seed, args.max_delay, Path(tmp) / "repo")
    print(json.dumps(figures, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
