"""The lint rules, by name and in the order they report: the one place a rule is added.

pre-commit's ``all_languages.py`` is the model: a literal registry of things that share one
protocol (:class:`~loopkit.lint.rule.MemoRule`, :class:`~loopkit.lint.rule.LedgerRule`).
"""

from __future__ import annotations

from datetime import datetime

from loopkit.config import Config
from loopkit.ledger_dates import WrittenAt
from loopkit.lint import ledger_rules, memo_rules, step_rules
from loopkit.lint.rule import Finding, LedgerContext, LedgerRule, LintContext, MemoRule
from loopkit.model import Ledger, Memo

MEMO_RULES: dict[str, MemoRule] = {
    "shape": memo_rules.check_shape,
    "file-refs": memo_rules.check_filerefs,
    "variables": memo_rules.check_variables,
    "test-citations": memo_rules.check_test_citations,
    "focus": memo_rules.check_focus,
    "branch": memo_rules.check_branch,
    "manual-steps": step_rules.check_manual_steps,
    "shell-prose": step_rules.check_shell_prose,
    "expect-metrics": step_rules.check_expect_metrics,
    "selectors": memo_rules.check_selectors,  # only with --collect
}

LEDGER_RULES: dict[str, LedgerRule] = {
    "items": ledger_rules.check_items,
    "index": ledger_rules.check_index,
    "index-coverage": ledger_rules.check_index_coverage,
    "late-attempts": ledger_rules.check_late_attempts,
}


def lint_memo(memo: Memo, cfg: Config, ledger: Ledger | None, collect: bool) -> list[Finding]:
    ctx = LintContext(cfg, ledger, collect)
    found = [f for rule in MEMO_RULES.values() for f in rule(memo, ctx)]
    return sorted(found, key=lambda f: (f.line, f.level))


def lint_ledger(ledger: Ledger, cfg: Config, now: datetime | None = None,
                written: dict[int, WrittenAt] | None = None) -> list[Finding]:
    """Items, index and Attempt numbering; with ``now``, also Attempts dated after the commit
    that wrote them (``written``, from git blame) or after now."""
    ctx = LedgerContext(cfg, now, written or {})
    found = [f for rule in LEDGER_RULES.values() for f in rule(ledger, ctx)]
    return sorted(found, key=lambda f: f.line)
