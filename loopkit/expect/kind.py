"""What a predicate kind provides: how it reads and how it is checked (the registry's protocol).

A kind is a module of :mod:`loopkit.expect.kinds` with these two functions, listed by name in
:mod:`loopkit.expect.all_kinds`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from loopkit.expect.context import StepContext
    from loopkit.expect.predicate import Predicate
    from loopkit.run.record import Outcome


class PredicateKind(Protocol):
    def describe(self, pred: Predicate) -> str:
        """The predicate in words, as run.json, summary.md and ``--dry-run`` show it."""
        ...

    def check(self, pred: Predicate, ctx: StepContext) -> Outcome:
        """pass, fail or unchecked, with the detail that says why."""
        ...
