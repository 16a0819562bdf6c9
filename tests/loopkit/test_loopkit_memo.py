"""Memo parsing on the four real memos, canonical rendering and Do Now extraction."""

from __future__ import annotations

from pathlib import Path

import pytest
from lk_helpers import K3G3_MEMO, MEMOS

from loopkit.config import Config
from loopkit.fsio import read_text
from loopkit.lint import LintContext, check_shape, check_test_citations
from loopkit.model import Memo
from loopkit.parsers.memo import memo_focus, parse_do_now, parse_memo
from loopkit.writers.memo import render_memo


def load(name: str) -> Memo:
    path = next(p for p in MEMOS if p.name.startswith(name))
    return parse_memo(read_text(path), path.name)


def test_all_fixture_memos_present() -> None:
    assert [p.name[:2] for p in MEMOS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", MEMOS, ids=lambda p: p.name[:2])
def test_canonical_render_is_stable(path) -> None:  # type: ignore[no-untyped-def]
    once = render_memo(parse_memo(read_text(path), path.name))
    twice = render_memo(parse_memo(once, path.name))
    assert twice == once


def test_k3g3_header_fields() -> None:
    memo = load("02")
    assert [f.key for f in memo.fields] == [
        "Summary", "Phase", "Mode", "Focus", "Branch", "Mapped tests", "Artifacts", "Do Now",
        "If Blocked"]
    assert memo.field("Mode") == "Parity"
    assert memo.field("Phase") == "Evidence"
    assert memo.field("Branch") == "feature/spec-based-2"
    assert memo.field("Mapped tests") == "tests/test_cli_scaling.py::test_f_latt_square_matches_c"
    focus = memo_focus(memo)
    assert focus is not None
    assert (focus.item_id, focus.plan_task) == ("CLI-FLAGS-003", "K3g3")


def test_k3g3_do_now_command() -> None:
    do_now = parse_do_now(load("02"))
    assert do_now is not None
    assert do_now.cmd == (
        "env KMP_DUPLICATE_LIB_OK=TRUE NB_RUN_PARALLEL=1 "
        "NB_C_BIN=./golden_suite_generator/nanoBragg pytest "
        "tests/test_cli_scaling.py::test_f_latt_square_matches_c -v")


def test_k3g3_steps_and_expects() -> None:
    memo = load("02")
    assert len(memo.steps) == 12
    assert all(s.expect for s in memo.steps)
    assert [s.is_shell for s in memo.steps] == [True] * 6 + [False] * 6
    assert memo.steps[0].expect == (
        "sum_ratio within 0.99–1.01 and no skips; capture stdout/err in the log for "
        "traceability.")
    assert memo.steps[1].cmd is not None and " nb-compare --resample " in memo.steps[1].cmd
    assert memo.steps[1].expect is not None and memo.steps[1].expect.startswith(
        "correlation ≥0.999, RMSE <1e-3")
    heredoc = memo.steps[5].cmd
    assert heredoc is not None and heredoc.startswith("python - <<'PY'")
    assert heredoc.splitlines()[-1] == "PY" and len(heredoc.splitlines()) == 5
    assert memo.steps[4].expect is not None and memo.steps[4].expect.startswith("empty diff")


def test_k3g3_sections_kept_verbatim() -> None:
    memo = load("02")
    titles = [s.title for s in memo.sections]
    assert titles == ["Priorities & Rationale", "How-To Map", "Pitfalls To Avoid", "Pointers",
                      "Next Up", "Context Recap"]
    pitfalls = memo.section("Pitfalls To Avoid")
    assert pitfalls is not None and len(pitfalls.body) == 10
    assert pitfalls.body[0] == (
        "- Do not skip NB_RUN_PARALLEL=1 or the parity test will be silently skipped.")
    assert memo.section("Next Up") is not None
    assert memo.section("Next Up").label == "Next Up (optional)"  # type: ignore[union-attr]
    recap = memo.section("Context Recap")
    assert recap is not None and len(recap.body) == 27


def test_k3g3_render_keeps_every_original_line() -> None:
    original = read_text(K3G3_MEMO).splitlines()
    rendered = set(render_memo(parse_memo("\n".join(original))).splitlines())
    missing = [line for line in original if line.strip() and line not in rendered]
    assert missing == []


def test_early_header_format() -> None:
    memo = load("01")
    assert memo.preamble[0].startswith("Header: 2025-10-04 01:16:02Z | Commit d8dbf96")
    assert len(memo.preamble) == 6
    assert len(memo.field_all("If Blocked")) == 6
    assert memo.field("Do Now", ) is not None
    assert len(memo.steps) == 10
    assert not any(s.is_shell for s in memo.steps)
    assert memo.steps[1].text.splitlines()[-1].strip().endswith(
        "> reports/2025-10-cli-flags/phase_a/c_with_nonoise.log 2>&1")
    assert parse_do_now(memo) is not None and parse_do_now(memo).cmd is None  # type: ignore


def test_canonical_compact_memo() -> None:
    memo = load("03")
    assert memo.field("Mode") == "Parity"
    assert memo.field("Mapped tests") == "pytest --collect-only -q tests/test_cli_scaling_phi0.py"
    assert [s.cmd.split()[0] for s in memo.steps if s.cmd] == [
        "export", "mkdir", "KMP_DUPLICATE_LIB_OK=TRUE", "mv", "printf", "pytest"]
    assert memo.section("Next Up") is not None
    assert memo.section("Next Up").inline.startswith("Draft rotation_fix_design.md")  # type: ignore
    do_now = parse_do_now(memo)
    assert do_now is not None and do_now.cmd is not None
    assert do_now.cmd.startswith("TS=$(date -u +%Y%m%dT%H%M%SZ) KMP_DUPLICATE_LIB_OK=TRUE")


def test_final_head_memo() -> None:
    memo = load("04")
    focus = memo_focus(memo)
    assert focus is not None
    assert focus.anchor == "test-suite-triage-002-full-pytest-rerun-and-triage"
    assert focus.item_id is None
    assert memo.field("Mapped tests") == "none — evidence-only"
    assert [s.cmd for s in memo.steps[:2]] == [
        "STAMP=$(date -u +%Y%m%dT%H%M%SZ)",
        "BASE=reports/2026-01-test-suite-refresh/phase_m/$STAMP"]
    parse_failures = memo.steps[4]
    assert parse_failures.cmd is None  # prose with an embedded (broken) heredoc: manual
    assert "PY2\" \"$INPUT\"" in parse_failures.text
    assert parse_do_now(memo).cmd is None  # type: ignore[union-attr]


def test_front_matter_round_trip() -> None:
    text = "---\nfocus: CLI-FLAGS-003\ntask: K3g3\nrun_root: reports/x/phase_k\n---\n" \
           "Summary: s\nFocus: other\nHow-To Map:\n- echo hi\n  Expect: rc=0\n"
    memo = parse_memo(text)
    assert memo.front_matter == {"focus": "CLI-FLAGS-003", "task": "K3g3",
                                 "run_root": "reports/x/phase_k"}
    focus = memo_focus(memo)
    assert focus is not None and (focus.item_id, focus.plan_task) == ("CLI-FLAGS-003", "K3g3")
    rendered = render_memo(memo)
    assert render_memo(parse_memo(rendered)) == rendered
    assert rendered.startswith("---\nfocus: CLI-FLAGS-003\n")


def test_indented_header_variant() -> None:
    memo = parse_memo("Summary: s\n - Phase: Evidence\n - Mode: Parity\nFocus: X-1\n")
    assert [f.key for f in memo.fields] == ["Summary", "Phase", "Mode", "Focus"]
    assert memo.field("Mode") == "Parity"


@pytest.mark.parametrize(("name", "expected"), [
    ("01", [(63, "Pitfalls To Avoid: 12 bullet(s), the policy asks for 5-10"),
            (93, "Next Up: 7 bullet(s), the policy asks for 1-2")]),
    ("02", []),
    ("03", []),
    ("04", [(34, "Pitfalls To Avoid: 11 bullet(s), the policy asks for 5-10")]),
])
def test_memo_lint_counts_policy_bullets(name: str, expected: list) -> None:
    """R12 on the real memos: the line of the section title and its bullet count."""
    ctx = LintContext(Config(root=Path(".")))
    found = [(f.line, f.message) for f in check_shape(load(name), ctx) if "bullet" in f.message]
    assert found == expected


R21_MEMO = """Summary: r21
Mode: Parity
Focus: CLI-FLAGS-003 / Phase K3g3 — r21
Branch: main
Mapped tests: tests/test_scaling.py::test_parity
Do Now: CLI-FLAGS-003 — pytest tests/test_scaling.py::test_parity
If Blocked: stop.

Priorities & Rationale:
{citation}

How-To Map:
- nb-compare --outdir out -- -cell 100 100 100 90 90 90 -N 10 -distance {distance} -pixel 0.1
  Expect: rc=0
"""
R21_SOURCE = '''ARGS = ("-cell 100 100 100 90 90 90 -N 10 -lambda 1.0 "
        "-distance 100 -detpixels 512").split()
'''


@pytest.mark.parametrize(("citation", "distance", "expected"), [
    ("- the parity test", "100", ["cites no test source lines (R21: e.g. tests/test_scaling.py"]),
    ("- tests/test_scaling.py:1-2 holds the arguments", "100", []),
    ("- tests/test_scaling.py:1-2 holds the arguments", "99",
     ["step 1: -distance 99, but tests/test_scaling.py:1-2 uses -distance 100 (R21)"]),
])
def test_memo_lint_compares_steps_with_the_cited_test_source(tmp_path, citation, distance,
                                                             expected) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests/test_scaling.py").write_text(R21_SOURCE)
    memo = parse_memo(R21_MEMO.format(citation=citation, distance=distance), "memo.md")
    found = [f.message for f in check_test_citations(memo, LintContext(Config(root=tmp_path)))]
    assert len(found) == len(expected)
    assert all(e in f for e, f in zip(expected, found, strict=True))
