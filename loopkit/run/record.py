"""The run record (``run.json``) and how a verdict is derived from step outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loopkit.errors import LoopkitError
from loopkit.fsio import atomic_write, json_text, read_text
from loopkit.run.evidence import verify_run

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass
class Outcome:
    kind: str
    pred: str
    verdict: str  # pass | fail | unchecked | skipped-by-environment
    detail: str = ""
    #: a json/range check: the metric it compared and the values it observed, as numbers
    metric: str | None = None
    observed: list[float] | None = None


@dataclass
class StepRecord:
    i: int
    cmd: str
    # pending | ok | failed | timeout | aborted | not_run | skipped-by-environment
    status: str = "pending"
    rc: int | None = None
    start: str | None = None
    end: str | None = None
    duration_s: float | None = None
    stdout: str = ""
    stderr: str = ""
    expect_text: str | None = None
    pytest: dict[str, Any] | None = None
    expect: list[Outcome] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    #: the step's first command as the shell found it: {"command", "kind", "path"}
    resolved: dict[str, Any] | None = None


@dataclass
class RunRecord:
    run_id: str
    run_dir: str
    started: str
    memo: dict[str, Any] = field(default_factory=dict)
    focus: dict[str, Any] = field(default_factory=dict)
    git: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    tools: dict[str, Any] = field(default_factory=dict)
    steps: list[StepRecord] = field(default_factory=list)
    manual_steps: list[dict[str, Any]] = field(default_factory=list)
    ended: str | None = None
    complete: bool = False
    verdict: str = "aborted"  # pass | partial | fail | aborted
    counts: dict[str, int] = field(default_factory=dict)
    artifacts: list[dict[str, Any]] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)
    selection: dict[str, Any] = field(default_factory=dict)
    skipped_steps: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # symbolic links a step left (not followed)

    def to_json(self, clean: Callable[[Any], Any] | None = None) -> str:
        """The record as JSON; ``clean`` (redaction, path scrubbing) works on the data before
        it is serialised, so the text is always valid JSON."""
        data = asdict(self)
        return json_text(clean(data) if clean else data)


SKIPPED = "skipped-by-environment"


def compute_verdict(run: RunRecord) -> tuple[str, dict[str, int]]:
    """pass: every step of the memo ran, rc 0 and no failed or unchecked predicate; partial:
    nothing failed but something is unchecked, a step was skipped by the environment, or the
    run selected only some of the memo's steps; fail: a step or predicate failed; aborted: the
    run stopped."""
    counts = {"pass": 0, "fail": 0, "unchecked": 0, SKIPPED: 0}
    for step in run.steps:
        for out in step.expect:
            counts[out.verdict] = counts.get(out.verdict, 0) + 1
    statuses = {s.status for s in run.steps}
    if not run.complete or statuses & {"timeout", "aborted", "pending"}:
        return "aborted", counts
    if counts["fail"] or "failed" in statuses:
        return "fail", counts
    incomplete = (not run.steps or counts["unchecked"] or counts[SKIPPED]
                  or SKIPPED in statuses or run.selection.get("subset"))
    return ("partial" if incomplete else "pass"), counts


def partial_reasons(run: dict[str, Any]) -> list[str]:
    """Why a recorded run is not full evidence: skipped steps, a subset, unchecked checks."""
    reasons = [f"step {s['i']} {SKIPPED} ({s.get('reason', '')})"
               for s in run.get("skipped_steps", [])]
    sel = run.get("selection") or {}
    if sel.get("subset"):
        reasons.append(f"subset run: steps {sel.get('selected')} of {sel.get('available')}")
    unchecked = (run.get("counts") or {}).get("unchecked", 0)
    if unchecked:
        reasons.append(f"{unchecked} unchecked check(s)")
    return reasons


def write_run(run: RunRecord, run_dir: Path,
              clean: Callable[[Any], Any] | None = None) -> None:
    atomic_write(run_dir / "run.json", run.to_json(clean))


def load_run(path: Path) -> dict[str, Any]:
    """Load a run.json as a plain mapping (readers only need the recorded facts)."""
    try:
        data = json.loads(read_text(path))
    except (OSError, json.JSONDecodeError) as exc:
        raise LoopkitError(f"{path}: cannot read run record: {exc}") from exc
    if not isinstance(data, dict) or "run_id" not in data:
        raise LoopkitError(f"{path}: not a loopkit run record")
    return data


def find_run(root: Path, reports: str, run_id: str, verify: bool = True) -> Path:
    """Locate ``<...>/<run_id>/run.json`` under the reports folder (a run folder or run.json
    path inside it is accepted too). With ``verify`` the run must be one loopkit recorded
    and unchanged since (:func:`loopkit.run.evidence.verify_run`): evidence cannot be
    hand-written."""
    base = root / reports
    direct = Path(run_id)
    found: Path | None = None
    for cand in (direct, root / direct):
        if cand.is_file() and cand.name == "run.json":
            found = cand
        elif (cand / "run.json").is_file():
            found = cand / "run.json"
        if found is not None:
            break
    if found is None:
        matches = sorted(base.rglob(f"{run_id}/run.json")) if base.is_dir() else []
        if not matches:
            raise LoopkitError(f"run {run_id!r} not found under {base}")
        if len(matches) > 1:
            raise LoopkitError(f"run {run_id!r} is ambiguous: {[str(m) for m in matches]}")
        found = matches[0]
    if verify:
        verify_run(root, reports, found, run_id)
        recorded = load_run(found)
        if recorded.get("run_id") != found.parent.name:
            raise LoopkitError(f"run {run_id}: {found} names run {recorded.get('run_id')!r}, "
                               "not its folder (not evidence)")
    return found
