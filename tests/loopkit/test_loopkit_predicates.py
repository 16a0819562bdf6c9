"""Expect lines -> predicates, pytest summaries, and checking predicates against outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loopkit.expect.all_kinds import check
from loopkit.expect.context import StepContext
from loopkit.expect.parse import implicit_predicates, parse_expect
from loopkit.pytest_summary import parse_pytest_summary


def kinds(text: str) -> list[str]:
    return [f"{p.kind}: {p.describe()}" for p in parse_expect(text)]


def test_k3g3_pytest_expect() -> None:
    assert kinds("sum_ratio within 0.99–1.01 and no skips; capture stdout/err in the log for "
                 "traceability.") == [
        "range: sum_ratio in [0.99, 1.01]",
        "pytest: pytest skipped==0",
        "unchecked: unchecked: capture stdout/err in the log for traceability"]


def test_k3g3_nb_compare_expect() -> None:
    assert kinds("correlation ≥0.999, RMSE <1e-3, peak distance ≤1 px; stash metrics.json + "
                 "PNG diff.") == [
        "json: correlation >= 0.999", "json: RMSE < 0.001", "json: peak distance <= 1",
        "file_exists: file exists: metrics.json", "unchecked: unchecked: PNG diff"]


def test_k3g3_trace_and_diff_expects() -> None:
    assert kinds("TRACE_PY_BASE lines aligned with C output; note commit hash in summary.md.") == [
        "regex: output matches /TRACE_PY_BASE/", "unchecked: unchecked: aligned with C output",
        "unchecked: unchecked: note commit hash in summary.md"]
    diff = kinds("empty diff aside from header (Δh/Δk/Δl < 5e-4 tolerance) confirming "
                 "geometry parity.")
    assert diff[0] == "empty_diff: diff output is empty"
    assert diff[1].startswith("unchecked: ")


def test_k3g3_expect_totals() -> None:
    from lk_helpers import K3G3_MEMO

    from loopkit.fsio import read_text
    from loopkit.parsers.memo import parse_memo

    memo = parse_memo(read_text(K3G3_MEMO))
    preds = [p for s in memo.steps for p in parse_expect(s.expect or "")]
    assert (sum(p.kind != "unchecked" for p in preds), len(preds)) == (10, 25)


def test_prose_only_expect_is_unchecked() -> None:
    assert kinds("table rows reflect Py/C ratio ≈1.00 and polar factor parity.") == [
        "unchecked: unchecked: table rows reflect Py/C ratio ≈1.00 and polar factor parity"]


def test_explicit_syntax() -> None:
    assert kinds("rc=0; pytest passed>=1 skipped=0; json metrics.json correlation>=0.999; "
                 "range sum_ratio 0.99..1.01; file out/a.json exists; regex \"ab+c\"") == [
        "rc: rc == 0", "pytest: pytest passed>=1 skipped==0",
        "json: metrics.json:correlation >= 0.999", "range: sum_ratio in [0.99, 1.01]",
        "file_exists: file exists: out/a.json", "regex: output matches /ab+c/"]


@pytest.mark.parametrize(("line", "expected"), [
    ("===== 1 failed, 2 passed, 1 skipped, 3 warnings in 0.52s =====", (2, 1, 1, 0)),
    ("3 passed in 0.01s", (3, 0, 0, 0)),
    ("==== 1 error in 0.10s ====", (0, 0, 0, 1)),
    ("=== 1 skipped in 0.03s ===", (0, 0, 1, 0)),
    ("no tests ran in 0.01s", (0, 0, 0, 0)),
])
def test_pytest_summary_counts(line: str, expected: tuple[int, int, int, int]) -> None:
    counts = parse_pytest_summary(f"collected 1 item\n\n{line}\n")
    assert counts is not None
    assert (counts.passed, counts.failed, counts.skipped, counts.errors) == expected


def test_pytest_summary_absent() -> None:
    assert parse_pytest_summary("Traceback (most recent call last):\nboom\n") is None


def make_ctx(tmp_path: Path, cmd: str, stdout: str = "", rc: int = 0) -> StepContext:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    out, err = run_dir / "01.out", run_dir / "01.err"
    out.write_text(stdout)
    err.write_text("")
    return StepContext(tmp_path, run_dir, cmd, rc, out, err, parse_pytest_summary(stdout))


def verdicts(text: str, ctx: StepContext) -> list[tuple[str, str]]:
    return [(o.verdict, o.detail) for o in (check(p, ctx) for p in parse_expect(text))]


def test_metrics_json_from_outdir(tmp_path: Path) -> None:
    outdir = tmp_path / "reports/cmp"
    outdir.mkdir(parents=True)
    (outdir / "metrics.json").write_text(json.dumps({
        "correlation": 0.9995, "rmse": 2e-3, "mean_peak_distance": 0.5,
        "max_peak_distance": 1.5}))
    ctx = make_ctx(tmp_path, "nb-compare --outdir reports/cmp -- -N 10")
    got = verdicts("correlation ≥0.999, RMSE <1e-3, peak distance ≤1 px; stash metrics.json",
                   ctx)
    assert [v for v, _ in got] == ["pass", "fail", "fail", "pass"]
    assert got[0][1] == "0.9995 (from reports/cmp/metrics.json)"
    assert got[2][1].startswith("0.5, 1.5")  # both peak-distance keys must hold


def test_missing_metric_is_unchecked_not_pass(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "python analyze.py", stdout="done\n")
    got = verdicts("sum_ratio within 0.99–1.01", ctx)
    assert got == [("unchecked", "no value for 'sum_ratio' found")]


def test_metric_from_step_output_text(tmp_path: Path) -> None:
    ctx = make_ctx(tmp_path, "python t.py", stdout="Test FAILED: correlation=0.174, "
                                                   "sum_ratio=1.45\n")
    assert verdicts("sum_ratio within 0.99–1.01; correlation >= 0.999", ctx) == [
        ("fail", "1.45 (from 01.out text)"), ("fail", "0.174 (from 01.out text)")]


def test_empty_diff(tmp_path: Path) -> None:
    (tmp_path / "same.txt").write_text("")
    ctx = make_ctx(tmp_path, "diff -u a b > same.txt", rc=0)
    assert verdicts("empty diff", ctx) == [("pass", "0 changed line(s)")]
    (tmp_path / "same.txt").write_text("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n")
    assert verdicts("empty diff", ctx) == [("fail", "2 changed line(s)")]
    missing = make_ctx(tmp_path, "diff -u a b > no/such/dir.txt", rc=1)
    assert verdicts("empty diff", missing) == [("unchecked", "diff output file missing")]
    broken = make_ctx(tmp_path, "diff -u a b > same.txt", rc=2)
    assert verdicts("empty diff", broken) == [("unchecked", "diff did not run (rc=2)")]


def test_regex_and_file_exists(tmp_path: Path) -> None:
    (tmp_path / "trace.log").write_text("TRACE_PY_BASE h=1\n")
    ctx = make_ctx(tmp_path, "python harness.py --out trace.log")
    assert verdicts("TRACE_PY_BASE lines", ctx)[0][0] == "pass"
    assert verdicts("file trace.log exists", ctx)[0][0] == "pass"
    assert verdicts("file missing.json exists", ctx)[0][0] == "fail"


def test_implicit_pytest_predicates_fail_on_skip_for_parity(tmp_path: Path) -> None:
    cmd = "env NB_RUN_PARALLEL=1 pytest tests/t.py::test_x -v"
    ctx = make_ctx(tmp_path, cmd, stdout="=== 1 skipped in 0.01s ===\n")
    outs = [check(p, ctx) for p in implicit_predicates(cmd, [], parity=True)]
    assert [o.verdict for o in outs] == ["pass", "fail"]
    assert outs[1].detail == "passed=0 (want >=1); skipped=1 (want ==0)"
    non_parity = [check(p, ctx) for p in implicit_predicates(cmd, [], parity=False)]
    assert non_parity[1].detail == "passed=0 (want >=1)"


def test_pytest_step_without_summary_fails(tmp_path: Path) -> None:
    cmd = "pytest tests/t.py"
    ctx = make_ctx(tmp_path, cmd, stdout="ImportError while loading conftest\n", rc=4)
    outs = [check(p, ctx) for p in implicit_predicates(cmd, [], parity=False)]
    assert [o.verdict for o in outs] == ["fail", "fail"]


def test_quoted_regex_is_opaque() -> None:
    """Counts, commas and semicolons inside a quoted pattern belong to the pattern."""
    preds = parse_expect('regex "^0 error\\(s\\), 0 warning\\(s\\); done$"; 2 passed')
    assert [(p.kind, p.args) for p in preds] == [
        ("regex", {"pattern": "^0 error\\(s\\), 0 warning\\(s\\); done$"}),
        ("pytest", {"checks": [("passed", "==", 2)]}),
    ]
