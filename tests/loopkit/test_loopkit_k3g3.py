"""The K3g3 failure replayed: the real memo's parity step against a failing/skipping test.

Reference history: ralph logged "Attempt #49 — Result: SUCCESS" for a run whose logs said
FAILED, and galph marked K3g3 [D]. With loopkit the same memo gives a failed run, a failed
Attempt (#48, allocated from the ledger), and a refused ``plan set ... D``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lk_helpers import Invoke

from loopkit.fsio import read_text
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.plan import parse_plan

STAMP = "20251006T172653Z"
RUN_ROOT = "reports/2025-10-cli-flags/phase_k/f_latt_fix"
FAILING = '''
def test_f_latt_square_matches_c():
    print("correlation=0.174, sum_ratio=1.45")
    assert 1.45 <= 1.01
'''
PASSING = '''
def test_f_latt_square_matches_c():
    print("correlation=0.99999, sum_ratio=1.0")
'''
SKIPPING = '''
import os, pytest

def test_f_latt_square_matches_c():
    if not os.path.exists(os.environ.get("NB_C_BIN", "")):
        pytest.skip("C binary not found")
'''


def write_test(repo: Path, body: str) -> None:
    (repo / "tests").mkdir(exist_ok=True)
    (repo / "tests/test_cli_scaling.py").write_text(body)


def run_json(repo: Path, stamp: str = STAMP) -> dict:
    return json.loads((repo / RUN_ROOT / stamp / "run.json").read_text())


@pytest.mark.parametrize(("body", "pytest_counts"), [
    (FAILING, {"passed": 0, "failed": 1, "skipped": 0}),
    (SKIPPING, {"passed": 0, "failed": 0, "skipped": 1}),
])
def test_k3g3_replay(repo: Path, lk: Invoke, body: str, pytest_counts: dict) -> None:
    write_test(repo, body)
    result = lk("run", "input.md", "--steps", "1")
    assert result.exit_code == 1, result.output
    run = run_json(repo)
    assert run["verdict"] == "fail"
    step = run["steps"][0]
    assert {k: step["pytest"][k] for k in pytest_counts} == pytest_counts
    verdicts = {o["pred"]: o["verdict"] for o in step["expect"]}
    assert verdicts["pytest failed==0 errors==0 passed>=1 skipped==0"] == "fail"
    assert verdicts["pytest skipped==0"] == ("fail" if pytest_counts["skipped"] else "pass")
    assert verdicts["unchecked: capture stdout/err in the log for traceability"] == "unchecked"
    assert (repo / RUN_ROOT / "pytest_post_fix.log").is_file()  # the memo's own tee target

    refused = lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP, "--result", "success")
    assert refused.exit_code == 4
    assert "refused: 'success' claimed but run verdict is 'fail'" in refused.output
    added = lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP, "--actor", "ralph",
               "--task", "K3g3")
    assert added.exit_code == 0
    assert "added Attempt #48 — Result: failed" in added.output
    item = parse_ledger(read_text(repo / "docs/fix_plan.md")).item("CLI-FLAGS-003")
    assert item is not None
    last = item.attempts[-1]
    assert (last.n, last.date, last.result, last.run_ids) == (48, "2025-10-06", "failed", [STAMP])
    block = "".join(item.lines[last.start:last.end])
    assert f"`{RUN_ROOT}/{STAMP}/run.json`" in block
    assert all((repo / p.strip(" -`\n")).exists() for p in block.splitlines()
               if p.strip().startswith("- `"))

    plan_before = read_text(repo / "plans/active/cli-noise-pix0/plan.md")
    done = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", STAMP)
    assert done.exit_code == 4
    assert f"run {STAMP} verdict is 'fail', not 'pass'" in done.output
    assert read_text(repo / "plans/active/cli-noise-pix0/plan.md") == plan_before
    no_evidence = lk("plan", "set", "cli-noise-pix0", "K3g3", "D")
    assert no_evidence.exit_code == 4


def test_k3g3_failed_step_values_come_from_the_run(repo: Path, lk: Invoke) -> None:
    write_test(repo, FAILING)
    lk("run", "input.md", "--steps", "1")
    step = run_json(repo)["steps"][0]
    sum_ratio = next(o for o in step["expect"] if o["kind"] == "range")
    assert (sum_ratio["verdict"], sum_ratio["detail"]) == ("fail", "1.45 (from 01.out text)")


def test_attempt_add_is_idempotent_and_forced_done_is_recorded(repo: Path, lk: Invoke) -> None:
    write_test(repo, FAILING)
    lk("run", "input.md", "--steps", "1")
    assert "Attempt #48" in lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP).output
    again = lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP)
    assert "already recorded as Attempt #48" in again.output
    assert read_text(repo / "docs/fix_plan.md").count(f"run={STAMP}") == 1
    assert lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--force").exit_code == 1
    plan_before = read_text(repo / "plans/active/cli-noise-pix0/plan.md")
    refused = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", STAMP, "--force",
                 "--reason", "supervisor says so")  # the cited run failed: never done
    assert refused.exit_code == 4
    assert "refused: --force cannot mark done against its own evidence" in refused.output
    assert read_text(repo / "plans/active/cli-noise-pix0/plan.md") == plan_before
    no_run = lk("plan", "set", "cli-noise-pix0", "K3g1", "D", "--force", "--reason",
                "memo lint is clean; the criterion has no run")
    assert no_run.exit_code == 0, no_run.output
    k3g1 = parse_plan(read_text(repo / "plans/active/cli-noise-pix0/plan.md")).task("K3g1")
    assert k3g1 is not None and k3g1.guidance.startswith(
        "⚠️ FORCED 2025-10-06: memo lint is clean; the criterion has no run "
        "[no --evidence run given].")

    write_test(repo, PASSING)
    partial = "20251006T172654Z"  # the next second of the test clock
    lk("run", "input.md", "--steps", "1")  # passes what it ran, but only a subset of the memo
    assert run_json(repo, partial)["verdict"] == "partial"
    forced = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", partial, "--force",
                "--reason", "supervisor accepted partial evidence")
    assert forced.exit_code == 0, forced.output
    task = parse_plan(read_text(repo / "plans/active/cli-noise-pix0/plan.md")).task("K3g3")
    assert task is not None and task.state == "D"
    assert task.guidance.startswith(
        f"⚠️ FORCED 2025-10-06 run {partial}: supervisor accepted partial evidence [run "
        f"{partial} verdict is 'partial', not 'pass'")
    check = lk("check")
    assert check.exit_code == 0
    assert "forced done" in check.output


PASSING_MEMO = """Summary: K3g3 with checkable expectations
Mode: Parity
Focus: CLI-FLAGS-003 / Phase K3g3 — scaling parity refresh
Branch: feature/spec-based-2
Mapped tests: tests/test_cli_scaling.py::test_f_latt_square_matches_c
Artifacts: reports/2025-10-cli-flags/phase_k/f_latt_fix/
Do Now: CLI-FLAGS-003 Phase K3g3 — pytest tests/test_cli_scaling.py -q
If Blocked: stop.

How-To Map:
- env NB_RUN_PARALLEL=1 pytest tests/test_cli_scaling.py::test_f_latt_square_matches_c | tee x.log
  Expect: no skips
- printf '{"correlation": 0.9991, "sum_ratio": 1.002}' > "$RUN_DIR/metrics.json"
  Expect: correlation ≥0.999; sum_ratio within 0.99–1.01; metrics.json exists
"""


def test_passing_run_allows_success_and_done(repo: Path, lk: Invoke) -> None:
    write_test(repo, "def test_f_latt_square_matches_c():\n    assert True\n")
    (repo / "passing.md").write_text(PASSING_MEMO)
    result = lk("run", "passing.md")
    assert result.exit_code == 0, result.output
    assert run_json(repo)["verdict"] == "pass"
    added = lk("attempt", "add", "CLI-FLAGS-003", "--run", STAMP, "--result", "success")
    assert "added Attempt #48 — Result: success" in added.output
    done = lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", STAMP, "--attempt",
              "48")
    assert done.exit_code == 0, done.output
    task = parse_plan(read_text(repo / "plans/active/cli-noise-pix0/plan.md")).task("K3g3")
    assert task is not None and task.state == "D"
    assert task.guidance.startswith(f"✅ 2025-10-06 Attempt #48 (run {STAMP}). Execute")
    assert lk("check").exit_code == 0
