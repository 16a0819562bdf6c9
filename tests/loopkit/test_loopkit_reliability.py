"""Concurrent writers get distinct numbers; kill -9 never leaves a broken or lossy ledger."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from loopkit.fsio import read_text, sha256_file
from loopkit.parsers.ledger import parse_ledger
from loopkit.run.evidence import record_run

RUN_ROOT = "reports/2025-10-loopkit/phase_c"
WORKER = """
import sys
from pathlib import Path
from loopkit.config import load_config
from loopkit.ops.attempts import AttemptRequest, add_attempt
cfg = load_config(Path(sys.argv[1]))
for run_id in sys.argv[2:]:
    res = add_attempt(cfg, AttemptRequest("CLI-FLAGS-003", run_id))
    print(run_id, res.n, flush=True)
"""


def fake_runs(repo: Path, count: int, verdict: str = "fail") -> list[str]:
    """Minimal run folders, digested and entered in loopkit's record of runs as a finished
    run is (these tests are about the ledger under concurrency and kills, not provenance)."""
    ids = []
    for k in range(count):
        run_id = f"20251006T17{k // 60:02d}{k % 60:02d}Z"
        run_dir = repo / RUN_ROOT / run_id
        run_dir.mkdir(parents=True)
        (run_dir / "summary.md").write_text("# run\n")
        record = {"run_id": run_id, "run_dir": f"{RUN_ROOT}/{run_id}",
                  "started": "2025-10-06T17:00:00Z", "verdict": verdict, "steps": [],
                  "counts": {"pass": 0, "fail": 1, "unchecked": 0},
                  "artifacts": [{"path": f"{RUN_ROOT}/{run_id}/summary.md"}]}
        (run_dir / "run.json").write_text(json.dumps(record))
        (run_dir / "sha256.txt").write_text("".join(
            f"{sha256_file(run_dir / name)}  {name}\n" for name in ("run.json", "summary.md")))
        record_run(repo, run_dir)
        ids.append(run_id)
    return ids


def spawn(repo: Path, run_ids: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", WORKER, str(repo), *run_ids],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def attempts(repo: Path) -> list[tuple[int, list[str]]]:
    item = parse_ledger(read_text(repo / "docs/fix_plan.md")).item("CLI-FLAGS-003")
    assert item is not None
    return [(a.n, a.run_ids) for a in item.attempts if a.run_ids]


def test_concurrent_attempt_adds_get_distinct_numbers(repo: Path) -> None:
    ids = fake_runs(repo, 12)
    procs = [spawn(repo, ids[k::4]) for k in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    added = attempts(repo)
    assert sorted(n for n, _ in added) == list(range(48, 60))
    assert sorted(r for _, runs in added for r in runs) == sorted(ids)


def test_kill_9_at_random_moments_leaves_ledger_parseable(repo: Path) -> None:
    ids = fake_runs(repo, 40)
    ledger = repo / "docs/fix_plan.md"
    original = read_text(ledger)
    cut = original.index("- Risks/Assumptions: Must keep pix0 override differentiable")
    before, after = original[:cut], original[cut:]
    rng = random.Random(1234)
    confirmed: set[str] = set()
    counts: list[int] = []
    for _ in range(6):
        proc = spawn(repo, ids)
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the worker is now inside its add loop
        time.sleep(rng.uniform(0.0, 0.25))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
        confirmed.update(line.split()[0] for line in (first + out).splitlines() if line.strip())
        text = read_text(ledger)
        assert text.startswith(before) and text.endswith(after)  # original text intact
        added = attempts(repo)
        numbers = [n for n, _ in added]
        assert numbers == list(range(48, 48 + len(numbers)))  # no gaps, no duplicates
        recorded = {r for _, runs in added for r in runs}
        assert confirmed <= recorded  # nothing a worker reported is lost
        counts.append(len(numbers))
    assert any(c < len(ids) for c in counts)  # at least one kill landed mid-way
    proc = spawn(repo, ids)  # a final uninterrupted pass completes the set
    proc.communicate(timeout=120)
    assert sorted(r for _, runs in attempts(repo) for r in runs) == sorted(ids)
    assert [n for n, _ in attempts(repo)] == list(range(48, 88))
