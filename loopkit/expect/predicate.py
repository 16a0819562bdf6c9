"""One checkable claim of an ``Expect:`` line."""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Any

#: the comparison of each operator an Expect line may use (parse.OPS normalises the spelling)
COMPARE = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "<": operator.lt,
           ">": operator.gt}


@dataclass
class Predicate:
    kind: str  # a name of loopkit.expect.all_kinds.KINDS; anything else is unchecked
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def describe(self) -> str:
        from loopkit.expect.all_kinds import kind_of  # the registry imports every kind

        return kind_of(self.kind).describe(self)
