"""kill -9 at random moments, then the same command: nothing partial, nothing lost. Runs the
real benchmarks/series_kill.py (a few kills here; the script's default is 20)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from series_helpers import REPO


def test_kill_nine_then_rerun_gives_the_uninterrupted_series(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "series_kill.py"), "--kills", "3",
         "--frames", "4", "--seed", "3", "--workdir", str(tmp_path), "--json",
         str(tmp_path / "kill.json")],
        env=env, capture_output=True, text=True, timeout=900)
    figures = json.loads((tmp_path / "kill.json").read_text())
    assert result.returncode == 0, result.stdout + result.stderr
    assert figures["kills"] == 3 and len(figures["per_kill"]) == 3
    assert figures["partial_frame_files_seen"] == 0
    assert figures["bad_manifest_lines_seen"] == 0
    assert figures["final_identical_to_reference"] is True
    assert figures["temporaries_after_final_run"] == 0
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == sorted(
        [f"frame_{i:05d}.img" for i in range(1, 5)] + ["manifest.jsonl", "series.json"])
