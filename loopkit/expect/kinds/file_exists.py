"""``file out/metrics.json exists``, ``writes trace.log``: a file the step was to leave."""

from __future__ import annotations

from loopkit.expect.context import StepContext
from loopkit.expect.predicate import Predicate
from loopkit.run.record import Outcome


def describe(pred: Predicate) -> str:
    return f"file exists: {pred.args['path']}"


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    raw = pred.args["path"]
    if "/" in raw:
        cands = [ctx.resolve(raw), ctx.run_dir / ctx.expand(raw)]
    else:
        dirs = [p for p in ctx.outputs() if p.is_dir()] + [ctx.run_dir]
        cands = [d / raw for d in dirs] + [p for p in ctx.outputs() if p.name == raw]
    hit = next((c for c in cands if c.exists()), None)
    if hit is None:
        return Outcome(pred.kind, pred.describe(), "fail", "not found in " + ", ".join(
            str(c.parent) for c in cands[:3]))
    return Outcome(pred.kind, pred.describe(), "pass", str(hit))
