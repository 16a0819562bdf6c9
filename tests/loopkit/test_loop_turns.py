"""loopkit runs the loop: turns, journal, one commit per turn, trailers, config and help."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from loop_helpers import (
    TINY_TOML,
    journal,
    lk,
    log_subjects,
    make_repo,
    status_clean,
    trailers,
    turns_json,
)

from loopkit.config import load_config
from loopkit.errors import LoopkitError
from loopkit.loop.turn import next_role


def test_twenty_turn_loop_one_record_and_commit_per_turn(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    t0 = time.monotonic()
    result = lk(root, "loop", "--turns", "20")
    elapsed = time.monotonic() - t0
    assert result.exit_code == 0, result.output
    rows = turns_json(root)
    assert [r["turn"] for r in rows] == list(range(1, 21))
    assert [r["role"] for r in rows] == ["supervisor", "engineer"] * 10
    assert all(r["verdict"] == "ok" and r["reason"] == "no contract" for r in rows)
    assert len(log_subjects(root)) == 21  # 20 turns + the initial commit, nothing else
    for row in rows:
        assert row["commit"] and row["commit"] == row["journal_commit"]
        tr = trailers(root, row["commit"])
        assert tr["Loopkit-Turn"] == [str(row["turn"])]
        assert tr["Loopkit-Role"] == [row["role"]]
        assert tr["Loopkit-Verdict"] == ["ok"]
    engineer = [r for r in rows if r["role"] == "engineer"]
    assert all(r["files"] == [f"work/t{r['turn']}.txt"] for r in engineer)
    assert (root / "work/t20.txt").read_text() == "work of turn 20\n"
    assert status_clean(root)
    assert lk(root, "check", "--turns").exit_code == 0
    assert elapsed < 60, f"20 tiny turns took {elapsed:.1f} s"


def test_turn_commit_holds_exactly_the_turn_files_record_and_log(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    assert lk(root, "loop", "--turns", "2").exit_code == 0
    from lk_helpers import git

    files = git(root, "show", "--name-only", "--format=", "HEAD").split()
    rec = journal(root)[-1]
    assert sorted(files) == sorted([".loopkit/turns.jsonl", "work/t2.txt", rec["log"]])
    assert rec["log"].startswith("reports/loop/") and rec["log"].endswith("/engineer.log")
    assert (root / rec["log"]).read_text() == "done\n"


def test_turn_refuses_out_of_order_and_runs_with_the_flag(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    refused = lk(root, "turn", "engineer")
    assert refused.exit_code == 1
    assert "it is supervisor's turn" in refused.output
    assert journal(root) == []
    assert lk(root, "turn", "supervisor").exit_code == 0
    assert lk(root, "turn", "engineer").exit_code == 0
    assert lk(root, "turn", "engineer", "--out-of-order").exit_code == 0
    assert [r["role"] for r in journal(root)] == ["supervisor", "engineer", "engineer"]


def test_until_idle_stops_after_a_round_without_changes(tmp_path: Path) -> None:
    toml = TINY_TOML.replace('command = "echo memo of turn $LOOPKIT_TURN > input.md"',
                             'command = "true"').replace(
        'command = "echo work of turn $LOOPKIT_TURN > work/t$LOOPKIT_TURN.txt; echo done >&2"',
        'command = "test -e work/once || touch work/once"')
    root = make_repo(tmp_path / "r", toml)
    result = lk(root, "loop", "--until-idle", "--turns", "10")
    assert result.exit_code == 0, result.output
    rows = journal(root)
    assert [r["reason"].split(":")[0] for r in rows] == ["idle", "no contract", "idle", "idle"]
    assert "idle: 2 turns in a row" in result.output


def test_failed_turns_in_a_row_stop_the_loop(tmp_path: Path) -> None:
    toml = TINY_TOML.replace('command = "echo memo of turn $LOOPKIT_TURN > input.md"',
                             'command = "exit 3"') + "\n"
    toml = toml.replace("kill_grace_s = 0.5", "kill_grace_s = 0.5\nmax_consecutive_failures = 1")
    root = make_repo(tmp_path / "r", toml)
    result = lk(root, "loop", "--turns", "6")
    assert result.exit_code == 1
    assert "1 failed turns in a row" in result.output
    rec = journal(root)[-1]
    assert (rec["verdict"], rec["reason"]) == ("failed", "the command exited with status 3")


def test_loop_help_teaches_and_loop_needs_a_bound(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    text = lk(root, "loop", "--help").output
    for word in ("--turns", "--until-idle", "--sync", "[roles.supervisor]", "timeout_s",
                 "Loopkit-Turn", "loopkit/aside/turn-NNNN", "check --turns"):
        assert word in text
    bare = lk(root, "loop")
    assert bare.exit_code == 2 and "give --turns N or --until-idle" in bare.output


@pytest.mark.parametrize(("toml", "message"), [
    ('[roles.engineer]\ntimeout_s = -1\n', "timeout_s: a positive number"),
    ('[roles.engineer]\ncolour = "red"\n', "unknown setting 'colour'"),
    ('[loop]\norder = ["supervisor", "reviewer"]\n', "no role 'reviewer'"),
    ('[roles.engineer]\nwrites = "src/**"\n', "writes: a list of strings"),
])
def test_bad_role_config_is_one_line_naming_the_setting(tmp_path: Path, toml: str,
                                                        message: str) -> None:
    (tmp_path / "loopkit.toml").write_text(toml)
    with pytest.raises(LoopkitError, match=message):
        load_config(tmp_path)


def test_unknown_contract_and_missing_command_are_errors(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", TINY_TOML.replace('contract = []', 'contract = ["vibes"]', 1))
    result = lk(root, "loop", "--turns", "1")
    assert result.exit_code == 1 and "unknown check 'vibes'" in result.output
    root2 = make_repo(tmp_path / "r2", '[loop]\norder = ["engineer"]\n')
    result = lk(root2, "loop", "--turns", "1")
    assert result.exit_code == 1 and "[roles.engineer] has no command" in result.output


def test_next_role_retries_an_aborted_turn() -> None:
    order = ["supervisor", "engineer"]
    rec = [{"role": "supervisor", "verdict": "ok"}, {"role": "engineer", "verdict": "aborted"}]
    assert next_role(rec, order) == "engineer"
    rec.append({"role": "engineer", "verdict": "failed"})
    assert next_role(rec, order) == "supervisor"
    assert next_role([], order) == "supervisor"


def test_status_shows_the_loop_state(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    assert lk(root, "loop", "--turns", "3").exit_code == 0
    out = lk(root, "status").output
    assert "Loop: 3 turn(s) (3 ok, 0 failed, 0 aborted); next: engineer" in out
    assert "last: turn 3 supervisor ok" in out


def test_turns_lists_and_json_has_the_interface_keys(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    assert lk(root, "loop", "--turns", "2").exit_code == 0
    rows = json.loads(lk(root, "turns", "--json").output)
    for key in ("turn", "role", "verdict", "commit", "reason", "start", "end", "files"):
        assert key in rows[0]
    text = lk(root, "turns").output.splitlines()
    assert len(text) == 2 and "engineer" in text[1] and "ok" in text[1]
