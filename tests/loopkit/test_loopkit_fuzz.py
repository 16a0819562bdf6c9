"""Every parser is fuzzed: malformed input gives a ParseError with file and line, or a record."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lk_helpers import FINAL_LEDGER, K3G3_MEMO, MEMORY, MEMOS, PIX0_PLAN

from loopkit.errors import ParseError
from loopkit.fsio import read_text
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.memo import parse_memo
from loopkit.parsers.memory import parse_memory
from loopkit.parsers.plan import parse_plan
from loopkit.writers.ledger import render_ledger
from loopkit.writers.memo import render_memo
from loopkit.writers.memory import render_memory
from loopkit.writers.plan import render_plan

REAL_LINES = sorted({line for path in [*MEMOS, FINAL_LEDGER, PIX0_PLAN, MEMORY]
                     for line in read_text(path).splitlines()[:400]})
TOKENS = ["- ", "  Expect: ", "## [X-1] t", "| ID | Task | State |", "| A1 | t | [D] |", "[",
          "]", "|", "`", "---", "Summary:", "How-To Map:", "Focus:", "* [2025-10-06] Attempt #",
          "### 2025-10-06T00:00:00Z (", "<<'PY'", "\r", "\t", "\x00", "é", "—", ":", "#", "\\|"]
line_st = st.one_of(st.sampled_from(REAL_LINES), st.text(max_size=40),
                    st.lists(st.sampled_from(TOKENS), max_size=6).map("".join))
doc_st = st.lists(line_st, max_size=40).map("\n".join)
FUZZ = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def parse_or_error(fn, text: str):  # type: ignore[no-untyped-def]
    try:
        return fn(text, "fuzz.md")
    except ParseError as exc:
        assert re.match(r"^fuzz\.md:\d+: \S", str(exc)), str(exc)
        assert exc.line >= 1
        return None


@FUZZ
@given(doc_st)
def test_memo_parser_fuzz_and_stable_render(text: str) -> None:
    memo = parse_or_error(parse_memo, text)
    if memo is None:
        return
    once = render_memo(memo)
    assert render_memo(parse_memo(once, "fuzz.md")) == once


@FUZZ
@given(doc_st)
def test_ledger_parser_fuzz_lossless(text: str) -> None:
    ledger = parse_or_error(parse_ledger, text)
    if ledger is not None:
        assert render_ledger(ledger) == text


@FUZZ
@given(doc_st)
def test_plan_parser_fuzz_lossless(text: str) -> None:
    plan = parse_or_error(parse_plan, text)
    if plan is not None:
        assert render_plan(plan) == text


@FUZZ
@given(doc_st)
def test_memory_parser_fuzz_lossless(text: str) -> None:
    memory = parse_or_error(parse_memory, text)
    if memory is not None:
        assert render_memory(memory) == text


@FUZZ
@given(st.data())
def test_mutated_k3g3_memo(data: st.DataObject) -> None:
    lines = read_text(K3G3_MEMO).splitlines()
    for _ in range(data.draw(st.integers(1, 5))):
        at = data.draw(st.integers(0, len(lines)))
        if data.draw(st.booleans()) and at < len(lines):
            del lines[at]
        else:
            lines.insert(at, data.draw(line_st))
    memo = parse_or_error(parse_memo, "\n".join(lines))
    if memo is not None:
        once = render_memo(memo)
        assert render_memo(parse_memo(once)) == once


@pytest.mark.parametrize("fn", [parse_memo, parse_ledger, parse_plan, parse_memory])
def test_binary_input_is_a_clear_error(fn) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ParseError, match=r"^doc\.md:3: binary content"):
        fn("a\nb\nc\x00d\n", "doc.md")


def test_bad_front_matter_reports_its_line() -> None:
    with pytest.raises(ParseError, match=r"^input\.md:3: invalid YAML front matter"):
        parse_memo("---\nfocus: A\nbad: [unclosed\n---\nSummary: x\n", "input.md")
    with pytest.raises(ParseError, match=r"^input\.md:1: front matter opened"):
        parse_memo("---\nfocus: A\n", "input.md")
    with pytest.raises(ParseError, match=r"^input\.md:2: front matter must be a YAML mapping"):
        parse_memo("---\n- a\n---\n", "input.md")
