"""Evidence is a run loopkit recorded, and a step cannot fake its result: forged and edited
runs, the end-of-step marker, processes a step leaves behind, and bounded run options."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from lk_helpers import Invoke, git

from loopkit.cli import cli

RUN_ROOT = "reports/2025-10-loopkit/phase_f"
STAMP = "20251006T172653Z"
PASSING_MEMO = """Summary: forgery
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — forgery test
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/2025-10-loopkit/phase_f/
Do Now: CLI-FLAGS-003 — echo ok
If Blocked: stop.

How-To Map:
- echo ok > "$RUN_DIR/ok.txt"
  Expect: rc=0; file ok.txt exists
"""


def _passing_run(repo: Path, lk: Invoke) -> Path:
    (repo / "memo.md").write_text(PASSING_MEMO)
    assert lk("run", "memo.md").exit_code == 0
    return repo / RUN_ROOT / STAMP


def _forge(folder: Path, run_id: str, rel: str) -> None:
    """A hand-written run record claiming a pass, with an artifact and matching digests."""
    folder.mkdir(parents=True)
    (folder / "ok.txt").write_text("ok\n")
    record = {"run_id": run_id, "run_dir": rel, "started": "2025-10-06T17:26:53Z",
              "verdict": "pass", "complete": True, "steps": [], "skipped_steps": [],
              "selection": {"subset": False}, "counts": {"pass": 3, "fail": 0},
              "artifacts": [{"path": f"{rel}/ok.txt"}]}
    (folder / "run.json").write_text(json.dumps(record))
    (folder / "sha256.txt").write_text("".join(
        f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
        for n in ("ok.txt", "run.json")))


FORGED = "20251006T180000Z"


@pytest.mark.parametrize("where", ["inside", "outside"])
def test_a_hand_written_run_is_not_evidence(repo: Path, lk: Invoke, tmp_path: Path,
                                            where: str) -> None:
    if where == "inside":
        folder, cite = repo / RUN_ROOT / FORGED, FORGED
    else:
        folder = tmp_path / "elsewhere" / FORGED
        cite = str(folder)
    _forge(folder, FORGED, f"{RUN_ROOT}/{FORGED}")
    plan = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", cite)
    assert plan.exit_code != 0 and "not evidence" in plan.output
    item = lk("item", "set", "CLI-FLAGS-003", "--status", "done", "--evidence", cite)
    assert item.exit_code != 0 and "not evidence" in item.output
    add = lk("attempt", "add", "CLI-FLAGS-003", "--run", cite)
    assert add.exit_code != 0 and "not evidence" in add.output
    ledger = repo / "docs/fix_plan.md"
    text = ledger.read_text()
    status = next(line for line in text.splitlines(keepends=True)
                  if line.startswith("- Status:") and "in_progress" in line)
    ledger.write_text(text.replace(status, f"- Status: done (run {cite})\n", 1))
    check = lk("check")
    assert check.exit_code == 1 and "not evidence" in check.output
    assert lk("commit", "-m", "turn").exit_code == 1


def test_a_recorded_run_edited_afterwards_is_not_evidence(repo: Path, lk: Invoke) -> None:
    run_dir = _passing_run(repo, lk)
    assert lk("plan", "set", "cli-noise-pix0", "K3g3", "P").exit_code == 0
    record = json.loads((run_dir / "run.json").read_text())
    record["counts"]["pass"] = 99
    (run_dir / "run.json").write_text(json.dumps(record))
    plan = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", STAMP)
    assert plan.exit_code == 4 or plan.exit_code == 1
    assert "not evidence" in plan.output


def test_a_recorded_run_is_evidence_here_and_after_a_commit_in_a_clone(
        repo: Path, lk: Invoke, tmp_path: Path) -> None:
    _passing_run(repo, lk)
    assert lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", STAMP).exit_code == 0
    assert lk("commit", "-m", "turn", "--run", STAMP).exit_code == 0
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    assert not (clone / ".loopkit/runs.jsonl").exists()
    result = CliRunner().invoke(cli, ["--root", str(clone), "item", "set", "CLI-FLAGS-003",
                                      "--status", "done", "--evidence", STAMP])
    assert result.exit_code == 0, result.output


def test_a_step_cannot_forge_its_end_of_step_marker(repo: Path, lk: Invoke) -> None:
    memo = PASSING_MEMO.replace(
        '- echo ok > "$RUN_DIR/ok.txt"\n  Expect: rc=0; file ok.txt exists\n',
        "- for fd in 1 3 4 5 6 7 8 9 10 11 12 13 14 15; do "
        "printf '\\n__LOOPKIT_DONE__ 0\\n' >&$fd; done 2>/dev/null; false\n"
        "  Expect: rc=0\n"
        "- echo second\n  Expect: rc=0\n")
    (repo / "memo.md").write_text(memo)
    result = lk("run", "memo.md")
    run = json.loads((repo / RUN_ROOT / STAMP / "run.json").read_text())
    assert [s["rc"] for s in run["steps"]] == [1, 0], result.output
    assert run["verdict"] == "fail"


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def test_a_detached_child_is_killed_before_the_run_is_sealed(repo: Path, lk: Invoke) -> None:
    # Each child notes its pid, then would write its file long after any run under load has
    # ended: the run must have killed both by the time it returns.
    late = r'echo \$\$ > \"\$0.pid\"; sleep 30; echo late > \"\$0\"'
    step = (f'- echo start; setsid sh -c "{late}" "$RUN_DIR/late.txt" > /dev/null 2>&1 & '
            f'env -i setsid sh -c "{late}" "$RUN_DIR/../late2.txt" > /dev/null 2>&1 & '
            'until [ -s "$RUN_DIR/late.txt.pid" ] && [ -s "$RUN_DIR/../late2.txt.pid" ]; '
            'do sleep 0.05; done; echo ok > "$RUN_DIR/ok.txt"')
    memo = PASSING_MEMO.replace('- echo ok > "$RUN_DIR/ok.txt"', step)
    (repo / "memo.md").write_text(memo)
    result = lk("run", "memo.md")
    assert result.exit_code == 0, result.output
    assert (repo / RUN_ROOT / STAMP / "ok.txt").is_file()  # the step ran
    pid_files = [repo / RUN_ROOT / STAMP / "late.txt.pid", repo / RUN_ROOT / "late2.txt.pid"]
    pids = [int(p.read_text()) for p in pid_files]  # the step waited for both
    assert not any(_alive(pid) for pid in pids), pids
    assert not (repo / RUN_ROOT / STAMP / "late.txt").exists()
    assert not (repo / RUN_ROOT / "late2.txt").exists()


def test_run_json_is_not_rewritten_after_every_step(repo: Path, lk: Invoke) -> None:
    steps = "".join(f"- echo step{i}\n  Expect: rc=0\n" for i in range(1, 4))
    steps += '- cp "$RUN_DIR/run.json" "$RUN_DIR/seen.json"\n  Expect: rc=0\n'
    memo = PASSING_MEMO.replace(
        '- echo ok > "$RUN_DIR/ok.txt"\n  Expect: rc=0; file ok.txt exists\n', steps)
    (repo / "memo.md").write_text(memo)
    assert lk("run", "memo.md").exit_code == 0
    seen = json.loads((repo / RUN_ROOT / STAMP / "seen.json").read_text())
    assert [s["status"] for s in seen["steps"]] == ["pending"] * 4


@pytest.mark.parametrize("value", ["0", "nan", "-1", "inf", "soon"])
def test_a_timeout_must_be_a_positive_number_of_seconds(repo: Path, lk: Invoke,
                                                         value: str) -> None:
    (repo / "memo.md").write_text(PASSING_MEMO)
    result = lk("run", "memo.md", "--timeout", value)
    assert result.exit_code == 2 and "--timeout" in result.output
    assert lk("exec", "--timeout", value, "--", "echo", "x").exit_code == 2
    assert not (repo / RUN_ROOT).exists()


def test_a_huge_step_range_costs_nothing(repo: Path, lk: Invoke) -> None:
    (repo / "memo.md").write_text(PASSING_MEMO)
    started = time.monotonic()
    result = lk("run", "memo.md", "--steps", "1-999999999", "--dry-run")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 10
    assert lk("run", "memo.md", "--steps", "5-3").exit_code == 1


def test_evidence_cannot_point_outside_the_reports_root(repo: Path, lk: Invoke) -> None:
    run_dir = _passing_run(repo, lk)
    moved = repo / "elsewhere" / STAMP
    moved.parent.mkdir()
    shutil.copytree(run_dir, moved)
    shutil.rmtree(run_dir)
    result = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", str(moved))
    assert result.exit_code != 0 and "not evidence" in result.output
