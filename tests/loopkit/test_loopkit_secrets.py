"""No secret in anything loopkit writes or commits: found by value, by shape and by name,
redacted as step output is written, before JSON is serialised, in free text, and a file that
holds one is never committed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lk_helpers import Invoke, git

from loopkit.config import EnvSnapshot
from loopkit.scrub import REDACTED, Redactor

ROOT = "reports/loopkit/exec"
STAMP = "20251006T172653Z"
PRIVATE_PW = "pw-Qz81xLm"
DB_PASSWORD = "dbSecret77"
TYPED_TOKEN = "sk-proj-AbCdEfGhIjKlMnOpQrStUv12"
SHORT = "hunt3r"
SECRET_ENV = {"MY_PRIVATE_PW": PRIVATE_PW,
              "DATABASE_URL": f"postgres://app:{DB_PASSWORD}@db.internal:5432/main",
              "DB_PASSWORD": SHORT}


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)


def _all_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def _assert_clean(data: bytes) -> None:
    for secret in (PRIVATE_PW, DB_PASSWORD, TYPED_TOKEN, SHORT):
        assert secret.encode() not in data, secret


def _json_files_valid(folder: Path) -> None:
    for path in folder.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))


def test_env_values_url_passwords_and_typed_tokens_never_reach_the_run_folder(
        repo: Path, lk: Invoke, secrets_env: None) -> None:
    cmd = (f'echo begin; env; echo "$DATABASE_URL"; echo pw is {SHORT}; echo key {TYPED_TOKEN}; '
           f'echo "{PRIVATE_PW}" > "$RUN_DIR/dump.txt"; env > "$RUN_DIR/env-dump.txt"')
    result = lk("exec", "--", cmd)
    assert result.exit_code == 0, result.output
    run_dir = repo / ROOT / STAMP
    _assert_clean(_all_bytes(run_dir))
    out = (run_dir / "steps/01.out").read_text()
    assert f"postgres://app:{REDACTED}@db.internal:5432/main" in out
    assert f"pw is {REDACTED}" in out
    _json_files_valid(run_dir)


def test_redacting_a_flag_keeps_run_json_valid(repo: Path, lk: Invoke) -> None:
    result = lk("exec", "--", "echo", "--password=xxxxxxxx", "--token", "abcdefgh12")
    assert result.exit_code == 0, result.output
    run = json.loads((repo / ROOT / STAMP / "run.json").read_text())
    assert run["steps"][0]["cmd"] == f"echo --password={REDACTED} --token {REDACTED}"
    _json_files_valid(repo / ROOT / STAMP)


def test_control_characters_in_output_and_variables_keep_json_valid(repo: Path,
                                                                     lk: Invoke) -> None:
    cmd = (r"X=$(printf 'a\001b\033[31mc\377d'); "
           r"printf 'bell\a nul\000 esc\033[0m \377\376\n'; echo \"$X\"")
    result = lk("exec", "--", cmd)
    assert result.exit_code == 0, result.output
    _json_files_valid(repo / ROOT / STAMP)


def test_a_secret_in_a_file_over_5_mib_is_redacted(repo: Path, lk: Invoke,
                                                    secrets_env: None) -> None:
    cmd = ('python -c "import sys; open(sys.argv[1], \'w\').write((\'filler \' * 13 + chr(10))'
           ' * 70000 + sys.argv[2] + chr(10))" "$RUN_DIR/big.log" "$MY_PRIVATE_PW"')
    result = lk("exec", "--", cmd)
    assert result.exit_code == 0, result.output
    big = repo / ROOT / STAMP / "big.log"
    assert big.stat().st_size > 5 * 1024 * 1024
    assert PRIVATE_PW.encode() not in big.read_bytes()
    assert big.read_bytes().endswith(REDACTED.encode() + b"\n")


def test_a_git_remote_url_with_a_token_is_redacted(repo: Path, lk: Invoke) -> None:
    git(repo, "remote", "add", "origin",
        "https://x-access-token:ghs_remote8Secret8Value@github.com/o/r.git")
    result = lk("exec", "--", "git remote -v")
    assert result.exit_code == 0, result.output
    data = _all_bytes(repo / ROOT / STAMP)
    assert b"ghs_remote8Secret8Value" not in data
    assert f"https://x-access-token:{REDACTED}@github.com/o/r.git".encode() in data


def test_short_secret_values_are_redacted_as_whole_words_only() -> None:
    redactor = Redactor({"DB_PASSWORD": "abc1", "MAX_TOKENS": "4096"}, EnvSnapshot().redact)
    assert redactor.text("login abc1 ok; xabc1y; 4096 tokens") == \
        f"login {REDACTED} ok; xabc1y; 4096 tokens"


def test_free_text_of_every_command_is_redacted(repo: Path, lk: Invoke,
                                                secrets_env: None) -> None:
    (repo / "memo.md").write_text(PASSING_MEMO)
    assert lk("run", "memo.md").exit_code == 0
    run_root = "reports/2025-10-loopkit/phase_i"
    assert lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP, "--summary",
              f"used {TYPED_TOKEN}", "--obs", f"pw {PRIVATE_PW}",
              "--next", f"rotate {SHORT}").exit_code == 0
    assert lk("item", "set", "CLI-FLAGS-003", "--status", "in_progress", "--note",
              f"db {DB_PASSWORD}").exit_code == 0
    assert lk("memory", "add", "--focus", "CLI-FLAGS-003", "-m",
              f"token {TYPED_TOKEN}").exit_code == 0
    assert lk("plan", "set", "cli-noise-pix0", "K3g3", "P").exit_code == 0
    done = lk("commit", "-m", f"loop turn {TYPED_TOKEN}", "--run", STAMP, "--no-check")
    assert done.exit_code == 0, done.output
    for rel in ("docs/fix_plan.md", "galph_memory.md", f"{run_root}/{STAMP}/run.json"):
        _assert_clean((repo / rel).read_bytes())
    _assert_clean(_all_bytes(repo / ".loopkit"))  # lock holders name the command line
    _assert_clean(git(repo, "log", "-1", "--format=%B").encode())


def test_commit_refuses_a_file_that_holds_a_secret(repo: Path, lk: Invoke,
                                                   secrets_env: None) -> None:
    dump = repo / "env-dump.txt"
    dump.write_text("".join(f"{k}={v}\n" for k, v in os.environ.items()))
    result = lk("commit", "-m", "evidence", "--include", "env-dump.txt", "--no-check")
    assert result.exit_code == 4
    assert "env-dump.txt" in result.output and "secret" in result.output
    assert "env-dump.txt" not in git(repo, "ls-files")
    (repo / "notes.txt").write_text(f"call it with {TYPED_TOKEN}\n")
    assert lk("commit", "-m", "n", "--include", "notes.txt", "--no-check").exit_code == 4


def test_a_run_killed_mid_step_leaves_no_raw_secret(repo: Path) -> None:
    env = {**os.environ, **SECRET_ENV}
    proc = subprocess.Popen(
        [sys.executable, "-m", "loopkit", "--root", str(repo), "exec", "--",
         f'echo begin; env; echo "$MY_PRIVATE_PW {TYPED_TOKEN}"; sleep 30'],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out_files: list[Path] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out_files = [p for p in (repo / ROOT).glob("*/steps/01.out") if p.stat().st_size]
        if out_files and b"MY_PRIVATE_PW" in out_files[0].read_bytes():
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=20)
    assert out_files, "the step's output never appeared"
    data = _all_bytes(out_files[0].parents[1])
    assert b"MY_PRIVATE_PW" in data
    _assert_clean(data)


PASSING_MEMO = """Summary: item evidence
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — secrets test
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/2025-10-loopkit/phase_i/
Do Now: CLI-FLAGS-003 — echo ok
If Blocked: stop.

How-To Map:
- echo ok > "$RUN_DIR/ok.txt"
  Expect: rc=0; file ok.txt exists
"""
