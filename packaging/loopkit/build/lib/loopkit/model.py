"""Typed records for the four loop documents and for runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --- memo -------------------------------------------------------------------------------------

HEADER_KEYS = ("Summary", "Phase", "Mode", "SupervisorMode", "Focus", "Branch", "Mapped tests",
               "Artifacts", "Do Now", "If Blocked")
SECTION_TITLES = ("Priorities & Rationale", "How-To Map", "Pitfalls To Avoid", "Pointers",
                  "Next Up", "Context Recap")


@dataclass
class FocusRef:
    raw: str
    item_id: str | None = None
    plan_task: str | None = None
    anchor: str | None = None
    #: task-shaped words of a Focus without ``Phase`` (the plan decides which one is a task)
    task_candidates: list[str] = field(default_factory=list)


@dataclass
class Step:
    """One How-To bullet: a shell command (``cmd``) or a manual instruction (``cmd`` is None)."""

    text: str
    expect: str | None = None
    cmd: str | None = None
    line: int = 0

    @property
    def is_shell(self) -> bool:
        return self.cmd is not None


@dataclass
class HeaderField:
    key: str
    value: str
    line: int = 0


@dataclass
class Section:
    title: str
    label: str
    inline: str = ""
    body: list[str] = field(default_factory=list)
    line: int = 0


@dataclass
class Memo:
    path: str
    front_matter: dict[str, Any] | None = None
    preamble: list[str] = field(default_factory=list)
    fields: list[HeaderField] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
    howto_intro: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def field(self, key: str) -> str | None:
        for f in self.fields:
            if f.key == key:
                return f.value
        return None

    def field_all(self, key: str) -> list[str]:
        return [f.value for f in self.fields if f.key == key]

    def section(self, title: str) -> Section | None:
        for s in self.sections:
            if s.title == title:
                return s
        return None


# --- ledger -----------------------------------------------------------------------------------


@dataclass
class Attempt:
    n: int
    date: str
    actor: str | None
    result_raw: str
    result: str
    start: int  # index into Item.lines
    end: int  # exclusive
    run_ids: list[str] = field(default_factory=list)
    line: int = 0
    stamp: str = ""  # the header's date as written ("2026-01-17T051737Z"); "" when undated
    task: str | None = None  # the plan task of a loopkit-written Attempt (its anchor's task=)


@dataclass
class LedgerItem:
    item_id: str
    title: str
    lines: list[str]  # verbatim, including the "## [ID] Title" heading line
    line: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    trailer: list[str] = field(default_factory=list)  # plain ``##`` sections after the item

    @property
    def status(self) -> str:
        return self.fields.get("Status", "").split(" ", 1)[0].strip()


@dataclass
class IndexRow:
    item_id: str
    title: str
    anchor: str
    priority: str
    status: str
    line: int = 0


@dataclass
class Ledger:
    path: str
    head: list[str]  # lines before the first item (header + index), verbatim
    items: list[LedgerItem]
    index: list[IndexRow] = field(default_factory=list)
    index_span: tuple[int, int] | None = None  # [start, end) of index table rows in head

    def item(self, item_id: str) -> LedgerItem | None:
        for it in self.items:
            if it.item_id == item_id:
                return it
        return None


# --- plan -------------------------------------------------------------------------------------


@dataclass
class PlanTask:
    task_id: str
    description: str
    state: str  # normalized: " ", P, D, B, SKIP, or "?" for unknown markers
    marker: str  # raw cell text
    guidance: str
    line: int  # 0-based index into Plan.lines
    phase: str | None = None
    state_col: int = 2
    guidance_col: int = 3
    ncols: int = 4


@dataclass
class Plan:
    path: str
    lines: list[str]
    tasks: list[PlanTask] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)

    def task(self, task_id: str) -> PlanTask | None:
        for t in self.tasks:
            if t.task_id == task_id:
                return t
        return None


# --- memory -----------------------------------------------------------------------------------


@dataclass
class MemoryEntry:
    heading: str
    stamp: str  # as written: date, ISO timestamp, "$STAMP", ...
    title: str
    start: int
    end: int
    date: str | None = None  # YYYY-MM-DD when the stamp carries one
    action_state: str | None = None
    focus: str | None = None


@dataclass
class MemoryFile:
    path: str
    lines: list[str]
    entries: list[MemoryEntry] = field(default_factory=list)
