"""``json FILE key OP value`` and ``key OP value``: a measured number compared to a bound."""

from __future__ import annotations

from loopkit.expect.context import StepContext
from loopkit.expect.kinds.metrics import check_metric
from loopkit.expect.predicate import Predicate
from loopkit.run.record import Outcome


def describe(pred: Predicate) -> str:
    a = pred.args
    src = f"{a['file']}:" if a.get("file") else ""
    return f"{src}{a['key']} {a['op']} {a['value']:g}"


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    return check_metric(pred, ctx)
