"""kill -9 of loopkit during a turn: the next loop resumes, records the turn aborted, keeps its
partial changes on a named branch, and loses or duplicates no commit or turn."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
from lk_helpers import git
from loop_helpers import TINY_TOML, journal, lk, lk_cmd, lk_env, make_repo, status_clean

import loopkit.loop.turn as turn_module
from loopkit.git import GitError
from loopkit.loop.lease import LEASE_REL, read_lease

BENCH = Path(__file__).resolve().parents[2] / "benchmarks/loop_kill9.py"


def _load_bench():  # noqa: ANN202 - a module
    spec = importlib.util.spec_from_file_location("loop_kill9", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kill9_while_the_agent_runs(tmp_path: Path) -> None:
    toml = TINY_TOML.replace(
        'command = "echo work of turn $LOOPKIT_TURN > work/t$LOOPKIT_TURN.txt; echo done >&2"',
        'command = "echo partial > work/half.txt; sleep 60"')
    root = make_repo(tmp_path / "r", toml)
    assert lk(root, "loop", "--turns", "1").exit_code == 0
    proc = subprocess.Popen(lk_cmd(root, "loop", "--turns", "1"), env=lk_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        lease = read_lease(root) if (root / LEASE_REL).exists() else None
        if lease and lease.agent_pid and (root / "work/half.txt").exists():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    agent = read_lease(root).agent_pid
    (root / "loopkit.toml").write_text(TINY_TOML)  # an edit of the tree: recovery keeps it
    git(root, "commit", "-qam", "quick engineer")
    result = lk(root, "loop", "--turns", "1")
    assert result.exit_code == 0, result.output
    assert "turn 2 (engineer) was left unfinished" in result.output
    assert f"stopped the agent still running for it (pid {agent})" in result.output
    assert "its partial changes (1 path(s)) are on branch loopkit/aside/turn-0002" in \
        result.output
    aborted, retried = journal(root)[1:]
    assert (aborted["verdict"], aborted["files"]) == ("aborted", ["work/half.txt"])
    assert "(1 commit(s) not made by loopkit); left as is" in aborted["flags"][0]
    assert git(root, "log", "--format=%s").splitlines()[2] == "quick engineer"
    assert git(root, "show", "loopkit/aside/turn-0002:work/half.txt") == "partial\n"
    assert (retried["turn"], retried["role"], retried["verdict"]) == (3, "engineer", "ok")
    assert lk(root, "check", "--turns").exit_code == 0
    assert status_clean(root)


def test_record_appended_but_not_committed_is_committed_by_the_next_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path / "r")

    def dies(*_args: object) -> str:
        raise GitError("simulated death between the journal write and the commit")

    monkeypatch.setattr(turn_module, "commit_turn", dies)
    died = lk(root, "loop", "--turns", "1")
    assert died.exit_code == 1 and "simulated death" in died.output
    assert len(journal(root)) == 1 and (root / LEASE_REL).exists()
    monkeypatch.undo()
    result = lk(root, "loop", "--turns", "1")
    assert "its record was written but not committed; committed it now (verdict ok)" in \
        result.output
    assert [r["verdict"] for r in journal(root)] == ["ok", "ok"]
    assert lk(root, "check", "--turns").exit_code == 0
    assert len(git(root, "log", "--format=%H").split()) == 3


def test_sigterm_records_the_turn_aborted_at_once(tmp_path: Path) -> None:
    toml = TINY_TOML.replace('command = "echo memo of turn $LOOPKIT_TURN > input.md"',
                             'command = "echo half > input.md; sleep 60"')
    root = make_repo(tmp_path / "r", toml)
    proc = subprocess.Popen(lk_cmd(root, "loop", "--turns", "1"), env=lk_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not (root / "input.md").read_text().startswith("half") and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130, out
    assert "interrupted: recorded turn 1 as aborted" in out
    assert journal(root)[0]["verdict"] == "aborted"
    assert not (root / LEASE_REL).exists() and status_clean(root)


def test_a_few_random_kills_resume_without_loss(tmp_path: Path) -> None:
    """The default-suite run of benchmarks/loop_kill9.py (100 kills there)."""
    figures = _load_bench().run(kills=4, seed=3, max_delay=1.5, root=tmp_path / "repo")
    assert figures["ok"], json.dumps(figures, indent=2)
    assert figures["kills"] == 4 and figures["journal_resets"] == 0
    assert figures["lost_commits"] == 0 and figures["duplicate_turn_commits"] == 0


@pytest.mark.heavy
def test_hundred_random_kills_resume_without_loss(tmp_path: Path) -> None:
    figures = _load_bench().run(kills=100, seed=7, max_delay=2.0, root=tmp_path / "repo")
    assert figures["ok"], json.dumps(figures, indent=2)
