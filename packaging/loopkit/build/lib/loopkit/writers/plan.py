"""Plan writer: only the State cell and a guidance prefix of one row ever change."""

from __future__ import annotations

from loopkit.model import Plan
from loopkit.parsers.common import split_cells
from loopkit.parsers.plan import parse_plan

CANONICAL_MARKERS = {" ": "[ ]", "P": "[P]", "D": "[D]", "B": "[B]", "SKIP": "[SKIP]"}


def render_plan(plan: Plan) -> str:
    return "".join(plan.lines)


def set_task_state(plan: Plan, task_id: str, state: str, note: str = "") -> Plan:
    task = plan.task(task_id)
    if task is None:
        raise KeyError(task_id)
    line = plan.lines[task.line]
    ending = line[len(line.rstrip("\r\n")):] or "\n"
    cells = split_cells(line)
    cells += [""] * (task.ncols - len(cells))
    cells[task.state_col] = CANONICAL_MARKERS[state]
    if note:
        note = note.replace("|", "\\|")
        col = task.guidance_col if task.guidance_col < task.ncols else len(cells) - 1
        if col != task.state_col and note not in cells[col]:  # a retry adds nothing
            cells[col] = f"{note} {cells[col]}".strip()
    plan.lines[task.line] = "| " + " | ".join(cells) + " |" + ending
    return parse_plan(render_plan(plan), plan.path)
