"""``range key lo..hi`` and ``key within lo–hi``: a measured number inside a closed range."""

from __future__ import annotations

from loopkit.expect.context import StepContext
from loopkit.expect.kinds.metrics import check_metric
from loopkit.expect.predicate import Predicate
from loopkit.run.record import Outcome


def describe(pred: Predicate) -> str:
    a = pred.args
    return f"{a['key']} in [{a['min']:g}, {a['max']:g}]"


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    return check_metric(pred, ctx)
