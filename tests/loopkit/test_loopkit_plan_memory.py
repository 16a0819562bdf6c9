"""Plan tables (all header variants, state markers) and the memory file."""

from __future__ import annotations

from lk_helpers import MEMORY, PIX0_PLAN, VEC_PLAN

from loopkit.fsio import read_text
from loopkit.parsers.memory import parse_memory
from loopkit.parsers.plan import normalize_state, parse_plan
from loopkit.writers.memory import NewEntry, append_entry, render_memory
from loopkit.writers.plan import render_plan, set_task_state


def test_pix0_plan_tasks() -> None:
    text = read_text(PIX0_PLAN)
    plan = parse_plan(text, "plan.md")
    assert render_plan(plan) == text
    assert len(plan.tasks) == 70
    assert sum(t.state == "D" for t in plan.tasks) == 57
    assert sum(t.state == "P" for t in plan.tasks) == 4
    task = plan.task("K3g3")
    assert task is not None
    assert (task.state, task.phase, task.description) == (
        " ", "K3g", "Re-run scaling & parity evidence")
    assert task.guidance.startswith("Execute `env KMP_DUPLICATE_LIB_OK=TRUE NB_RUN_PARALLEL=1")
    assert task.guidance.endswith("F_latt, and intensity parity.")


def test_backticked_pipes_do_not_split_cells() -> None:
    plan = parse_plan(read_text(PIX0_PLAN))
    piped = [t for t in plan.tasks if "| tee" in t.guidance or "|" in t.guidance]
    assert piped, "fixture has guidance cells with '|' inside backticks"
    assert all(t.state in (" ", "P", "D") for t in piped)


def test_vectorization_plan() -> None:
    plan = parse_plan(read_text(VEC_PLAN))
    assert len(plan.tasks) == 20
    assert {t.state for t in plan.tasks} == {" "}
    assert plan.phases == ["A", "B", "C", "D", "E", "F", "G"]


def test_state_aliases() -> None:
    assert [normalize_state(m) for m in ("[D]", "[X]", "[x]", "[ ]", "[]", "[~]", "[P]", "[B]",
                                         "[S]", "[-]", "[SKIP]", "done", "[?]")] == [
        "D", "D", "D", " ", " ", "P", "P", "B", "SKIP", "SKIP", "SKIP", "D", "?"]


def test_header_variant_id_task_status() -> None:
    text = "### Phase Z\n| ID | Task | Status |\n|---|---|---|\n| Z1 | do it | [x] |\n"
    plan = parse_plan(text)
    assert [(t.task_id, t.state, t.phase) for t in plan.tasks] == [("Z1", "D", "Z")]
    updated = set_task_state(plan, "Z1", " ")
    assert updated.lines[3] == "| Z1 | do it | [ ] |\n"


def test_set_state_changes_only_one_row() -> None:
    text = read_text(PIX0_PLAN)
    plan = parse_plan(text)
    updated = set_task_state(plan, "K3g3", "D", "✅ 2025-10-06 (run 20251006T172653Z).")
    new_lines = render_plan(updated).splitlines()
    old_lines = text.splitlines()
    changed = [i for i, (a, b) in enumerate(zip(old_lines, new_lines, strict=True)) if a != b]
    assert changed == [213]
    assert new_lines[213].startswith(
        "| K3g3 | Re-run scaling & parity evidence | [D] | ✅ 2025-10-06 (run 20251006T172653Z). "
        "Execute `env")
    assert updated.task("K3g3").state == "D"  # type: ignore[union-attr]


def test_memory_entries() -> None:
    text = read_text(MEMORY)
    memory = parse_memory(text)
    assert render_memory(memory) == text
    assert len(memory.entries) == 158
    first, last = memory.entries[0], memory.entries[-1]
    assert (first.date, first.title) == ("2025-09-30", "loops 1-4 summary")
    assert last.heading == "## 2025-11-08 (galph loop — K3g3 evidence prep)"


def test_memory_append_canonical_entry() -> None:
    memory = parse_memory(read_text(MEMORY))
    entry = NewEntry(ts="2025-10-06T23:39:54Z", kind="recap", focus="CLI-FLAGS-003",
                     action_type="Evidence", mode="Parity", state="ready_for_implementation",
                     bullets=["K3g3 rerun failed: sum_ratio 1.45."])
    updated = append_entry(memory, entry)
    tail = render_memory(updated).splitlines()[-3:]
    assert tail == [
        "### 2025-10-06T23:39:54Z (galph loop recap) focus=CLI-FLAGS-003 action=Evidence "
        "mode=Parity",
        "- K3g3 rerun failed: sum_ratio 1.45.",
        "- <Action State>: [ready_for_implementation]"]
    new = updated.entries[-1]
    assert (new.focus, new.action_state, new.date) == (
        "CLI-FLAGS-003", "ready_for_implementation", "2025-10-06")
    assert len(updated.entries) == 159
