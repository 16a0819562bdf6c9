"""The loop on a scratch copy of this repository, with scripted agents calling loopkit
(memo new, memo lint, memory add; exec, attempt add) and the default turn contracts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from loop_helpers import journal, lk, lk_proc, scratch_copy, status_clean, trailers, turns_json


def _loop_on_repo(tmp_path: Path, turns: int) -> tuple[Path, float]:
    root = scratch_copy(tmp_path / "copy")
    t0 = time.monotonic()
    result = lk_proc(root, "loop", "--turns", str(turns), timeout=60 * turns)
    elapsed = time.monotonic() - t0
    assert result.returncode == 0, result.stdout + result.stderr
    return root, elapsed


def _assert_loop(root: Path, turns: int) -> None:
    rows = turns_json(root)
    assert [r["turn"] for r in rows] == list(range(1, turns + 1))
    assert [r["role"] for r in rows] == ["supervisor", "engineer"] * (turns // 2)
    for row in rows:
        assert row["verdict"] == "ok", row["reason"]
        assert row["reason"] == "contract met"
        tr = trailers(root, row["commit"])
        assert tr["Loopkit-Turn"] == [str(row["turn"])]
        assert tr["Loopkit-Role"] == [row["role"]] and tr["Loopkit-Verdict"] == ["ok"]
        if row["role"] == "engineer":
            assert tr["Loopkit-Run"] == row["runs"] and len(row["runs"]) == 1
            assert row["attempts"] and row["attempts"][0].startswith("CLI-FLAGS-003#")
        else:
            assert set(row["files"]) == {"input.md", "galph_memory.md"}
    numbers = [int(r["attempts"][0].split("#")[1]) for r in rows if r["role"] == "engineer"]
    assert numbers == list(range(numbers[0], numbers[0] + turns // 2))
    assert lk(root, "check", "--turns").exit_code == 0
    assert status_clean(root)


def test_four_turns_on_a_copy_of_this_repository(tmp_path: Path) -> None:
    root, _ = _loop_on_repo(tmp_path, 4)
    _assert_loop(root, 4)
    assert "CLI-FLAGS-003 / Phase L1" in (root / "input.md").read_text()
    assert len(journal(root)) == 4


@pytest.mark.heavy
def test_twenty_turns_on_a_copy_of_this_repository(tmp_path: Path) -> None:
    root, elapsed = _loop_on_repo(tmp_path, 20)
    _assert_loop(root, 20)
    print(f"20 turns on a copy of the repository: {elapsed:.1f} s")


@pytest.mark.heavy
def test_k3g3_replayed_as_two_scripted_turns(tmp_path: Path) -> None:
    import importlib.util
    import json

    from loop_helpers import REPO_ROOT

    spec = importlib.util.spec_from_file_location(
        "loop_replay_k3g3", REPO_ROOT / "scripts/loop_replay_k3g3.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = module.replay(tmp_path / "out", tmp_path / "work")
    rows = json.loads((out / "turns.json").read_text())
    assert [(r["role"], r["verdict"]) for r in rows] == [("supervisor", "ok"), ("engineer", "ok")]
    assert "0 error(s)" in (out / "check_turns.txt").read_text()
    assert "Phase K3g3" in (out / "input.md.diff").read_text()
    assert "Attempt #" in (out / "docs_fix_plan.md.diff").read_text()
    assert (out / "run/run.json").is_file()
