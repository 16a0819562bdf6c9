"""Issue 11, memos: what is a shell step is decided by its form or by loopkit.toml, memo lint
reports every step it will not run and prose inside shell steps, and its smaller checks
(selectors with ``[cpu|cuda]``, the Phase line, tests to be authored, misspelt metrics)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lk_helpers import Invoke

from loopkit.fsio import read_text
from loopkit.lint import memo_selectors
from loopkit.parsers.memo import memo_focus, parse_memo

HEAD = """Summary: step forms
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — step forms
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/2025-10-loopkit/phase_s/
Do Now: CLI-FLAGS-003 — echo hi
If Blocked: stop.

How-To Map:
"""
FORMS = HEAD + """- mytool --build out
- `mytool --build code-span`
- $ mytool --build prompt
- Build with the fenced block:
  ```bash
  mytool --build fenced
  ```
- Build with the indented block:
      mytool --build indented
- Tell the supervisor.
"""


@pytest.fixture
def mytool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A program of the user's, outside loopkit's word list, first on PATH."""
    bindir = tmp_path / "userbin"
    bindir.mkdir()
    tool = bindir / "mytool"
    tool.write_text('#!/bin/sh\necho "mytool $*"\n')
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
    return tool


def test_the_steps_form_makes_it_a_shell_step() -> None:
    from loopkit.shellwords import StepPolicy

    steps = parse_memo(FORMS).steps
    assert [s.cmd for s in steps] == [None, "mytool --build code-span", "mytool --build prompt",
                                      "mytool --build fenced", "mytool --build indented", None]
    configured = parse_memo(FORMS, policy=StepPolicy(frozenset({"mytool"}))).steps
    assert configured[0].cmd == "mytool --build out"
    marked = parse_memo(HEAD + "- pytest -q\n- `pytest -q`\n",
                        policy=StepPolicy(marked_only=True)).steps
    assert [s.cmd for s in marked] == [None, "pytest -q"]


def test_memo_lint_reports_every_step_it_will_not_run(repo: Path, lk: Invoke,
                                                      mytool: Path) -> None:
    (repo / "m.md").write_text(FORMS)
    out = lk("memo", "lint", "m.md", "--no-collect").output
    assert ("step 1 is manual and will not run: mytool --build out; 'mytool' is a program on "
            "PATH: write the step as `mytool --build out` (a code span) or add 'mytool' to "
            "[steps] commands in loopkit.toml to run it") in out
    assert "step 6 is manual and will not run: Tell the supervisor." in out
    assert "step 2 is manual" not in out and "step 5 is manual" not in out
    # configured: the same bullet runs
    (repo / "loopkit.toml").write_text('[steps]\ncommands = ["mytool"]\n')
    assert "step 1 is manual" not in lk("memo", "lint", "m.md", "--no-collect").output
    ran = lk("run", "m.md", "--steps", "1-5")
    assert ran.exit_code == 0, ran.output
    run = json.loads(next((repo / "reports").rglob("run.json")).read_text())
    assert [s["cmd"].split()[-1] for s in run["steps"]] == [
        "out", "code-span", "prompt", "fenced", "indented"]
    assert run["steps"][0]["resolved"]["path"].endswith("userbin/mytool")


def test_prose_inside_a_shell_step_is_an_error(repo: Path, lk: Invoke) -> None:
    """The real K3g3 step 3 ran ``...; repeat with NB_PYTORCH_DTYPE=float64 ...``: rc 127."""
    out = lk("memo", "lint", "--no-collect").output
    assert ("input.md:24: error: step 3: 'repeat' is not a command on the steps' PATH (prose "
            "inside a shell step?") in out
    (repo / "m.md").write_text(HEAD + "- mv a.log b.log (same for .json) so the bundle is "
                               "self-contained\n- for f in a b; do echo \"$f\"; done; "
                               "OUT=$(realpath --relative-to=. \"$RUN_DIR\")\n")
    lint = lk("memo", "lint", "m.md", "--no-collect").output
    assert "step 1: bash cannot parse it: " in lint
    # keywords, builtins, loop variables and command substitutions are shell
    assert "step 2:" not in lint


def test_selector_with_a_parametrize_id_is_not_cut() -> None:
    memo = parse_memo(HEAD.replace("Mapped tests: none — evidence-only",
                                   "Mapped tests: tests/test_x.py::test_a[cpu|cuda], "
                                   "tests/test_y.py::TestY::test_b[1-2]"))
    assert memo_selectors(memo) == ["tests/test_x.py::test_a[cpu|cuda]",
                                    "tests/test_y.py::TestY::test_b[1-2]"]


def test_phase_warning_has_its_line_and_to_be_authored_is_a_warning(repo: Path,
                                                                     lk: Invoke) -> None:
    text = HEAD.replace("Mode: Docs\n", "Mode: Docs\nPhase: K3g3\n").replace(
        "Mapped tests: none — evidence-only",
        "Mapped tests: tests/test_new.py::test_future (to be authored)") + "- echo ok\n"
    (repo / "m.md").write_text(text)
    result = lk("memo", "lint", "m.md")
    assert "m.md:3: warning: memo carries a Phase label" in result.output
    assert ("m.md:6: warning: tests/test_new.py::test_future: to be authored (not collected)"
            in result.output)
    assert "collects no tests" not in result.output


def test_a_misspelt_expect_metric_is_a_warning(repo: Path, lk: Invoke) -> None:
    (repo / "m.md").write_text(HEAD + "- echo ok\n  Expect: corelation ≥0.999, sum_ratio within "
                               "0.99–1.01\n")
    out = lk("memo", "lint", "m.md", "--no-collect").output
    assert ("step 1: Expect metric 'corelation' is not in [vocab] metrics (did you mean "
            "'correlation'?)") in out
    assert "'sum_ratio' is not" not in out


@pytest.mark.parametrize("command", ["echo hello", "echo 'no tests ran in 0.01s'"])
def test_no_skips_fails_on_a_step_that_ran_no_tests(repo: Path, lk: Invoke,
                                                    command: str) -> None:
    (repo / "m.md").write_text(HEAD + f"- {command}\n  Expect: no skips\n")
    result = lk("run", "m.md")
    assert result.exit_code == 1, result.output
    run = json.loads(next((repo / "reports").rglob("run.json")).read_text())
    check = next(o for o in run["steps"][0]["expect"] if o["kind"] == "pytest")
    assert check["verdict"] == "fail"
    assert "ran no tests" in check["detail"] or "no tests ran" in check["detail"]


def test_a_focus_without_phase_resolves_its_task(repo: Path, lk: Invoke) -> None:
    text = HEAD.replace("Focus: CLI-FLAGS-003 / Phase K3g3 — step forms",
                        "Focus: CLI-FLAGS-003 / K3g3 — scaling parity refresh") + "- echo ok\n"
    (repo / "m.md").write_text(text)
    focus = memo_focus(parse_memo(text))
    assert focus is not None and (focus.item_id, focus.plan_task) == ("CLI-FLAGS-003", "K3g3")
    out = lk("memo", "lint", "m.md", "--no-collect").output
    assert "focus" not in out.lower().replace("focus: ", "")
    lk("run", "m.md")
    run = json.loads(next((repo / "reports").rglob("run.json")).read_text())
    assert run["focus"]["plan_task"] == "K3g3"


def test_an_unknown_plan_state_is_reported(repo: Path, lk: Invoke) -> None:
    plan = repo / "plans/active/cli-noise-pix0/plan.md"
    plan.write_text(read_text(plan).replace(
        "| K3g3 | Re-run scaling & parity evidence | [ ] |",
        "| K3g3 | Re-run scaling & parity evidence | [Q] |"))
    shown = lk("plan", "show", "cli-noise-pix0").output
    assert "K3g3 has an unknown state '[Q]'" in shown
    check = lk("check")
    assert check.exit_code == 1
    assert "plans/active/cli-noise-pix0/plan.md K3g3: unknown state '[Q]'" in check.output
