"""Ledger parsing (lossless), attempt insertion, index rebuild, lint, and parse speed."""

from __future__ import annotations

import re
import time

from lk_helpers import FINAL_LEDGER, K3G3_LEDGER

from loopkit.config import Config
from loopkit.fsio import read_text
from loopkit.lint import lint_ledger
from loopkit.parsers.ledger import max_attempt, parse_ledger
from loopkit.writers.ledger import NewAttempt, insert_attempt, rebuild_index, render_ledger


def test_k3g3_ledger_is_lossless() -> None:
    text = read_text(K3G3_LEDGER)
    ledger = parse_ledger(text, "fix_plan.md")
    assert render_ledger(ledger) == text
    assert len(ledger.items) == 15
    assert len(ledger.index) == 9


def test_final_ledger_is_lossless() -> None:
    text = read_text(FINAL_LEDGER)
    ledger = parse_ledger(text)
    assert render_ledger(ledger) == text
    assert len(ledger.items) == 29


def test_cli_flags_item_fields_and_attempts() -> None:
    ledger = parse_ledger(read_text(K3G3_LEDGER))
    item = ledger.item("CLI-FLAGS-003")
    assert item is not None
    assert item.title == "Handle -nonoise and -pix0_vector_mm"
    assert item.status == "in_progress"
    assert item.fields["Priority"] == "High"
    assert item.fields["Plan Reference"] == "`plans/active/cli-noise-pix0/plan.md`"
    first = item.attempts[0]
    assert (first.n, first.date, first.actor, first.result) == (27, "2025-10-06", "ralph", "failed")
    # out-of-order numbering is kept as written: #28 then #26
    assert [a.n for a in item.attempts[:3]] == [27, 28, 26]
    assert max_attempt(item) == 47
    assert item.attempts[0].end - item.attempts[0].start == 20


def test_emoji_results_are_normalized() -> None:
    ledger = parse_ledger(read_text(FINAL_LEDGER))
    item = ledger.item("TEST-SUITE-TRIAGE-002")
    assert item is not None
    assert item.attempts[0].result_raw.startswith("✅ success")
    assert item.attempts[0].result == "success"


def test_insert_attempt_appends_after_last_attempt() -> None:
    text = read_text(K3G3_LEDGER)
    ledger = parse_ledger(text)
    att = NewAttempt(item_id="CLI-FLAGS-003", n=48, date="2025-10-06", result="failed",
                     summary="K3g3 rerun.", run_id="20251006T172653Z", actor="ralph",
                     metrics=["pytest failed=1"], artifacts=["reports/x/run.json"])
    updated = insert_attempt(ledger, att)
    new_text = render_ledger(updated)
    assert len(new_text.splitlines()) == len(text.splitlines()) + 5
    item = updated.item("CLI-FLAGS-003")
    assert item is not None
    assert item.attempts[-1].n == 48 and item.attempts[-1].run_ids == ["20251006T172653Z"]
    following = item.lines[item.attempts[-1].end]
    assert following.startswith("- Risks/Assumptions:")
    # every other item is untouched
    others = [i for i in updated.items if i.item_id != "CLI-FLAGS-003"]
    before = {i.item_id: i.lines for i in ledger.items}
    assert all(o.lines == before[o.item_id] for o in others)


def test_rebuild_index_lists_every_item() -> None:
    cfg = Config(root=K3G3_LEDGER.parent)
    original = parse_ledger(read_text(K3G3_LEDGER))
    before = [f.message for f in lint_ledger(original, cfg)]
    assert sum("missing from the index" in m for m in before) == 6
    ledger = rebuild_index(original)
    assert len(ledger.index) == 15
    row = next(r for r in ledger.index if r.item_id == "CLI-FLAGS-003")
    assert row.anchor == "cli-flags-003-handle--nonoise-and--pix0_vector_mm"
    assert row.status == "in_progress"
    after = [f.message for f in lint_ledger(ledger, cfg)]
    assert not [m for m in after if "index" in m or "anchor" in m]
    assert "CLI-FLAGS-003: duplicate attempt numbers [3, 11, 21, 29, 42]" in after


def test_lint_finds_the_documented_head_defects() -> None:
    ledger = parse_ledger(read_text(FINAL_LEDGER))
    messages = [f.message for f in lint_ledger(ledger, Config(root=FINAL_LEDGER.parent))]
    assert "duplicate item STAGEA-PARAM-001" in messages
    assert "index lists STAGEA-PARAM-001 twice" in messages
    assert any(m.startswith("CLI-DEFAULTS-001: index status 'done' but item says 'in_progress'")
               for m in messages)
    assert any(m.startswith("TEST-GOLDEN-001: index status 'in_planning'") for m in messages)
    assert any(re.match(r"CLI-DEFAULTS-001: anchor .* does not match", m) for m in messages)


def big_ledger(min_lines: int) -> str:
    """Real ledger text repeated (with renamed ids) until it passes ``min_lines`` lines."""
    base = read_text(K3G3_LEDGER)
    head, _, body = base.partition("\n## [")
    parts = [head]
    copy = 0
    while sum(p.count("\n") for p in parts) < min_lines:
        parts.append("\n## [" + body.replace("## [", f"## [C{copy}-"))
        copy += 1
    return "".join(parts)


def test_parse_6000_line_ledger_under_half_a_second() -> None:
    text = big_ledger(6000)
    assert text.count("\n") >= 6000
    parse_ledger(text)  # warm-up (regex compilation, page cache)
    best = min(_timed(text) for _ in range(3))
    assert best < 0.5, f"parse took {best:.3f}s"


def _timed(text: str) -> float:
    t0 = time.perf_counter()
    ledger = parse_ledger(text)
    elapsed = time.perf_counter() - t0
    assert len(ledger.items) >= 60
    return elapsed
