"""Issue 11: ``loopkit init`` starts a new project; Expect values are numbers in run.json and
``loopkit history`` shows them across Attempts (a table and a PNG)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from lk_helpers import Invoke, git

from loopkit.cli import cli
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.plan import parse_plan

STAMPS = ("20251006T172653Z", "20251006T172654Z", "20251006T172655Z")


def _lk(root: Path, *args: str) -> object:
    return CliRunner().invoke(cli, ["--root", str(root), "--now", "2026-01-02T03:04:05Z", *args],
                              catch_exceptions=False)


def test_init_creates_the_four_documents_and_a_config(tmp_path: Path) -> None:
    root = tmp_path / "toy"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    made = _lk(root, "init", "--item", "TOY-001", "--title", "Toy parity", "--slug", "toy")
    assert made.exit_code == 0, made.output
    for rel in ("loopkit.toml", "input.md", "docs/fix_plan.md", "plans/active/toy/plan.md",
                "galph_memory.md"):
        assert f"created {rel}" in made.output
    ledger = parse_ledger((root / "docs/fix_plan.md").read_text())
    assert [i.item_id for i in ledger.items] == ["TOY-001"]
    assert parse_plan((root / "plans/active/toy/plan.md").read_text()).task("A1") is not None
    assert _lk(root, "memo", "lint").output.endswith("0 error(s), 0 warning(s)\n")
    assert "0 error(s), 0 warning(s)" in _lk(root, "ledger", "lint").output
    ran = _lk(root, "run")
    assert ran.exit_code == 0, ran.output
    stamp = next((root / "reports/toy").iterdir()).name
    assert "Attempt #1 — Result: success" in _lk(root, "attempt", "add", "TOY-001", "--run",
                                                  stamp).output
    assert _lk(root, "plan", "set", "toy", "A1", "D", "--evidence", stamp).exit_code == 0
    assert ".loopkit" not in git(root, "status", "--porcelain", "--untracked-files=all")
    (root / "input.md").write_text("mine\n")
    again = _lk(root, "init", "--item", "TOY-001")
    assert "kept    input.md" in again.output
    assert (root / "input.md").read_text() == "mine\n"


MEMO = """Summary: metric history
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — history
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/2025-10-loopkit/phase_h/
Do Now: CLI-FLAGS-003 — echo hi
If Blocked: stop.

How-To Map:
- cd "$RUN_DIR"; echo '{{"correlation": {corr}, "rmse": {rmse}}}' > metrics.json
  Expect: correlation ≥0.999, RMSE <1e-3
"""


def test_observed_values_are_numbers_and_history_shows_them(repo: Path, lk: Invoke) -> None:
    for corr, rmse, stamp in zip(("0.5", "0.9991", "0.99995"), ("0.02", "0.0009", "0.0001"),
                                 STAMPS, strict=True):
        (repo / "m.md").write_text(MEMO.format(corr=corr, rmse=rmse))
        lk("run", "m.md")
        run = json.loads(next((repo / "reports").rglob(f"{stamp}/run.json")).read_text())
        checks = {o["metric"]: o["observed"] for o in run["steps"][0]["expect"]
                  if o["kind"] == "json"}
        assert checks == {"correlation": [float(corr)], "RMSE": [float(rmse)]}
        lk("attempt", "add", "CLI-FLAGS-003", "--run", stamp)
    table = lk("history", "CLI-FLAGS-003")
    assert table.exit_code == 0, table.output
    rows = [line for line in table.output.splitlines() if "│ #" in line]
    assert [r.split("│")[1].strip() for r in rows] == ["#48", "#49", "#50"]
    assert "0.5" in rows[0] and "0.9991" in rows[1] and "0.99995" in rows[2]
    assert "fail" in rows[0] and "pass" in rows[2]
    only = lk("history", "CLI-FLAGS-003", "--metric", "rmse", "--plot", "reports/h.png")
    assert only.exit_code == 0, only.output
    assert "correlation" not in only.output and "RMSE" in only.output
    png = (repo / "reports/h.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
    missing = lk("history", "CLI-FLAGS-003", "--metric", "corelation")
    assert missing.exit_code == 1
    assert "no run observed a metric named 'corelation'" in missing.output
