"""Issue 11, ledger: every Attempt header style counts, items end at plain ``##`` sections,
and Attempts dated after their commit (or after now) are flagged."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lk_helpers import FINAL_LEDGER, Invoke, git

from loopkit.config import Config
from loopkit.fsio import read_text
from loopkit.lint import lint_ledger
from loopkit.parsers.ledger import max_attempt, parse_ledger
from loopkit.writers.ledger import render_ledger

SHARED_LEDGERS = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "ledger"

STYLES = """# Fix Plan

## [ITEM-001] Every header style
- Status: in_progress
- Attempts History:
  * [2025-09-29] Attempt #1 — Result: partial. First.
  * [2025-09-30 02:40 UTC] Attempt #2 — Status: SUCCESS (root cause fixed)
    * **Attempt #2 (context):** a nested bold line stays inside #2
  * [2026-01-17T051737Z] Attempt #3 — Result: ✅ **Phase B3 COMPLETE**.
  * **Attempt #4 (2025-10-01 debug loop)**: SUCCEEDED ✓
  * Attempt #5 — Result: failed. Undated.
  * **Attempt #2 (2025-10-02, ralph)**: duplicate of #2 in another style
- Observations/Hypotheses:
  - Attempt #7 (ROI parity) is cited here, so #7 is taken.

## Queued Items
  * [2025-10-01] Attempt #40 — Result: success. Not ITEM-001's: a plain section.
"""


def _ledger(text: str):
    ledger = parse_ledger(text)
    assert render_ledger(ledger) == text
    return ledger


def test_every_header_style_is_an_attempt() -> None:
    item = _ledger(STYLES).item("ITEM-001")
    assert item is not None
    got = [(a.n, a.stamp, a.result) for a in item.attempts]
    assert got == [(1, "2025-09-29", "partial"), (2, "2025-09-30 02:40 UTC", "success"),
                   (3, "2026-01-17T051737Z", "success"), (4, "2025-10-01", "success"),
                   (5, "", "failed"), (2, "2025-10-02", "other")]
    assert item.attempts[5].actor == "ralph"
    # the cited #7 is taken; #40 under "## Queued Items" belongs to no item
    assert max_attempt(item) == 7


def test_lint_sees_duplicates_across_styles() -> None:
    found = lint_ledger(_ledger(STYLES), Config(root=Path(".")))
    messages = [f.message for f in found]
    assert "ITEM-001: duplicate attempt numbers [2]" in messages
    # no index in this ledger: nothing is "missing from the index"
    assert not any("missing from the index" in m for m in messages)


@pytest.mark.parametrize("folder", [
    pytest.param(SHARED_LEDGERS, marks=pytest.mark.skipif(
        not SHARED_LEDGERS.is_dir(), reason="../shared/fixtures not present beside the checkout")),
    FINAL_LEDGER.parent,
])
def test_reference_ledger_numbers(folder: Path) -> None:
    """The real final ledger: DETERMINISM-001 has #5-#10 in timestamped headers, and
    VECTOR-TRICUBIC-002 cites its Attempt #20; the next numbers are #11 and #21."""
    ledger = _ledger(read_text(folder / "fix_plan_8b8c48d0_final.md"))
    assert max_attempt(ledger.item("DETERMINISM-001")) + 1 == 11
    assert max_attempt(ledger.item("VECTOR-TRICUBIC-002")) + 1 == 21
    # TEST-SUITE-TRIAGE-002's Next Actions cite Attempts up to #21 beyond its 9 headers
    assert max_attempt(ledger.item("TEST-SUITE-TRIAGE-002")) >= 21
    # the item before "## Completed / Archived Items" does not swallow that section
    last = ledger.item("TRICLINIC-PARITY-001")
    assert last is not None and last.attempts == []
    assert "## Completed / Archived Items\n" in last.trailer
    messages = [f.message for f in lint_ledger(ledger, Config(root=folder))]
    assert "DETERMINISM-001: duplicate attempt numbers [8]" in messages


def test_attempt_add_numbers_past_every_style(repo: Path, lk: Invoke) -> None:
    shutil.copy(FINAL_LEDGER, repo / "docs/fix_plan.md")
    git(repo, "commit", "-qam", "final ledger")
    assert lk("exec", "--", "true").exit_code == 0
    first = lk("attempt", "add", "DETERMINISM-001", "--run", "20251006T172653Z")
    assert "added Attempt #11" in first.output, first.output
    assert lk("exec", "--", "true").exit_code == 0
    second = lk("attempt", "add", "VECTOR-TRICUBIC-002", "--run", "20251006T172654Z")
    assert "added Attempt #21" in second.output, second.output
    # the new Attempt lands inside the item, before the next item's heading
    item = parse_ledger(read_text(repo / "docs/fix_plan.md")).item("VECTOR-TRICUBIC-002")
    assert item is not None and item.attempts[-1].n == 21


DATED = """# Fix Plan

## [ITEM-001] Dates
- Status: in_progress
- Attempts History:
  * [2025-10-05] Attempt #1 — Result: success. Written the day before its commit.
  * [2025-10-20] Attempt #2 — Result: success. Dated two weeks after its commit.
  * [2025-10-06T09:00:00Z] Attempt #3 — Result: success. An hour after its commit.
"""


def _commit_at(root: Path, when: str, message: str) -> None:
    env = {**os.environ, "GIT_COMMITTER_DATE": when, "GIT_AUTHOR_DATE": when}
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "commit",
                    "-qam", message], cwd=root, env=env, check=True)


def test_ledger_lint_flags_attempts_dated_after_their_commit(repo: Path, lk: Invoke) -> None:
    (repo / "docs/fix_plan.md").write_text(DATED)
    _commit_at(repo, "2025-10-06T08:00:00+00:00", "dated ledger")
    result = lk("ledger", "lint", now="2025-10-30T00:00:00Z")
    assert result.exit_code == 1
    late = re.findall(r"ITEM-001 Attempt #(\d+) is dated [^,]+, after the commit", result.output)
    assert late == ["2", "3"], result.output
    # a bare date one day after the UTC commit date could be local time east of UTC: not flagged
    (repo / "docs/fix_plan.md").write_text(DATED + "  * [2025-11-02] Attempt #4 — Result: "
                                           "success. Not committed, dated after now.\n")
    uncommitted = lk("ledger", "lint", now="2025-10-30T00:00:00Z")
    assert "ITEM-001 Attempt #4 is dated 2025-11-02, after now (2025-10-30T00:00:00Z)" \
        in uncommitted.output
    assert "Attempt #4" not in lk("ledger", "lint", now="2025-11-03T00:00:00Z").output
