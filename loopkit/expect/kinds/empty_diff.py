"""``empty diff``: a diff step whose output (or named output file) shows no change."""

from __future__ import annotations

from loopkit.expect.context import StepContext, read_capped
from loopkit.expect.predicate import Predicate
from loopkit.run.record import Outcome


def describe(pred: Predicate) -> str:
    return "diff output is empty"


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    targets = ctx.outputs()
    files = [p for p in targets if p.is_file()] if targets else [ctx.stdout]
    if not files:
        return Outcome(pred.kind, pred.describe(), "unchecked", "diff output file missing")
    if ctx.rc is None or ctx.rc > 1:
        return Outcome(pred.kind, pred.describe(), "unchecked", f"diff did not run (rc={ctx.rc})")
    text = "".join(read_capped(p) for p in files)
    changes = [ln for ln in text.splitlines()
               if ln[:1] in "+-<>" and not ln.startswith(("+++", "---"))]
    verdict = "fail" if changes else "pass"
    return Outcome(pred.kind, pred.describe(), verdict, f"{len(changes)} changed line(s)")
