"""Parse plan files: phase headings and task tables in every header variant."""

from __future__ import annotations

import re

from loopkit.model import Plan, PlanTask
from loopkit.parsers.common import check_text, split_cells

PHASE_RE = re.compile(r"^#{2,5}\s+Phase\s+(?P<id>[\w.]+)")
MARKER_RE = re.compile(r"^\[(?P<m>[^\]]{0,4})\]")
STATE_ALIASES = {"": " ", " ": " ", "D": "D", "X": "D", "x": "D", "P": "P", "~": "P", "B": "B",
                 "S": "SKIP", "-": "SKIP", "SKIP": "SKIP"}
STATE_NAMES = {"done": "D", "pending": " ", "todo": " ", "open": " ", "in_progress": "P",
               "blocked": "B", "skip": "SKIP", "skipped": "SKIP"}


def normalize_state(cell: str) -> str:
    cell = cell.strip()
    marker = MARKER_RE.match(cell)
    if marker:
        return STATE_ALIASES.get(marker.group("m"), "?")
    return STATE_NAMES.get(cell.lower(), "?")


def _header_columns(cells: list[str]) -> tuple[int, int, int, int] | None:
    names = [c.strip().lower() for c in cells]
    if not names or names[0] != "id":
        return None
    state = next((i for i, n in enumerate(names) if n in ("state", "status")), None)
    if state is None:
        return None
    guidance = next((i for i, n in enumerate(names) if i > state), len(names))
    desc = 1 if state != 1 else None
    return (desc or 0), state, guidance, len(names)


def parse_plan(text: str, path: str = "plan.md") -> Plan:
    check_text(path, text)
    lines = text.splitlines(keepends=True)
    plan = Plan(path=path, lines=lines)
    phase: str | None = None
    columns: tuple[int, int, int, int] | None = None
    for i, line in enumerate(lines):
        heading = PHASE_RE.match(line)
        if heading:
            phase = heading.group("id")
            plan.phases.append(phase)
        if not line.lstrip().startswith("|"):
            columns = None
            continue
        cells = split_cells(line)
        header = _header_columns(cells)
        if header is not None:
            columns = header
            continue
        if columns is None or all(set(c) <= set("-: ") for c in cells):
            continue
        plan.tasks.append(_task(cells, columns, i, phase))
    return plan


def _task(cells: list[str], columns: tuple[int, int, int, int], i: int,
          phase: str | None) -> PlanTask:
    desc_col, state_col, guide_col, ncols = columns
    cells = cells + [""] * (ncols - len(cells))
    guidance = " | ".join(cells[guide_col:]) if guide_col < len(cells) else ""
    return PlanTask(task_id=cells[0], description=cells[desc_col], state=normalize_state(
        cells[state_col]), marker=cells[state_col], guidance=guidance, line=i, phase=phase,
        state_col=state_col, guidance_col=guide_col, ncols=ncols)
