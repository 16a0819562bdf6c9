"""Decide what a run will execute: selected memo steps, their predicates, the run root."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from loopkit.errors import LoopkitError
from loopkit.expect.parse import implicit_predicates, parse_expect
from loopkit.expect.predicate import Predicate
from loopkit.model import Memo, Step
from loopkit.parsers.memo import parse_do_now
from loopkit.requires import step_requirements

PLACEHOLDER_RE = re.compile(r"[$<({]")


@dataclass
class PlannedStep:
    i: int
    step: Step
    predicates: list[Predicate] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)

    @property
    def cmd(self) -> str:
        return self.step.cmd or ""


class StepSelection:
    """The step numbers of ``--steps`` kept as ranges, so ``1-999999999`` costs nothing."""

    def __init__(self, ranges: list[tuple[int, int]]) -> None:
        self.ranges = ranges

    def __contains__(self, i: object) -> bool:
        return isinstance(i, int) and any(lo <= i <= hi for lo, hi in self.ranges)


MAX_SELECTION_PARTS = 1000


def parse_selection(spec: str | None) -> StepSelection | None:
    """'1-3,5' -> steps 1, 2, 3 and 5; None means every step."""
    if not spec:
        return None
    parts = spec.split(",")
    if len(parts) > MAX_SELECTION_PARTS:
        raise LoopkitError(f"--steps: more than {MAX_SELECTION_PARTS} parts")
    ranges = []
    for part in parts:
        part = part.strip()
        if not re.fullmatch(r"\d{1,12}(?:-\d{1,12})?", part):
            raise LoopkitError(f"bad --steps value {spec!r} (use e.g. 1-3,5)")
        lo, _, hi = part.partition("-")
        if int(hi or lo) < int(lo):
            raise LoopkitError(f"--steps {part}: the range ends before it starts")
        ranges.append((int(lo), int(hi or lo)))
    return StepSelection(ranges)


def is_parity(memo: Memo, cmd: str, fail_on_skip: bool) -> bool:
    mode = (memo.field("Mode") or memo.field("SupervisorMode") or "").lower()
    return fail_on_skip or "parity" in mode or bool(re.search(r"\bNB_(RUN_PARALLEL|C_BIN)=", cmd))


def plan_steps(memo: Memo, selection: StepSelection | None, do_now_only: bool,
               fail_on_skip: bool) -> tuple[list[PlannedStep], list[PlannedStep]]:
    """(shell steps to run, manual steps listed only), numbered as in the memo's How-To Map."""
    do_now = parse_do_now(memo)
    numbered = list(enumerate(memo.steps, start=1))
    if do_now_only or not any(s.is_shell for s in memo.steps):
        numbered = [(0, do_now)] if do_now is not None else []
    if selection is not None and not do_now_only:
        numbered = [(i, s) for i, s in numbered if i in selection]
    shell, manual = [], []
    for i, step in numbered:
        if not step.is_shell:
            manual.append(PlannedStep(i, step))
            continue
        explicit = parse_expect(step.expect or "")
        parity = is_parity(memo, step.cmd or "", fail_on_skip)
        preds = implicit_predicates(step.cmd or "", explicit, parity) + explicit
        shell.append(PlannedStep(i, step, preds, step_requirements(step.cmd or "")))
    return shell, manual


def selection_record(memo: Memo, shell: list[PlannedStep], spec: str | None,
                     do_now_only: bool) -> dict[str, object]:
    """What the run selected out of the memo's shell steps; ``subset`` when it left any out."""
    available = [i for i, s in enumerate(memo.steps, start=1) if s.is_shell] or [0]
    selected = [p.i for p in shell]
    return {"steps": spec, "do_now_only": do_now_only, "selected": selected,
            "available": available, "subset": not set(available) <= set(selected)}


def memo_run_root(memo: Memo, fallback: str) -> str:
    """Front matter ``run_root``, else the common reports/ folder of the Artifacts header."""
    fm = memo.front_matter or {}
    if fm.get("run_root"):
        return validate_run_root(str(fm["run_root"]))
    paths: list[str] = []
    for value in memo.field_all("Artifacts"):
        for raw in re.split(r"[,;]\s*|\s+", value):
            raw = raw.strip("`'\" ")
            if not raw.startswith("reports/"):
                continue
            cut = PLACEHOLDER_RE.search(raw)
            raw = raw[: cut.start()] if cut else raw
            paths.append(raw if raw.endswith("/") else os.path.dirname(raw) + "/")
    if not paths:
        return validate_run_root(fallback)
    common = os.path.commonpath([p.rstrip("/") for p in paths])
    return validate_run_root(common if common.startswith("reports") else fallback)


def validate_run_root(root: str) -> str:
    if PLACEHOLDER_RE.search(root):
        raise LoopkitError(f"run root {root!r} contains an unexpanded placeholder")
    parts = Path(root).parts
    if parts.count("reports") > 1:
        raise LoopkitError(f"run root {root!r} nests reports/ inside reports/")
    if Path(root).is_absolute() or ".." in parts:
        raise LoopkitError(f"run root {root!r} must be a relative path inside the repository")
    return root.rstrip("/")
