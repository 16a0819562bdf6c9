"""kill -9 at random moments, then the same command: nothing partial, nothing lost. Runs the
real benchmarks/series_kill.py (a few kills here; the script's default is 20)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from series_helpers import REPO, SMALL


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
    assert figures["processes_left_by_kills"] == (0 if os.path.isdir("/proc") else None)
    assert sorted(p.name for p in (tmp_path / "killed").iterdir()) == sorted(
        [f"frame_{i:05d}.img" for i in range(1, 5)] + ["manifest.jsonl", "series.json"])


def _kill_script():
    """benchmarks/series_kill.py as a module: its /proc search is the one both use."""
    spec = importlib.util.spec_from_file_location("series_kill",
                                                  REPO / "benchmarks" / "series_kill.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="finds the workers through /proc (Linux)")
def test_kill_nine_of_the_command_ends_its_workers(tmp_path):
    """A worker pool must not outlive a killed series: the workers follow their parent out."""
    script, mark = _kill_script(), uuid.uuid4().hex
    env = {**os.environ, "OMP_NUM_THREADS": "1", script.MARKER: mark}
    command = [sys.executable, "-m", "nanobragg.series", "--frames", "400", "--osc", "0.1",
               "--format", "float", "--workers", "2", "--quiet", "--out", "out", "--", *SMALL,
               "-detpixels", "256", "-oversample", "2"]
    series = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        manifest = tmp_path / "out" / "manifest.jsonl"
        deadline = time.monotonic() + 120
        while not (manifest.exists() and manifest.read_text().count("\n") >= 2):
            assert series.poll() is None and time.monotonic() < deadline, "no frame came"
            time.sleep(0.05)
        # the command, the fork server and the two workers (and the resource tracker)
        assert script.processes_marked(mark) >= 4
    finally:
        series.kill()
        series.wait()
    assert script.orphans_after(mark) == 0
