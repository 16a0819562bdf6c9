"""Run evidence that cannot overstate: environment requirements, subsets, JSON key matching,
git dirty paths, the steps' PATH, lock files and machine paths."""

from __future__ import annotations

import hashlib
import json
import stat
import sys
import tempfile
from pathlib import Path

import pytest
from lk_helpers import Invoke, git

from loopkit.config import EnvSnapshot
from loopkit.expect.all_kinds import check
from loopkit.expect.context import StepContext
from loopkit.expect.parse import parse_expect
from loopkit.requires import step_requirements, unmet
from loopkit.scrub import PathScrubber, Redactor
from loopkit.snapshot import dirty_paths, git_snapshot

PROJECT = Path(__file__).resolve().parents[2]
ROOT = "reports/2025-10-loopkit/phase_e"
STAMP = "20251006T172653Z"
SKIP = "skipped-by-environment"

MEMO = """Summary: requirements
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — requirements test
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/2025-10-loopkit/phase_e/
Do Now: CLI-FLAGS-003 — echo hi
If Blocked: stop.

How-To Map:
- echo golden > "$RUN_DIR/golden.txt"
  Expect: rc=0; file golden.txt exists
- env "$LK_TEST_BIN" > "$RUN_DIR/live.txt"  # requires: LK_TEST_BIN, LK_TEST_MODE
  Expect: file live.txt exists; regex "live-output"
"""


def _run(repo: Path, lk: Invoke, *args: str) -> tuple[int, dict]:
    (repo / "memo.md").write_text(MEMO)
    result = lk("run", "memo.md", *args)
    run = json.loads((repo / ROOT / STAMP / "run.json").read_text())
    return result.exit_code, run


def _program(tmp_path: Path, executable: bool = True) -> Path:
    prog = tmp_path / "fake_c_bin"
    prog.write_text("#!/bin/sh\necho live-output\n")
    if executable:
        prog.chmod(prog.stat().st_mode | stat.S_IXUSR)
    return prog


def test_step_requirements_are_read_from_a_trailing_comment() -> None:
    assert step_requirements("pytest x -v | tee log  # requires: NB_C_BIN") == ["NB_C_BIN"]
    assert step_requirements("run  # requires: A_BIN, MODE") == ["A_BIN", "MODE"]
    assert step_requirements("python - <<'PY'\nprint(1)\nPY  # requires: X") == ["X"]
    assert step_requirements("echo '# requires: nothing here' > f") == []
    assert step_requirements("echo hi") == []


def test_unmet_requirements(tmp_path: Path) -> None:
    prog = _program(tmp_path)
    assert unmet(["NB_C_BIN"], {}, tmp_path) == ["NB_C_BIN is not set"]
    assert unmet(["NB_C_BIN"], {"NB_C_BIN": "  "}, tmp_path) == ["NB_C_BIN is not set"]
    assert unmet(["NB_C_BIN"], {"NB_C_BIN": str(tmp_path / "missing")}, tmp_path) == [
        "NB_C_BIN does not name an executable file"]
    assert unmet(["NB_C_BIN"], {"NB_C_BIN": str(prog)}, tmp_path) == []
    assert unmet(["NB_C_BIN"], {"NB_C_BIN": "fake_c_bin"}, tmp_path) == [
        "NB_C_BIN does not name an executable file"]
    assert unmet(["NB_C_BIN"], {"NB_C_BIN": "fake_c_bin", "PATH": str(tmp_path)},
                 tmp_path) == []
    assert unmet(["MODE"], {"MODE": "x"}, tmp_path) == []


def test_unset_requirement_skips_the_step_and_the_run_is_partial(
        repo: Path, lk: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LK_TEST_BIN", raising=False)
    monkeypatch.setenv("LK_TEST_MODE", "on")
    code, run = _run(repo, lk)
    assert code == 3 and run["verdict"] == "partial"
    golden, live = run["steps"]
    assert golden["status"] == "ok"
    assert all(o["verdict"] == "pass" for o in golden["expect"])
    assert live["status"] == SKIP and live["rc"] is None
    assert live["requires"] == ["LK_TEST_BIN", "LK_TEST_MODE"]
    assert live["expect"] and all(o["verdict"] == SKIP for o in live["expect"])
    assert run["counts"][SKIP] == len(live["expect"]) and run["counts"]["pass"] == 2
    assert run["skipped_steps"] == [{"i": 2, "requires": ["LK_TEST_BIN", "LK_TEST_MODE"],
                                     "reason": "LK_TEST_BIN is not set"}]
    run_dir = repo / ROOT / STAMP
    assert not (run_dir / "live.txt").exists() and not (run_dir / "steps/02.out").exists()
    summary = (run_dir / "summary.md").read_text()
    assert "- step 2: requires LK_TEST_BIN, LK_TEST_MODE — LK_TEST_BIN is not set" in summary
    assert f"| 2 | {SKIP} |" in summary and "Verdict: **partial**" in summary


def test_program_variable_must_be_executable(repo: Path, lk: Invoke, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LK_TEST_BIN", str(_program(tmp_path, executable=False)))
    monkeypatch.setenv("LK_TEST_MODE", "on")
    code, run = _run(repo, lk)
    assert code == 3
    assert run["steps"][1]["skip_reason"] == "LK_TEST_BIN does not name an executable file"


def test_met_requirements_run_the_step(repo: Path, lk: Invoke, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LK_TEST_BIN", str(_program(tmp_path)))
    monkeypatch.setenv("LK_TEST_MODE", "on")
    code, run = _run(repo, lk)
    assert code == 0 and run["verdict"] == "pass", run
    assert run["skipped_steps"] == [] and run["selection"]["subset"] is False
    assert all(o["verdict"] == "pass" for s in run["steps"] for o in s["expect"])


def test_a_second_requirement_that_is_unset_also_skips(repo: Path, lk: Invoke, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LK_TEST_BIN", str(_program(tmp_path)))
    monkeypatch.delenv("LK_TEST_MODE", raising=False)
    code, run = _run(repo, lk)
    assert code == 3 and run["steps"][1]["skip_reason"] == "LK_TEST_MODE is not set"


def test_partial_run_records_a_partial_attempt_and_cannot_close_a_task(
        repo: Path, lk: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LK_TEST_BIN", raising=False)
    _run(repo, lk)
    plan = repo / "plans/active/cli-noise-pix0/plan.md"
    before = plan.read_text()
    claim = lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP, "--result", "success")
    assert claim.exit_code == 4 and "partial" in claim.output
    added = lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP, "--task", "K3g3")
    assert added.exit_code == 0 and "Result: partial" in added.output
    ledger = (repo / "docs/fix_plan.md").read_text()
    block = ledger[ledger.index(f"run={STAMP}") - 400:]
    assert "Result: partial." in block
    assert f"Steps 2 were {SKIP} (not run, not evidence)" in block
    assert f"step 2 {SKIP}: LK_TEST_BIN is not set" in block
    refused = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", STAMP)
    assert refused.exit_code == 4 and "partial" in refused.output
    assert plan.read_text() == before


def test_steps_subset_is_recorded_and_is_partial_evidence(
        repo: Path, lk: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LK_TEST_BIN", str(_program(tmp_path)))
    monkeypatch.setenv("LK_TEST_MODE", "on")
    code, run = _run(repo, lk, "--steps", "1")
    assert code == 3 and run["verdict"] == "partial"
    assert run["selection"] == {"steps": "1", "do_now_only": False, "selected": [1],
                                "available": [1, 2], "subset": True}
    summary = (repo / ROOT / STAMP / "summary.md").read_text()
    assert "**subset** (--steps 1): ran 1 of the memo's shell steps 1, 2" in summary
    added = lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP)
    assert "Result: partial" in added.output
    assert "subset run: steps [1] of [1, 2]" in (repo / "docs/fix_plan.md").read_text()
    refused = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", STAMP)
    assert refused.exit_code == 4 and "subset run" in refused.output


def _ctx(tmp_path: Path, data: dict) -> StepContext:
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "metrics.json").write_text(json.dumps(data))
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    return StepContext(tmp_path, tmp_path, f"nb-compare --outdir {out}", 0, empty, empty, None)


NB_COMPARE = {"correlation": 0.9995, "rmse_rel_max": 2e-4,
              "peaks": {"max_distance_px": 0.5, "mean_distance_px": 0.1},
              "limits": {"correlation": 0.5, "rmse_rel_max": 0.5, "peak_max_distance_px": 9.0}}


@pytest.mark.parametrize(("expect", "verdict", "detail"), [
    ("correlation ≥0.999", "pass", "0.9995 (from cmp/metrics.json)"),
    ("rmse_rel_max ≤1e-3", "pass", "0.0002 (from cmp/metrics.json)"),
    ("peak distance ≤1 px", "pass", "0.5 (from cmp/metrics.json)"),
    ("peak distance ≤0.4 px", "fail", "0.5 (from cmp/metrics.json)"),
    ("peaks.max_distance_px ≤1 px", "pass", "0.5 (from cmp/metrics.json)"),
    ("limits.correlation ≤0.6", "pass", "0.5 (from cmp/metrics.json)"),
])
def test_json_keys_prefer_the_named_metric_over_limits(tmp_path: Path, expect: str,
                                                       verdict: str, detail: str) -> None:
    (pred,) = parse_expect(expect)
    outcome = check(pred, _ctx(tmp_path, NB_COMPARE))
    assert (outcome.verdict, outcome.detail) == (verdict, detail)


def test_a_metric_only_under_limits_is_not_taken_from_there(tmp_path: Path) -> None:
    (pred,) = parse_expect("correlation ≥0.999")
    outcome = check(pred, _ctx(tmp_path, {"limits": {"correlation": 0.999}}))
    assert outcome.verdict == "unchecked"


def test_git_dirty_paths_keep_their_first_character(repo: Path) -> None:
    (repo / "docs/fix_plan.md").write_text("changed\n")
    (repo / "new file.txt").write_text("x\n")
    git(repo, "mv", "input.md", "memo_renamed.md")
    dirty = git_snapshot(repo)["dirty"]
    assert sorted(dirty) == ["docs/fix_plan.md", "memo_renamed.md", "new file.txt"]
    assert dirty_paths(" M a/b.py\0R  new.md\0old.md\0?? c\0") == ["a/b.py", "new.md", "c"]


def test_steps_run_the_callers_path_unless_a_prepend_is_configured(
        repo: Path, lk: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    """loopkit's own interpreter folder is not put first; ``[run] path_prepend`` puts the
    folders a project asks for first."""
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("LK_TEST_BINDIR", bindir)
    memo = MEMO.replace('echo golden > "$RUN_DIR/golden.txt"',
                        'echo "$PATH" > "$RUN_DIR/path.txt"; '
                        'test "$(command -v pytest)" = "$LK_TEST_BINDIR/pytest" && '
                        'echo golden > "$RUN_DIR/golden.txt"')
    (repo / "memo.md").write_text(memo)
    lk("run", "memo.md", "--steps", "1")
    run = json.loads((repo / ROOT / STAMP / "run.json").read_text())
    assert (repo / ROOT / STAMP / "path.txt").read_text() == "/usr/bin:/bin\n"
    assert run["steps"][0]["rc"] == 1
    (repo / "loopkit.toml").write_text(f'[run]\npath_prepend = ["{bindir}"]\n')
    lk("run", "memo.md", "--steps", "1")
    second = "20251006T172654Z"
    run = json.loads((repo / ROOT / second / "run.json").read_text())
    assert run["steps"][0]["rc"] == 0, run["steps"][0]
    path = (repo / ROOT / second / "path.txt").read_text().strip()
    assert path.endswith(":/usr/bin:/bin") and path.count(":") == 2


def test_lock_files_live_in_one_ignored_folder(repo: Path, lk: Invoke) -> None:
    (repo / "memo.md").write_text(MEMO)
    lk("run", "memo.md", "--steps", "1")
    lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP)
    lk("plan", "set", "cli-noise-pix0", "K3g3", "P")
    lk("memory", "add", "--focus", "CLI-FLAGS-003", "-m", "note")
    locks = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.lock"))
    assert locks == [".loopkit/locks/docs%fix_plan.md.lock", ".loopkit/locks/galph_memory.md.lock",
                     ".loopkit/locks/plans%active%cli-noise-pix0%plan.md.lock"]
    ignored = (PROJECT / ".gitignore").read_text().splitlines()
    assert ".loopkit/*" in ignored and ".*.lock" in ignored
    assert "!.loopkit/turns.jsonl" in ignored  # the loop's journal is tracked, locks are not


def test_run_evidence_has_no_machine_paths(repo: Path, lk: Invoke, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    tmp = tempfile.gettempdir()
    monkeypatch.setenv("LK_TEST_TMP", tmp)
    memo = MEMO.replace(
        'echo golden > "$RUN_DIR/golden.txt"',
        'echo "cwd=$PWD home=$HOME/.cache tmp=$LK_TEST_TMP/x"; '
        'python -c "import json, os; json.dump({\'outdir\': os.path.abspath(\'o\')}, '
        'open(os.environ[\'RUN_DIR\'] + \'/where.json\', \'w\'))"; '
        'printf "\\0$PWD" > "$RUN_DIR/blob.bin"; echo golden > "$RUN_DIR/golden.txt"')
    (repo / "memo.md").write_text(memo)
    lk("run", "memo.md", "--steps", "1")
    run_dir = repo / ROOT / STAMP
    out = (run_dir / "steps/01.out").read_text()
    assert out == "cwd=<repo> home=~/.cache tmp=<tmp>/x\n"
    assert json.loads((run_dir / "where.json").read_text()) == {"outdir": "<repo>/o"}
    assert str(repo).encode() in (run_dir / "blob.bin").read_bytes()  # binary: untouched
    for path in run_dir.rglob("*"):
        if path.is_file() and path.suffix != ".bin":
            text = path.read_text()
            assert str(repo) not in text and str(home) not in text, path
            assert f"{tmp}/" not in text, path
    for line in (run_dir / "sha256.txt").read_text().splitlines():
        digest, rel = line.split("  ", 1)
        assert hashlib.sha256((run_dir / rel).read_bytes()).hexdigest() == digest


def test_scrubber_replaces_whole_path_components_only(tmp_path: Path) -> None:
    scrub = PathScrubber(tmp_path / "repo", home=str(tmp_path / "home"), tmp="/tmpx")
    text = f"{tmp_path}/repo/a {tmp_path}/repository {tmp_path}/home/b /tmpx/c /tmpxy"
    assert scrub.text(text) == f"<repo>/a {tmp_path}/repository ~/b <tmp>/c /tmpxy"


def test_assignments_redact_secrets_but_keep_plain_settings() -> None:
    redactor = Redactor({}, EnvSnapshot().redact)
    text = ("run --max_tokens=5 USE_KEYRING=true API_KEY=sk-live-123 PASSWORD='hunter2' "
            'GH_TOKEN="ghp_x" TOKEN_RATE=0.5 SECRET_PATH=/etc/x')
    assert redactor.text(text) == (
        "run --max_tokens=5 USE_KEYRING=true API_KEY=<redacted> PASSWORD=<redacted> "
        "GH_TOKEN=<redacted> TOKEN_RATE=0.5 SECRET_PATH=<redacted>")
