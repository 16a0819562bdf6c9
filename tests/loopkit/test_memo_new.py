"""``loopkit memo new`` on a copy of this repository: focus, next task, branch, Attempt
number, the last run's failing checks; the draft lints clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lk_helpers import git
from loop_helpers import lk, scratch_copy

from loopkit.parsers.memo import parse_memo


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return scratch_copy(tmp_path_factory.mktemp("memo_new") / "copy")


def _attempts(root: Path) -> int:
    return max(int(n) for n in re.findall(r"Attempt #(\d+)", (root / "docs/fix_plan.md")
                                          .read_text()))


def test_draft_focuses_the_next_open_task_and_lints_clean(copy: Path, tmp_path: Path) -> None:
    result = lk(copy, "memo", "new")
    assert result.exit_code == 0, result.output
    memo = parse_memo(result.output)
    branch = git(copy, "branch", "--show-current").strip()
    assert memo.field("Focus") == "CLI-FLAGS-003 / Phase L1 — nb-compare of the supervisor command"
    assert memo.field("Branch") == branch
    assert f"Next Attempt: #{_attempts(copy) + 1} of CLI-FLAGS-003." in result.output
    assert "- L2: CLI regression tests for `-nonoise` and `-pix0_vector_mm`" in result.output
    draft = tmp_path / "draft.md"
    draft.write_text(result.output)
    lint = lk(copy, "memo", "lint", str(draft), "--no-collect")
    assert lint.exit_code == 0 and "0 error(s)" in lint.output


def test_same_focus_keeps_the_how_to_map_and_its_expect_lines(copy: Path) -> None:
    current = parse_memo((copy / "input.md").read_text())
    result = lk(copy, "memo", "new", "--task", "K3g3")
    memo = parse_memo(result.output)
    assert [s.text for s in memo.steps] == [s.text for s in current.steps]
    assert [s.expect for s in memo.steps] == [s.expect for s in current.steps]
    assert memo.field("Mapped tests") == current.field("Mapped tests")


def test_draft_names_the_failing_checks_of_the_last_run(copy: Path) -> None:
    run = lk(copy, "exec", "--focus", "CLI-FLAGS-003", "--expect", "rc=0", "--", "false")
    stamp = re.search(r"loopkit run (\S+)", run.output).group(1)
    assert lk(copy, "attempt", "add", "CLI-FLAGS-003", "--run", stamp).exit_code == 0
    result = lk(copy, "memo", "new")
    assert f"Failing checks of the last run: run {stamp} step 1:" in result.output
    git(copy, "checkout", "-q", "--", ".")
    git(copy, "clean", "-qfd")


def test_unknown_item_is_one_line(copy: Path) -> None:
    result = lk(copy, "memo", "new", "--item", "NOPE-1")
    assert result.exit_code == 1
    assert result.output.strip() == "error: item 'NOPE-1' is not in docs/fix_plan.md"
