"""Issue 11: loopkit in a repository it was not written in. Steps run the user's own tools, the
run says which, loopkit's private folder stays out of ``git status``, a bad loopkit.toml or a
held lock ends in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lk_helpers import git

from loopkit.scrub import PathScrubber

MEMO = """Summary: the user's own tools
Mode: TDD
Focus: TOY-001
Branch: main
Mapped tests: none
Artifacts: reports/toy/
Do Now: TOY-001 — pytest -q
If Blocked: stop.

How-To Map:
- pytest -q
  Expect: 1 passed
- python -c "print('hi')"
  Expect: rc=0
- nb-compare --outdir "$RUN_DIR/cmp"
  Expect: correlation ≥0.999
"""
LEDGER = """# Fix Plan

## [TOY-001] Toy item
- Status: in_progress
- Attempts History:
"""
TOOLS = {
    "pytest": 'echo "user pytest $*"; echo "1 passed in 0.01s"',
    "python": 'echo "user python"',
    "nb-compare": 'mkdir -p "$2"; echo "{\\"correlation\\": 0.9995}" > "$2/metrics.json"; '
                  'echo "user nb-compare"',
}


def _loopkit(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "loopkit", "--now", "2026-01-02T03:04:05Z",
                           *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def scratch(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A user's repository (not this one) and their PATH, with their own tools first."""
    root = tmp_path / "toy"
    (root / "docs").mkdir(parents=True)
    (root / "input.md").write_text(MEMO)
    (root / "docs/fix_plan.md").write_text(LEDGER)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "toy project")
    userbin = tmp_path / "userbin"
    userbin.mkdir()
    for name, body in TOOLS.items():
        (userbin / name).write_text(f"#!/bin/sh\n{body}\n")
        (userbin / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "LOOPKIT_ROOT")}
    env.update({"PATH": f"{userbin}:/usr/bin:/bin", "VIRTUAL_ENV": str(tmp_path / "uservenv")})
    return root, env


def test_steps_run_the_users_tools_and_env_json_says_which(
        scratch: tuple[Path, dict[str, str]]) -> None:
    root, env = scratch
    userbin = Path(env["PATH"].split(":")[0])
    kept = PathScrubber(root).text  # evidence names machine paths as <tmp>, ~, <repo>
    result = _loopkit(root, env, "run")
    assert result.returncode == 0, result.stdout + result.stderr
    run_dir = next((root / "reports/toy").iterdir())
    outputs = [(run_dir / f"steps/0{i}.out").read_text().splitlines()[0] for i in (1, 2, 3)]
    assert outputs == ["user pytest -q", "user python", "user nb-compare"]
    recorded = json.loads((run_dir / "env.json").read_text())
    found = {c["command"]: c["path"] for c in recorded["commands"]}
    assert found == {name: kept(str(userbin / name)) for name in ("pytest", "python",
                                                                  "nb-compare")}
    assert recorded["env"]["PATH"] == kept(env["PATH"])
    assert recorded["env"]["VIRTUAL_ENV"] == kept(env["VIRTUAL_ENV"])
    assert recorded["tools"]["python_executable"] == kept(str(userbin / "python"))
    commands = (run_dir / "commands.txt").read_text()
    assert f"# PATH={kept(env['PATH'])}" in commands
    assert f"# step 1: pytest -> {kept(str(userbin / 'pytest'))}" in commands
    # loopkit's own interpreter folder is nowhere on the steps' PATH
    assert kept(str(Path(sys.executable).parent)) not in recorded["env"]["PATH"]


def test_loopkit_private_folder_stays_out_of_git_status(
        scratch: tuple[Path, dict[str, str]]) -> None:
    root, env = scratch
    assert _loopkit(root, env, "run").returncode == 0
    stamp = next((root / "reports/toy").iterdir()).name
    added = _loopkit(root, env, "attempt", "add", "TOY-001", "--run", stamp)
    assert added.returncode == 0, added.stderr
    assert (root / ".loopkit/locks").is_dir()
    status = git(root, "status", "--porcelain", "--untracked-files=all")
    assert ".loopkit" not in status
    assert "docs/fix_plan.md" in status


@pytest.mark.parametrize(("toml", "message"), [
    ('[budgets]\nstep_timeout_s = "fast"\n',
     "loopkit.toml [budgets] step_timeout_s: expected a number, got 'fast'"),
    ("paths = 3\n", "loopkit.toml [paths]: expected a table, got 3"),
    ('[paths]\nplans = "plans/*.md"\n',
     "loopkit.toml [paths] plans: expected a list of strings, got 'plans/*.md'"),
    ("[run]\npath_prepend = [1]\n",
     "loopkit.toml [run] path_prepend: expected a list of strings, got [1]"),
    ("[env_profiles.fast]\nfail_on_skip = \"yes\"\n",
     "loopkit.toml [env_profiles.fast] fail_on_skip: expected true or false, got 'yes'"),
])
def test_wrong_value_types_in_loopkit_toml_are_one_line(
        scratch: tuple[Path, dict[str, str]], toml: str, message: str) -> None:
    root, env = scratch
    (root / "loopkit.toml").write_text(toml)
    result = _loopkit(root, env, "status")
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: {message}"
    assert "Traceback" not in result.stdout + result.stderr


def test_a_held_lock_names_its_holder_in_one_line(scratch: tuple[Path, dict[str, str]]) -> None:
    root, env = scratch
    assert _loopkit(root, env, "run").returncode == 0
    stamp = next((root / "reports/toy").iterdir()).name
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from loopkit.fsio import locked\n"
         "with locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(60)",
         str(root / "docs/fix_plan.md"), "--holding"],
        env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        waited = _loopkit(root, {**env, "LOOPKIT_LOCK_WAIT_S": "1"}, "attempt", "add",
                          "TOY-001", "--run", stamp)
        elapsed = time.monotonic() - t0
    finally:
        holder.kill()
        holder.wait()
    assert waited.returncode == 1
    lines = waited.stderr.strip().splitlines()
    assert len(lines) == 1, waited.stderr
    assert lines[0].startswith(f"error: fix_plan.md is locked by pid {holder.pid} (-c ")
    assert "--holding) since 20" in lines[0]
    assert elapsed < 30


def test_check_in_a_repository_without_commits_compares_with_the_empty_tree(
        tmp_path: Path) -> None:
    """A project that has just run ``git init`` and ``loopkit init``: ``check`` passes, and a
    new Attempt in the (staged, never committed) ledger is still gated."""
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    env = {k: v for k, v in os.environ.items() if k != "LOOPKIT_ROOT"}
    assert _loopkit(root, env, "init").returncode == 0
    clean = _loopkit(root, env, "check")
    assert clean.returncode == 0, clean.stderr
    assert "0 error(s)" in clean.stdout
    ledger = root / "docs/fix_plan.md"
    ledger.write_text(LEDGER + "  * [2026-01-02] Attempt #1 — cites no run\n")
    git(root, "add", "-A")
    gated = _loopkit(root, env, "check")
    assert gated.returncode == 1
    assert "TOY-001 Attempt #1 cites no loopkit run" in gated.stdout + gated.stderr
