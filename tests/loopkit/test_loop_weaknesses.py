"""One test per weakness 1-11 of ../shared/reference/loop-workflow.md §5.5: each shows that the
failure cannot happen here, with the turn recorded and a one-line reason, and no hang."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

from lk_helpers import K3G3_LEDGER, K3G3_MEMO, MEMORY, PIX0_PLAN, git
from loop_helpers import (
    TINY_TOML,
    journal,
    lk,
    lk_proc,
    log_subjects,
    make_repo,
    merge_commits,
    status_clean,
    trailers,
)

from loopkit.loop.lease import LEASE_REL, Lease, write_lease


def roles_toml(supervisor: str = "echo memo $LOOPKIT_TURN > input.md",
               engineer: str = "echo w > work/t$LOOPKIT_TURN.txt", extra: str = "",
               sup_writes: str = "", eng_writes: str = "") -> str:
    return (f'[loop]\norder = ["supervisor", "engineer"]\nkill_grace_s = 0.5\npoll_s = 0.1\n'
            f'{extra}\n[roles.supervisor]\ncommand = {json.dumps(supervisor)}\ncontract = []\n'
            f'{sup_writes}\n[roles.engineer]\ncommand = {json.dumps(engineer)}\n'
            f'contract = []\ntimeout_s = 30\n{eng_writes}\n')


def test_w1_commit_never_sweeps_ignored_or_foreign_files(tmp_path: Path) -> None:
    engineer = ("mkdir -p .mypy_cache simforge/lib && echo x > .mypy_cache/a.json && "
                "echo code > src.py && echo env > simforge/lib/env.py && "
                "echo v > .venv-like.lock")
    root = make_repo(tmp_path / "r", roles_toml(engineer=engineer))
    (root / ".gitignore").write_text((root / ".gitignore").read_text() + ".mypy_cache/\n")
    git(root, "commit", "-qam", "ignore mypy cache")
    assert lk(root, "loop", "--turns", "2").exit_code == 0
    committed = git(root, "show", "--name-only", "--format=", "HEAD").split()
    rec = journal(root)[-1]
    assert sorted(committed) == sorted([".loopkit/turns.jsonl", rec["log"], "simforge/lib/env.py",
                                        "src.py"])  # the engineer's own files, named
    assert ".mypy_cache/a.json" not in committed and ".venv-like.lock" not in committed
    # a supervisor that writes code fails; nothing of it reaches the loop branch
    root2 = make_repo(tmp_path / "r2", roles_toml(supervisor="echo hack > src.py",
                                                  sup_writes='writes = ["input.md"]'))
    assert lk(root2, "loop", "--turns", "1").exit_code == 0
    rec = journal(root2)[-1]
    assert rec["verdict"] == "failed"
    assert rec["reason"] == "wrote outside its paths: src.py"
    assert git(root2, "ls-tree", "--name-only", "HEAD", "src.py") == ""
    assert git(root2, "show", f"{rec['aside']}:src.py") == "hack\n"
    assert status_clean(root2)
    # a dirty tree before the turn is refused, never swept into the turn's commit
    (root2 / "stray.txt").write_text("left by a person\n")
    refused = lk(root2, "loop", "--turns", "1")
    assert refused.exit_code == 1 and "the tree is not clean (1 path(s): stray.txt)" in \
        refused.output


def test_w2_turn_is_judged_by_its_contract_not_its_exit_code(tmp_path: Path) -> None:
    files = {"docs/fix_plan.md": K3G3_LEDGER.read_text(), "input.md": K3G3_MEMO.read_text(),
             "galph_memory.md": MEMORY.read_text(),
             "plans/active/cli-noise-pix0/plan.md": PIX0_PLAN.read_text()}
    toml = roles_toml(supervisor="true", engineer="echo w > work/notes.txt").replace(
        'contract = []\ntimeout_s = 30', 'contract = ["run_and_attempt"]\ntimeout_s = 30')
    root = make_repo(tmp_path / "r", toml, files)
    assert lk(root, "loop", "--turns", "2").exit_code == 0
    rec = journal(root)[-1]
    assert (rec["exit"], rec["verdict"]) == (0, "failed")
    assert rec["reason"] == ("contract not met: run_and_attempt: no new loopkit run in the "
                             "turn (and no Attempt with result blocked)")
    assert not (root / "work/notes.txt").exists()
    # the real engineer: a recorded run and its Attempt meet the contract
    toml = toml.replace("echo w > work/notes.txt", "bash agents/engineer.sh")
    (root / "agents").mkdir()
    shutil.copy(Path(__file__).parent / "agents/engineer.sh", root / "agents/engineer.sh")
    (root / "loopkit.toml").write_text(toml)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "real engineer")
    assert lk(root, "turn", "engineer", "--out-of-order").exit_code == 0
    rec = journal(root)[-1]
    assert rec["verdict"] == "ok", rec["reason"]
    assert rec["reason"] == "contract met" and rec["runs"] and rec["attempts"]
    assert trailers(root, "HEAD")["Loopkit-Run"] == rec["runs"]


def test_w3_a_dead_loops_lease_is_taken_over_and_a_live_one_refuses(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    base = git(root, "rev-parse", "HEAD").strip()
    write_lease(root, Lease(1, "supervisor", "tok", base, "2026-01-01T00:00:00Z",
                            "reports/loop/x/supervisor.log", 999999, "elsewhere"))
    (root / "input.md").write_text("half-written memo\n")
    t0 = time.monotonic()
    result = lk(root, "loop", "--turns", "1")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - t0 < 30
    assert "turn 1 (supervisor) was left unfinished by pid 999999" in result.output
    first, second = journal(root)
    assert (first["verdict"], first["aside"]) == ("aborted", "loopkit/aside/turn-0001")
    assert second["turn"] == 2 and second["role"] == "supervisor"  # the aborted role retried
    assert not (root / LEASE_REL).exists()
    # while one loop holds the clone, a second is refused at once
    slow = TINY_TOML.replace('command = "echo memo of turn $LOOPKIT_TURN > input.md"',
                             'command = "sleep 3; echo m > input.md"')
    root2 = make_repo(tmp_path / "r2", slow)
    import subprocess

    from loop_helpers import lk_cmd, lk_env
    proc = subprocess.Popen(lk_cmd(root2, "loop", "--turns", "1"), env=lk_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while not (root2 / LEASE_REL).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    second_loop = lk_proc(root2, "loop", "--turns", "1")
    assert second_loop.returncode == 1
    assert "another loopkit loop is running in this clone (turn 1, supervisor" in \
        second_loop.stderr
    assert proc.wait(30) == 0


def test_w4_a_corrupt_or_conflicted_journal_is_an_error_never_a_reset(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    assert lk(root, "loop", "--turns", "2").exit_code == 0
    path = root / ".loopkit/turns.jsonl"
    good = path.read_text()
    head = git(root, "rev-parse", "HEAD")
    for bad, where in ((good + "<<<<<<< HEAD\n", "turns.jsonl:3: conflict marker"),
                       (good.replace('"turn": 2', '"turn": 7'), "turns.jsonl:2: turn 7"),
                       (good + "{not json\n", "turns.jsonl:3: not a JSON record")):
        path.write_text(bad)
        result = lk(root, "loop", "--turns", "1")
        assert result.exit_code == 1
        assert where in result.output
        assert path.read_text() == bad  # untouched
        assert git(root, "rev-parse", "HEAD") == head
        bad_turns = lk(root, "turns")
        assert bad_turns.exit_code == 1 and where in bad_turns.output
    path.write_text(good)


def test_w5_git_errors_fail_loudly_and_rejected_push_is_rebased(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    root = make_repo(tmp_path / "a")
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")
    other = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    assert lk(root, "loop", "--turns", "1", "--sync", "origin").exit_code == 0
    # a concurrent push lands between our pull and our push (a hook of the agent's turn)
    concurrent = (f"git -C {other} pull -q --ff-only && echo c > {other}/human.txt && "
                  f"git -C {other} add human.txt && git -C {other} -c user.name=h "
                  f"-c user.email=h@x commit -qm human && git -C {other} push -q origin main; "
                  "echo w > work/t$LOOPKIT_TURN.txt")
    (root / "loopkit.toml").write_text(roles_toml(engineer=concurrent))
    git(root, "commit", "-qam", "engineer races a push")
    git(root, "push", "-q", "origin", "main")
    result = lk(root, "loop", "--turns", "1", "--sync", "origin")
    assert result.exit_code == 0, result.output
    assert "sync: push 1 rejected" in result.output
    assert "rebased 1 loopkit commit(s)" in result.output
    assert merge_commits(root) == 0
    assert git(root, "rev-parse", "HEAD") == git(remote, "rev-parse", "main")
    assert lk(root, "check", "--turns").exit_code == 0
    # a remote that rejects every push: bounded retries, then exit 1; the commit stays local
    hook = remote / "hooks/pre-receive"
    hook.write_text("#!/bin/sh\necho 'rejected by policy' >&2\nexit 1\n")
    hook.chmod(0o755)
    t0 = time.monotonic()
    result = lk(root, "loop", "--turns", "1", "--sync", "origin")
    assert result.exit_code == 1 and time.monotonic() - t0 < 60
    assert "rejected 4 times" in result.output
    assert journal(root)[-1]["turn"] == 3
    assert merge_commits(root) == 0


def test_w6_hanging_sigterm_ignoring_and_flooding_agents_end(tmp_path: Path) -> None:
    flood = ("python3 -c \"import sys; sys.stderr.write('e' * 8_000_000); "
             "sys.stdout.write('o' * 2_000_000)\"; echo w > work/t.txt")
    hang = "trap '' TERM; sleep 600 & wait; sleep 600"
    toml = roles_toml(supervisor=flood, engineer=hang, extra="log_max_bytes = 100000",
                      sup_writes='writes = ["**"]').replace("timeout_s = 30", "timeout_s = 1")
    root = make_repo(tmp_path / "r", toml)
    t0 = time.monotonic()
    result = lk(root, "loop", "--turns", "2")
    elapsed = time.monotonic() - t0
    assert result.exit_code == 0, result.output
    flooded, hung = journal(root)
    assert flooded["verdict"] == "ok" and flooded["log_dropped_bytes"] > 9_000_000
    assert (root / flooded["log"]).stat().st_size < 100_000 + 70_000
    assert hung["verdict"] == "failed"
    assert hung["reason"] == "timed out after 1 s; its process group was killed"
    assert elapsed < 30
    assert agents_of(root) == []  # the SIGTERM-ignoring agent and its child are gone


def agents_of(root: Path) -> list[int]:
    needle = f"LOOPKIT_ROOT={root}".encode()
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if needle in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def test_w7_one_code_path_for_turn_loop_and_sync(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    root = make_repo(tmp_path / "r")
    git(root, "remote", "add", "origin", str(remote))
    assert lk(root, "turn", "supervisor").exit_code == 0
    assert lk(root, "loop", "--turns", "1").exit_code == 0
    assert lk(root, "loop", "--turns", "2", "--sync", "origin").exit_code == 0
    assert lk(root, "turn", "supervisor", "--sync", "origin").exit_code == 0
    keys = [sorted(r) for r in journal(root)]
    assert all(k == keys[0] for k in keys)  # every mode writes the same record
    assert [r["verdict"] for r in journal(root)] == ["ok"] * 5
    assert git(remote, "rev-parse", "main") == git(root, "rev-parse", "HEAD")


def test_w8_forged_trailers_and_journal_lines_are_caught(tmp_path: Path) -> None:
    forge = ("echo w > work/t.txt && git add -A && git -c user.name=x -c user.email=x@x commit "
             "-qm 'handoff' -m 'Loopkit-Turn: 99' -m 'Loopkit-Verdict: ok'; "
             "printf 'Loopkit-Turn: 50\\nall good\\n' > $LOOPKIT_MESSAGE_FILE")
    root = make_repo(tmp_path / "r", roles_toml(engineer=forge))
    assert lk(root, "loop", "--turns", "2").exit_code == 0
    rec = journal(root)[-1]
    assert rec["verdict"] == "ok" and rec["files"] == ["work/t.txt"]
    assert any("moved HEAD (1 commit(s) of its own)" in f for f in rec["flags"])
    assert any("dropped a trailer-like line" in f for f in rec["flags"])
    assert trailers(root, "HEAD")["Loopkit-Turn"] == ["2"]
    assert "Loopkit-Turn: 99" not in git(root, "log", "--format=%B")
    assert lk(root, "check", "--turns").exit_code == 0
    # an agent that writes the journal fails its turn; the journal stays loopkit's
    line = json.dumps({"turn": 3, "role": "engineer", "verdict": "ok", "reason": "trust me",
                       "start": "x", "end": "y"})
    (root / "loopkit.toml").write_text(roles_toml(
        supervisor=f"echo '{line}' >> .loopkit/turns.jsonl; echo m > input.md",
        sup_writes='writes = ["**"]'))
    git(root, "commit", "-qam", "forging supervisor")
    assert lk(root, "loop", "--turns", "1").exit_code == 0
    rec = journal(root)[-1]
    assert rec["verdict"] == "failed"
    assert "edited the turn journal .loopkit/turns.jsonl" in rec["reason"]
    assert len(journal(root)) == 3 and all(r["reason"] != "trust me" for r in journal(root))
    # a commit made outside the loop that claims a turn is reported
    (root / "x.txt").write_text("x\n")
    git(root, "add", "x.txt")
    git(root, "commit", "-qm", "forged", "-m", "Loopkit-Turn: 3\nLoopkit-Role: engineer\n"
        "Loopkit-Verdict: ok")
    check = lk(root, "check", "--turns")
    assert check.exit_code == 1
    assert "claims turn 3 but does not add its journal record" in check.output
    assert "turn 3 is claimed by 2 commits" in check.output


def test_w8_a_turn_whose_commit_is_missing_is_reported(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    assert lk(root, "loop", "--turns", "2").exit_code == 0
    git(root, "commit", "-q", "--amend", "-m", "rewritten by hand")
    check = lk(root, "check", "--turns")
    assert check.exit_code == 1
    assert "turn 2 (engineer): no commit carries it" in check.output
    assert "adds journal record(s) for turn(s) 2 without being their turn commit" in check.output


def test_w9_one_commit_per_turn_and_no_bookkeeping_commits(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", roles_toml(engineer="exit 1"))
    assert lk(root, "loop", "--turns", "6").exit_code == 0
    subjects = log_subjects(root)
    assert len(subjects) == 7
    assert subjects[:2] == ["loopkit turn 6: engineer failed (0 file(s))",
                            "loopkit turn 5: supervisor ok (1 file(s))"]
    assert all("[SYNC" not in s and "AUTO" not in s for s in subjects)


def test_w10_roles_prompts_and_paths_come_from_config(tmp_path: Path) -> None:
    toml = ('[loop]\norder = ["planner", "coder", "reviewer"]\n'
            '[roles.planner]\ncommand = "cat > input.md"\nprompt = "prompts/plan.md"\n'
            'writes = ["input.md"]\ncontract = []\n'
            '[roles.coder]\ncommand = "cp {prompt} work/from-prompt.txt; pwd > work/pwd.txt; '
            'pwd"\nprompt = "prompts/code.md"\nwrites = ["work/**"]\ncontract = []\n'
            '[roles.reviewer]\ncommand = "echo ok > work/review.txt"\nwrites = ["work/**"]\n'
            'contract = []\n')
    root = make_repo(tmp_path / "r", toml, {"prompts/plan.md": "plan this\n",
                                            "prompts/code.md": "code this\n"})
    assert lk(root, "loop", "--turns", "3").exit_code == 0
    assert [r["role"] for r in journal(root)] == ["planner", "coder", "reviewer"]
    assert (root / "input.md").read_text() == "plan this\n"
    assert (root / "work/from-prompt.txt").read_text() == "code this\n"
    coder = journal(root)[1]
    assert (root / coder["log"]).read_text().strip() == "<repo>"  # no machine path kept
    assert str(tmp_path) not in (root / ".loopkit/turns.jsonl").read_text()


def test_w11_every_timestamp_is_utc_from_one_clock(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    assert lk(root, "loop", "--turns", "2", now="2026-03-04T05:06:07+02:00").exit_code == 0
    for rec in journal(root):
        assert rec["start"] == rec["end"] == "2026-03-04T03:06:07Z"
        assert rec["log"].startswith("reports/loop/20260304T030607Z-t")
    free = lk(root, "loop", "--turns", "1")
    assert free.exit_code == 0
    assert journal(root)[-1]["start"].endswith("Z")
