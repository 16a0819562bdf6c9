"""Issue 11, the gate: Attempts are append-only, their dates are checked, cited runs travel with
the commit, and a FORCED done needs a recorded override that no failing run contradicts."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lk_helpers import Invoke, git

from loopkit.fsio import read_text
from loopkit.parsers.plan import parse_plan

STAMP = "20251006T172653Z"
EXEC_ROOT = "reports/loopkit/exec"
PLAN = "plans/active/cli-noise-pix0/plan.md"


def _recorded_attempt(repo: Path, lk: Invoke, cmd: str = "true") -> None:
    """An exec run cited by Attempt #48 of CLI-FLAGS-003, all committed."""
    lk("exec", "--focus", "CLI-FLAGS-003 / Phase K3g3", "--", cmd)
    added = lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP, "--task", "K3g3")
    assert "Attempt #48" in added.output, added.output
    committed = lk("commit", "-m", "ralph: K3g3 attempt", "--actor", "ralph")
    assert committed.exit_code == 0, committed.output


def _edit_ledger(repo: Path, old: str, new: str) -> None:
    path = repo / "docs/fix_plan.md"
    text = read_text(path)
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_duplicate_success_attempt_reusing_a_number_is_an_error(repo: Path, lk: Invoke) -> None:
    _recorded_attempt(repo, lk)
    forged = (f"  * [2025-10-06] Attempt #48 (ralph) — Result: success. K3g3 exit criteria MET.\n"
              f"    <!-- loopkit:attempt item=CLI-FLAGS-003 n=48 run={STAMP} -->\n")
    _edit_ledger(repo, "- Risks/Assumptions: Must keep pix0",
                 forged + "- Risks/Assumptions: Must keep pix0")
    result = lk("check")
    assert result.exit_code == 1
    assert "CLI-FLAGS-003 Attempt #48 reuses a number the item already has" in result.output


def test_a_copied_attempt_block_is_an_error(repo: Path, lk: Invoke) -> None:
    lines = read_text(repo / "docs/fix_plan.md").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "] Attempt #28 (ralph) — Result: **E" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  * ["))
    copy = "".join(lines[start:end])
    (repo / "docs/fix_plan.md").write_text("".join(lines[:end]) + copy + "".join(lines[end:]))
    result = lk("check")
    assert result.exit_code == 1
    assert "CLI-FLAGS-003 Attempt #28 reuses a number the item already has" in result.output


def test_rewritten_and_removed_attempts_are_errors(repo: Path, lk: Invoke) -> None:
    ledger = repo / "docs/fix_plan.md"
    original = read_text(ledger)
    _edit_ledger(repo, "Attempt #27 (ralph) — Result: **PARITY FAILURE**",
                 "Attempt #27 (ralph) — Result: **SUCCESS**")
    rewritten = lk("check")
    assert rewritten.exit_code == 1
    assert "CLI-FLAGS-003 Attempt #27 was changed in place" in rewritten.output
    lines = original.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "] Attempt #28 (ralph) — Result: **E" in line)
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("  * ["))
    ledger.write_text("".join(lines[:start] + lines[end:]))
    removed = lk("check")
    assert "CLI-FLAGS-003 Attempt #28 was removed" in removed.output
    # moving Attempts verbatim to the archive is not a removal
    ledger.write_text(original)
    assert lk("archive", "--item", "CLI-FLAGS-003", "--keep-last", "3").exit_code == 0
    archived = lk("check")
    assert "was removed" not in archived.output and "changed in place" not in archived.output


def test_check_flags_a_new_attempt_dated_after_now(repo: Path, lk: Invoke) -> None:
    lk("exec", "--", "true")
    lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP)
    _edit_ledger(repo, "[2025-10-06] Attempt #48", "[2025-10-09] Attempt #48")
    result = lk("check")
    assert result.exit_code == 1
    assert ("CLI-FLAGS-003 Attempt #48 is dated 2025-10-09, after now (2025-10-06T17:26:53Z)"
            in result.output)


def test_commit_stages_cited_runs_and_a_clone_passes_check(repo: Path, lk: Invoke,
                                                           tmp_path: Path) -> None:
    _recorded_attempt(repo, lk)
    shown = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert f"{EXEC_ROOT}/{STAMP}/run.json" in shown
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(repo), str(clone)], check=True)
    from click.testing import CliRunner

    from loopkit.cli import cli
    result = CliRunner().invoke(cli, ["--root", str(clone), "--now", "2025-10-06T17:30:00Z",
                                      "check", "--base", "HEAD~1"])
    assert result.exit_code == 0, result.output
    assert "1 new attempt(s)" in result.output


def test_hand_typed_forced_on_a_done_cell_is_an_error(repo: Path, lk: Invoke) -> None:
    plan = repo / PLAN
    plan.write_text(read_text(plan).replace(
        "| K3g3 | Re-run scaling & parity evidence | [ ] |",
        "| K3g3 | Re-run scaling & parity evidence | [D] | ⚠️ FORCED 2025-10-06: trust me "
        "[no --evidence run given]. |"))
    result = lk("check")
    assert result.exit_code == 1
    assert "K3g3: FORCED typed by hand" in result.output


def test_forced_done_refused_while_a_failing_run_is_cited(repo: Path, lk: Invoke) -> None:
    _recorded_attempt(repo, lk, "false")  # the cited K3g3 run failed
    before = read_text(repo / PLAN)
    refused = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--force", "--reason",
                 "supervisor says so")
    assert refused.exit_code == 4
    assert (f"refused: --force cannot mark K3g3 done while CLI-FLAGS-003 Attempt #48 cites "
            f"run {STAMP}, whose verdict is 'fail'") in refused.output
    assert read_text(repo / PLAN) == before
    # another task, with no failing run cited, can still be forced (and check accepts it)
    forced = lk("plan", "set", "cli-noise-pix0", "D2", "D", "--force", "--reason",
                "no run can show it")
    assert forced.exit_code == 0, forced.output
    task = parse_plan(read_text(repo / PLAN)).task("D2")
    assert task is not None and task.guidance.startswith("⚠️ FORCED 2025-10-06")
    check = lk("check")
    assert "D2: forced done" in check.output and "typed by hand" not in check.output
