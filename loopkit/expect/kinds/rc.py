"""``rc=N``: the step's exit code (every step has an implicit ``rc == 0``)."""

from __future__ import annotations

from loopkit.expect.context import StepContext
from loopkit.expect.predicate import Predicate
from loopkit.run.record import Outcome


def describe(pred: Predicate) -> str:
    return f"rc == {pred.args['rc']}"


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    ok = ctx.rc == pred.args["rc"]
    return Outcome(pred.kind, pred.describe(), "pass" if ok else "fail", f"rc={ctx.rc}")
