"""Prose an Expect line holds that no kind reads: recorded, never a pass."""

from __future__ import annotations

from loopkit.expect.context import StepContext
from loopkit.expect.predicate import Predicate
from loopkit.run.record import Outcome


def describe(pred: Predicate) -> str:
    return f"unchecked: {pred.text}"


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    return Outcome("unchecked", pred.describe(), "unchecked", "not machine-checkable")
