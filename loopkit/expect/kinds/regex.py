"""``regex "PATTERN"`` and ``TOKEN lines``: a pattern the step's output must show."""

from __future__ import annotations

import re

from loopkit.expect.context import StepContext, read_capped
from loopkit.expect.predicate import Predicate
from loopkit.run.record import Outcome


def describe(pred: Predicate) -> str:
    return f"output matches /{pred.args['pattern']}/"


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    try:
        pattern = re.compile(pred.args["pattern"], re.M)
    except re.error as exc:
        return Outcome(pred.kind, pred.describe(), "unchecked", f"bad regex: {exc}")
    for path in [ctx.stdout, ctx.stderr, *ctx.outputs()]:
        if pattern.search(read_capped(path)):
            return Outcome(pred.kind, pred.describe(), "pass", f"found in {path.name}")
    return Outcome(pred.kind, pred.describe(), "fail", "not found in step output")
