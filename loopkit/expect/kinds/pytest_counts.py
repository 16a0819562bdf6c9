"""``pytest passed>=1 skipped=0``, ``no skips``, ``all tests pass``: pytest's summary counts."""

from __future__ import annotations

from loopkit.expect.context import StepContext
from loopkit.expect.predicate import COMPARE, Predicate
from loopkit.run.record import Outcome


def describe(pred: Predicate) -> str:
    return "pytest " + " ".join(f"{k}{op}{v}" for k, op, v in pred.args["checks"])


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    """A pytest count holds only for tests that ran: a step without a pytest summary, or one
    whose pytest ran no test ("no tests ran", all deselected), fails every count but
    ``collected`` (a "no skips" of nothing is not evidence)."""
    counts = ctx.pytest
    if counts is None:
        return Outcome(pred.kind, pred.describe(), "fail",
                       "no pytest summary in the output: the step ran no tests")
    ran = counts.passed + counts.failed + counts.skipped + counts.errors + counts.xfailed \
        + counts.xpassed
    if not ran and not any(key == "collected" for key, _op, _v in pred.args["checks"]):
        return Outcome(pred.kind, pred.describe(), "fail", f"no tests ran ({counts.line})")
    bad = []
    for key, op, value in pred.args["checks"]:
        actual = getattr(counts, key)
        if actual is None or not COMPARE[op](actual, value):
            bad.append(f"{key}={actual} (want {op}{value})")
    detail = "; ".join(bad) if bad else counts.line
    return Outcome(pred.kind, pred.describe(), "fail" if bad else "pass", detail)
