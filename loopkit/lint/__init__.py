"""``memo lint`` and ``ledger lint``: rules over the loop's documents, each finding a level, a
line and a message. The rules are listed in :mod:`loopkit.lint.all_rules`."""

from loopkit.lint.all_rules import lint_ledger, lint_memo
from loopkit.lint.memo_rules import SELECTOR_RE, check_shape, check_test_citations, memo_selectors
from loopkit.lint.rule import Finding, LintContext

__all__ = ["SELECTOR_RE", "Finding", "LintContext", "check_shape", "check_test_citations",
           "lint_ledger", "lint_memo", "memo_selectors"]
