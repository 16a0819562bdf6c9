"""``loopkit run``: one shell, per-step files, timeouts, secrets, dry runs."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lk_helpers import Invoke, git

MEMO = """Summary: runner behaviour
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — runner test
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/2025-10-loopkit/phase_t/
Do Now: CLI-FLAGS-003 — echo hi
If Blocked: stop.

How-To Map:
- export GREETING=hello; cd "$RUN_DIR"
  Expect: rc=0
- echo "$GREETING world" > "$RUN_DIR/greeting.txt"; echo to-err >&2
  Expect: file greeting.txt exists; regex "to-err"
- Check the output by eye.
  Expect: it looks right.
- python -c "import json,os; json.dump({'correlation': 0.9995}, open('metrics.json', 'w'))"
  Expect: correlation ≥0.999
"""


def write_memo(repo: Path, text: str, name: str = "memo.md") -> Path:
    path = repo / name
    path.write_text(text)
    return path


def load_run(repo: Path, stamp: str, root: str = "reports/2025-10-loopkit/phase_t") -> dict:
    return json.loads((repo / root / stamp / "run.json").read_text())


def test_steps_share_one_shell_and_pass(repo: Path, lk: Invoke) -> None:
    write_memo(repo, MEMO)
    result = lk("run", "memo.md")
    assert result.exit_code == 0, result.output
    run = load_run(repo, "20251006T172653Z")
    assert run["verdict"] == "pass" and run["complete"] is True
    assert [s["status"] for s in run["steps"]] == ["ok", "ok", "ok"]
    assert [s["i"] for s in run["steps"]] == [1, 2, 4]
    assert run["manual_steps"][0]["i"] == 3
    run_dir = repo / run["run_dir"]
    assert (run_dir / "greeting.txt").read_text() == "hello world\n"
    assert (run_dir / "steps/02.err").read_text() == "to-err\n"
    assert (run_dir / "steps/02.out").read_text() == ""
    assert run["counts"] == {"pass": 6, "fail": 0, "unchecked": 0, "skipped-by-environment": 0}
    assert run["git"]["branch"] == "feature/spec-based-2"
    assert run["focus"]["item_id"] == "CLI-FLAGS-003"


def test_run_files_and_checksums(repo: Path, lk: Invoke) -> None:
    write_memo(repo, MEMO)
    lk("run", "memo.md")
    run_dir = repo / "reports/2025-10-loopkit/phase_t/20251006T172653Z"
    for name in ("run.json", "commands.txt", "summary.md", "sha256.txt", "env.json", "git.json"):
        assert (run_dir / name).is_file(), name
    for line in (run_dir / "sha256.txt").read_text().splitlines():
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((run_dir / rel).read_bytes()).hexdigest() == digest
    commands = (run_dir / "commands.txt").read_text()
    assert "export GREETING=hello" in commands and "# step 4" in commands
    replay = subprocess.run(["bash", str(run_dir / "commands.txt")], cwd=repo,
                            capture_output=True, text=True)
    assert replay.returncode == 0, replay.stderr
    assert "| 2 | ok | 0 |" in (run_dir / "summary.md").read_text()


def test_steps_selection_and_dry_run(repo: Path, lk: Invoke) -> None:
    write_memo(repo, MEMO)
    result = lk("run", "memo.md", "--steps", "2", "--dry-run")
    assert result.exit_code == 0
    assert "step 2: echo \"$GREETING world\"" in result.output
    assert "check: file exists: greeting.txt" in result.output
    assert not (repo / "reports").exists()
    result = lk("run", "memo.md", "--steps", "2")
    run = load_run(repo, "20251006T172653Z")
    assert [s["i"] for s in run["steps"]] == [2]
    assert (repo / run["run_dir"] / "greeting.txt").read_text() == " world\n"


def test_second_run_in_same_second_gets_fresh_dir(repo: Path, lk: Invoke) -> None:
    write_memo(repo, MEMO)
    lk("run", "memo.md", "--steps", "1")
    lk("run", "memo.md", "--steps", "1")
    stamps = sorted(p.name for p in (repo / "reports/2025-10-loopkit/phase_t").iterdir())
    assert stamps == ["20251006T172653Z", "20251006T172654Z"]


def test_failed_step_fails_the_run(repo: Path, lk: Invoke) -> None:
    first_step = "- export GREETING=hello; cd \"$RUN_DIR\""
    write_memo(repo, MEMO.replace(first_step, "- cd \"$RUN_DIR\"; false"))
    result = lk("run", "memo.md")
    assert result.exit_code == 1
    run = load_run(repo, "20251006T172653Z")
    assert run["verdict"] == "fail"
    assert run["steps"][0]["rc"] == 1 and run["steps"][0]["status"] == "failed"


def test_timeout_kills_process_group_and_aborts(repo: Path, lk: Invoke) -> None:
    memo = MEMO.replace("- export GREETING=hello; cd \"$RUN_DIR\"",
                        "- sleep 60 & echo $! > \"$RUN_DIR/child.pid\"; sleep 60")
    write_memo(repo, memo)
    t0 = time.monotonic()
    result = lk("run", "memo.md", "--timeout", "1")
    assert time.monotonic() - t0 < 15
    assert result.exit_code == 1
    run = load_run(repo, "20251006T172653Z")
    assert run["verdict"] == "aborted"
    assert [s["status"] for s in run["steps"]] == ["timeout", "not_run", "not_run"]
    pid = int((repo / run["run_dir"] / "child.pid").read_text())
    time.sleep(0.2)
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


SECRETS = {"OPENAI_API_KEY": "sk-planted-0penai-secret", "NB_API_TOKEN": "nb-planted-token-42",
           "MY_PASSWORD": "hunter2-planted", "GH_SECRET_THING": "gh-planted-value"}


def test_environment_is_allowlisted_and_redacted(repo: Path, lk: Invoke,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("NB_VISIBLE", "ok-visible")
    monkeypatch.setenv("PYTHONPATH", f"src:{SECRETS['OPENAI_API_KEY']}")
    step = "- env | sort; echo NB_API_TOKEN=$NB_API_TOKEN; SOME_TOKEN=inline-tok-99 true"
    memo = MEMO.replace("- export GREETING=hello; cd \"$RUN_DIR\"", step + "; cd \"$RUN_DIR\"")
    write_memo(repo, memo)
    result = lk("run", "memo.md")
    assert result.exit_code == 0, result.output
    run = load_run(repo, "20251006T172653Z")
    assert run["env"]["NB_API_TOKEN"] == "<redacted>"
    assert run["env"]["NB_VISIBLE"] == "ok-visible"
    assert run["env"]["PYTHONPATH"] == "src:<redacted>"
    assert "OPENAI_API_KEY" not in run["env"] and "HOME" not in run["env"]
    leaked = []
    for path in (repo / run["run_dir"]).rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            leaked += [(path.name, s) for s in [*SECRETS.values(), "inline-tok-99"] if s in text]
    assert leaked == []
    assert "NB_VISIBLE=ok-visible" in (repo / run["run_dir"] / "steps/01.out").read_text()


def test_interrupt_records_aborted_run(repo: Path) -> None:
    memo = MEMO.replace("- export GREETING=hello; cd \"$RUN_DIR\"", "- sleep 60")
    write_memo(repo, memo)
    git(repo, "add", "memo.md")
    env = dict(os.environ)
    # a background job of a non-interactive shell starts with SIGINT ignored, and Python keeps
    # it ignored; restore the default so the Ctrl-C below reaches loopkit wherever pytest runs
    proc = subprocess.Popen([sys.executable, "-m", "loopkit", "--root", str(repo), "run",
                             "memo.md"], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    root = repo / "reports/2025-10-loopkit/phase_t"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        runs = list(root.glob("*/steps/01.sh")) if root.exists() else []
        if runs:
            break
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(2)  # SIGINT, as Ctrl-C
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 1, out
    run = json.loads(next(root.glob("*/run.json")).read_text())
    assert run["verdict"] == "aborted"
    assert run["steps"][0]["status"] == "aborted", out
    assert (root / run["run_id"] / "summary.md").is_file()


def test_exec_records_one_adhoc_command_like_a_memo_step(repo: Path, lk: Invoke) -> None:
    root = "reports/loopkit/exec"
    ok = lk("exec", "--expect", 'regex "hello w"', "--focus", "CLI-FLAGS-003", "--", "echo",
            "hello world")
    assert ok.exit_code == 0, ok.output
    run = load_run(repo, "20251006T172653Z", root)
    assert (run["verdict"], run["memo"]) == ("pass", {"path": None, "sha256": None, "adhoc": True})
    assert run["steps"][0]["cmd"] == "echo 'hello world'"
    assert run["focus"]["item_id"] == "CLI-FLAGS-003"
    assert (repo / run["run_dir"] / "steps/01.out").read_text() == "hello world\n"
    assert "none (loopkit exec)" in (repo / run["run_dir"] / "summary.md").read_text()
    recorded = lk("attempt", "add", "CLI-FLAGS-003", "--run", "20251006T172653Z")
    assert "Result: success" in recorded.output

    failed = lk("exec", "--", "test 1 = 2 && echo same")  # one word: a command line as is
    assert failed.exit_code == 1
    assert load_run(repo, "20251006T172654Z", root)["verdict"] == "fail"
    multi = lk("exec", "--", "echo a\necho b")
    assert multi.exit_code == 1 and "needs a memo step" in multi.output
