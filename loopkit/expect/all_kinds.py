"""The predicate kinds, by name: the one place a new kind is added (pre-commit's
``all_languages.py`` is the model). A kind not listed here is never a pass: unchecked."""

from __future__ import annotations

from loopkit.expect.context import StepContext
from loopkit.expect.kind import PredicateKind
from loopkit.expect.kinds import (
    empty_diff,
    file_exists,
    json_value,
    pytest_counts,
    rc,
    regex,
    unchecked,
    value_range,
)
from loopkit.expect.predicate import Predicate
from loopkit.run.record import Outcome

KINDS: dict[str, PredicateKind] = {
    "rc": rc,
    "pytest": pytest_counts,
    "json": json_value,
    "range": value_range,
    "file_exists": file_exists,
    "regex": regex,
    "empty_diff": empty_diff,
    "unchecked": unchecked,
}


def kind_of(name: str) -> PredicateKind:
    return KINDS.get(name, unchecked)


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    """Check one predicate against what its step produced."""
    return kind_of(pred.kind).check(pred, ctx)
