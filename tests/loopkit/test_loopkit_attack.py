"""The attack script of issue 18 finds nothing: no forged run accepted, no secret in any file
written or committed, no write outside the repository, no torn document, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "loopkit_attack.py"
MUST_BE_ZERO = ("forged_runs_accepted", "forged_step_results_accepted", "secrets_in_files",
                "writes_outside", "torn_documents", "failed_recoveries", "duplicated_attempts",
                "tracebacks")


@pytest.mark.heavy
def test_the_attack_script_gets_nothing_through(tmp_path: Path) -> None:
    out = tmp_path / "counts.json"
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stderr[-3000:]
    counts = json.loads(out.read_text())
    assert counts["kill_boundaries"] > 0 and counts["forgery_attempts"] >= 40
    assert {k: counts[k] for k in MUST_BE_ZERO} == dict.fromkeys(MUST_BE_ZERO, 0), done.stderr
