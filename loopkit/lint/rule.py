"""What a lint rule is: a function from a document and its context to findings.

The rules are listed by name in :mod:`loopkit.lint.all_rules`; a new rule is a function with
the :class:`MemoRule` or :class:`LedgerRule` signature, added there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from loopkit.config import Config
from loopkit.ledger_dates import WrittenAt
from loopkit.model import Ledger, Memo


@dataclass
class Finding:
    level: str  # error | warning
    line: int
    message: str


@dataclass
class LintContext:
    """What a memo rule may look at besides the memo: the config (root, vocabulary, PATH),
    the ledger (None when there is none) and whether selectors are to be collected."""

    cfg: Config
    ledger: Ledger | None = None
    collect: bool = False

    @property
    def root(self) -> Path:
        return self.cfg.root


@dataclass
class LedgerContext:
    """A ledger rule's context: the config, and for the date rule the clock and the commit
    that last wrote each line (``git blame``)."""

    cfg: Config
    now: datetime | None = None
    written: dict[int, WrittenAt] = field(default_factory=dict)


class MemoRule(Protocol):
    def __call__(self, memo: Memo, ctx: LintContext) -> list[Finding]: ...


class LedgerRule(Protocol):
    def __call__(self, ledger: Ledger, ctx: LedgerContext) -> list[Finding]: ...
