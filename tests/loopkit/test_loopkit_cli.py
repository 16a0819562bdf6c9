"""The remaining verbs end to end on a copy of the reference repository state."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from lk_helpers import Invoke, git

from loopkit.fsio import read_text
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.memory import parse_memory


def test_memo_show_json(lk: Invoke) -> None:
    result = lk("memo", "show", "--json")
    data = json.loads(result.output)
    assert data["focus"]["item_id"] == "CLI-FLAGS-003"
    assert data["steps"][1]["predicates"] == [
        "correlation >= 0.999", "RMSE < 0.001", "peak distance <= 1", "file exists: metrics.json",
        "unchecked: PNG diff"]


def test_memo_lint_on_k3g3(repo: Path, lk: Invoke) -> None:
    (repo / "tests").mkdir()
    (repo / "tests/test_cli_scaling.py").write_text(
        "class TestFlattSquareMatchesC:\n    def test_f_latt_square_matches_c(self):\n"
        "        pass\n")
    (repo / "specs").mkdir()
    (repo / "specs/spec-a-cli.md").write_text("x\n" * 59)
    result = lk("memo", "lint")
    assert result.exit_code == 1
    out = result.output
    # the invalid selector of the reference history (the test is a class method)
    assert "tests/test_cli_scaling.py::test_f_latt_square_matches_c: collects no tests" in out
    assert "specs/spec-a-cli.md:60: past end of file (59 lines)" in out
    assert "docs/development/testing_strategy.md:172: file does not exist" in out
    assert "plans/active/cli-noise-pix0/plan.md:214" not in out  # exists, 225 lines
    assert "does not resolve" not in out  # focus resolves to item and plan task
    assert "Branch" not in out  # branch matches the checkout


def test_memo_lint_variables_and_branch(repo: Path, lk: Invoke) -> None:
    (repo / "m.md").write_text(
        "Summary: s\nFocus: NOPE-001 / Phase Z9\nBranch: main\nHow-To Map:\n"
        "- mkdir -p \"$OUT\"\n- export OUT=reports/x\n- echo \"$OUT\" \"${TS}\"\n")
    out = lk("memo", "lint", "m.md", "--no-collect").output
    assert "m.md:5: error: $OUT used before it is set" in out
    assert "m.md:7: error: $TS used before it is set" in out
    assert "$OUT used before it is set" not in out.split("m.md:7")[1]
    assert "Branch 'main' but the checkout is on 'feature/spec-based-2'" in out
    assert "focus 'NOPE-001 / Phase Z9' does not resolve to a ledger item" in out


def test_memo_render_write_is_canonical(repo: Path, lk: Invoke) -> None:
    lk("memo", "render", "--write")
    first = read_text(repo / "input.md")
    assert lk("memo", "render").output == first


def test_memory_add(repo: Path, lk: Invoke) -> None:
    result = lk("memory", "add", "--focus", "CLI-FLAGS-003", "--action-type", "Evidence",
                "--mode", "Parity", "--state", "gathering_evidence", "-m", "K3g3 rerun failed.",
                now="2025-10-06T23:39:54Z")
    assert result.exit_code == 0
    last = parse_memory(read_text(repo / "galph_memory.md")).entries[-1]
    assert last.heading == ("### 2025-10-06T23:39:54Z (galph loop recap) focus=CLI-FLAGS-003 "
                            "action=Evidence mode=Parity")
    assert last.action_state == "gathering_evidence"
    bad = lk("memory", "add", "--state", "ready")
    assert bad.exit_code == 1 and "not in vocabulary" in bad.output
    lk("memory", "add", "--focus", "CLI-FLAGS-003", "--state", "planning")
    third = lk("memory", "add", "--focus", "CLI-FLAGS-003", "--state", "planning")
    assert "3rd consecutive" in third.output


def test_ledger_lint_and_index_rebuild(repo: Path, lk: Invoke) -> None:
    lint = lk("ledger", "lint")
    assert lint.exit_code == 1
    assert "PERF-PYTORCH-005-CUDAGRAPHS missing from the index" in lint.output
    lk("ledger", "index", "--rebuild")
    ledger = parse_ledger(read_text(repo / "docs/fix_plan.md"))
    assert len(ledger.index) == len(ledger.items) == 15
    assert "missing from the index" not in lk("ledger", "lint").output


def test_archive_moves_attempts_verbatim(repo: Path, lk: Invoke) -> None:
    original = parse_ledger(read_text(repo / "docs/fix_plan.md")).item("CLI-FLAGS-003")
    assert original is not None
    blocks = ["".join(original.lines[a.start:a.end]) for a in original.attempts]
    result = lk("archive", "--item", "CLI-FLAGS-003", "--keep-last", "3")
    assert f"moved {len(blocks) - 3} attempt(s)" in result.output
    archive = read_text(repo / "docs/fix_plan_archive.md")
    assert all(b in archive for b in blocks[:-3])
    item = parse_ledger(read_text(repo / "docs/fix_plan.md")).item("CLI-FLAGS-003")
    assert item is not None and len(item.attempts) == 3
    assert "<!-- loopkit:archived item=CLI-FLAGS-003 max=47 -->" in "".join(item.lines)
    assert parse_ledger(archive).item("CLI-FLAGS-003") is not None
    # numbering continues from the archived maximum
    ledger = parse_ledger(read_text(repo / "docs/fix_plan.md"))
    from loopkit.parsers.ledger import max_attempt
    assert max_attempt(ledger.item("CLI-FLAGS-003")) == 47


def test_status_dashboard(lk: Invoke) -> None:
    out = lk("status").output
    assert "Focus: CLI-FLAGS-003 / Phase K3g3 — scaling parity refresh" in out
    assert "Open items: 8 of 15" in out
    assert "plans/active/cli-noise-pix0/plan.md: 57/70 done" in out


def test_check_rejects_hand_written_attempt_and_done_flip(repo: Path, lk: Invoke) -> None:
    ledger = repo / "docs/fix_plan.md"
    text = read_text(ledger).replace(
        "- Risks/Assumptions: Must keep pix0",
        "  * [2025-10-06] Attempt #49 (ralph) — Result: **SUCCESS** K3g3 exit criteria MET.\n"
        "- Risks/Assumptions: Must keep pix0")
    ledger.write_text(text)
    plan = repo / "plans/active/cli-noise-pix0/plan.md"
    plan.write_text(read_text(plan).replace(
        "| K3g3 | Re-run scaling & parity evidence | [ ] |",
        "| K3g3 | Re-run scaling & parity evidence | [D] |"))
    result = lk("check")
    assert result.exit_code == 1
    assert "CLI-FLAGS-003 Attempt #49 cites no loopkit run" in result.output
    assert "K3g3 set done: no evidence run cited" in result.output


def test_check_wants_ledger_and_memory_beside_a_plan_change(repo: Path, lk: Invoke) -> None:
    """R13: the plan change alone gives two warnings (no error: the turn may be under way);
    touching the ledger item that cites the plan and adding a memory note clears them."""
    set_task = lk("plan", "set", "cli-noise-pix0", "K3g1", "P")
    assert set_task.exit_code == 0, set_task.output
    alone = lk("check")
    assert alone.exit_code == 0
    assert ("plans/active/cli-noise-pix0/plan.md changed, but no ledger item that references "
            "it did (R13)") in alone.output
    assert "without a note in galph_memory.md (R13)" in alone.output
    ledger = repo / "docs/fix_plan.md"
    text = ledger.read_text()
    anchor = "- Plan Reference: `plans/active/cli-noise-pix0/plan.md`\n"
    ledger.write_text(text.replace(anchor, anchor + "- Note: K3g1 in progress\n", 1))
    lk("memory", "add", "--focus", "CLI-FLAGS-003", "-m", "K3g1 started")
    assert "R13" not in lk("check").output


def test_commit_stages_only_loopkit_documents(repo: Path, lk: Invoke) -> None:
    (repo / "scratch.py").write_text("print('not mine')\n")
    lk("memory", "add", "--focus", "CLI-FLAGS-003", "-m", "note")
    bad = lk("commit", "-m", "🤖 Generated with [Claude Code]")
    assert bad.exit_code == 4
    result = lk("commit", "-m", "galph: memory note", "--actor", "galph", "--focus",
                "CLI-FLAGS-003/K3g3", "--attempt", "48")
    assert result.exit_code == 0, result.output
    message = git(repo, "log", "-1", "--format=%B")
    assert "Loopkit-Actor: galph\nLoopkit-Focus: CLI-FLAGS-003/K3g3\nLoopkit-Attempt: 48" \
        in message
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == ["galph_memory.md"]
    assert "?? scratch.py" in git(repo, "status", "--porcelain")


def test_commit_stages_deletions_and_refuses_foreign_staged_changes(repo: Path,
                                                                     lk: Invoke) -> None:
    (repo / "plans/active/vectorization.md").unlink()  # a plan retired by hand
    (repo / "notes.txt").write_text("someone else's work\n")
    git(repo, "add", "notes.txt")
    refused = lk("commit", "-m", "supervisor: retire the vectorization plan")
    assert refused.exit_code == 4
    assert "staged changes outside loopkit's paths: notes.txt" in refused.output
    git(repo, "reset", "-q", "notes.txt")
    result = lk("commit", "-m", "supervisor: retire the vectorization plan")
    assert result.exit_code == 0, result.output
    assert git(repo, "show", "--name-status", "--format=", "HEAD").split() == [
        "D", "plans/active/vectorization.md"]
    assert git(repo, "status", "--porcelain").split() == ["??", "notes.txt"]


def test_python_dash_m_entry_point(repo: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "loopkit", "--root", str(repo), "plan", "show",
                          "cli-noise-pix0"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("plans/active/cli-noise-pix0/plan.md: 57/70 done")
    assert "K3g3" in out.stdout


def test_parse_error_is_one_clean_line(repo: Path, lk: Invoke) -> None:
    (repo / "bad.md").write_text("---\nfocus: [x\n---\n")
    result = lk("memo", "show", "bad.md")
    assert result.exit_code == 1
    assert result.output.startswith("error: bad.md:")
    assert "Traceback" not in result.output


PASSING_MEMO = """Summary: item evidence
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — item set test
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/2025-10-loopkit/phase_i/
Do Now: CLI-FLAGS-003 — echo ok
If Blocked: stop.

How-To Map:
- echo ok > "$RUN_DIR/ok.txt"
  Expect: rc=0; file ok.txt exists
"""


def _status_and_index(repo: Path) -> tuple[str, str]:
    ledger = parse_ledger((repo / "docs/fix_plan.md").read_text())
    item = ledger.item("CLI-FLAGS-003")
    row = next(r for r in ledger.index if r.item_id == "CLI-FLAGS-003")
    return item.fields["Status"], row.status


def _lint_messages(lk: Invoke) -> list[str]:
    return sorted(re.sub(r"\d+", "#", line) for line in lk("ledger", "lint").output.splitlines())


def test_item_set_status_next_action_and_evidenced_done(repo: Path, lk: Invoke) -> None:
    ledger_path = repo / "docs/fix_plan.md"
    before = parse_ledger(ledger_path.read_text()).item("CLI-FLAGS-003")
    lint_before = _lint_messages(lk)  # the real ledger has defects of its own
    set_status = lk("item", "set", "CLI-FLAGS-003", "--status", "blocked", "--note",
                    "waiting for the C binary", "--next-action", "Build the C binary.")
    assert set_status.exit_code == 0, set_status.output
    assert _status_and_index(repo) == ("blocked (waiting for the C binary)", "blocked")
    after = parse_ledger(ledger_path.read_text()).item("CLI-FLAGS-003")
    assert after.fields["Next Actions"] == "Build the C binary."
    assert [a.n for a in after.attempts] == [a.n for a in before.attempts]  # untouched
    assert _lint_messages(lk) == lint_before

    assert lk("item", "set", "CLI-FLAGS-003", "--status", "finished").exit_code == 1
    no_run = lk("item", "set", "CLI-FLAGS-003", "--status", "done")
    assert no_run.exit_code == 4 and "no --evidence run given" in no_run.output
    (repo / "memo.md").write_text(PASSING_MEMO)
    assert lk("run", "memo.md").exit_code == 0
    done = lk("item", "set", "CLI-FLAGS-003", "--status", "done", "--evidence",
              "20251006T172653Z", "--note", "memo command at parity")
    assert done.exit_code == 0, done.output
    assert _status_and_index(repo) == ("done (run 20251006T172653Z; memo command at parity)",
                                       "done")
    assert "CLI-FLAGS-003 set done" not in lk("check").output


def test_check_rejects_a_hand_written_done_item(repo: Path, lk: Invoke) -> None:
    ledger = repo / "docs/fix_plan.md"
    text = ledger.read_text()
    status = next(line for line in text.splitlines(keepends=True)
                  if line.startswith("- Status:") and "in_progress" in line)
    ledger.write_text(text.replace(status, "- Status: done\n", 1))
    result = lk("check")
    assert result.exit_code == 1
    assert "set done: no evidence run cited in its Status" in result.output
