"""The run record (``run.json``) and how a verdict is derived from step outcomes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from loopkit.errors import LoopkitError
from loopkit.fsio import atomic_write, read_text

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


@dataclass
class Outcome:
    kind: str
    pred: str
    verdict: str  # pass | fail | unchecked
    detail: str = ""


@dataclass
class StepRecord:
    i: int
    cmd: str
    status: str = "pending"  # pending | ok | failed | timeout | aborted | not_run
    rc: int | None = None
    start: str | None = None
    end: str | None = None
    duration_s: float | None = None
    stdout: str = ""
    stderr: str = ""
    expect_text: str | None = None
    pytest: dict[str, Any] | None = None
    expect: list[Outcome] = field(default_factory=list)


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

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n"


def compute_verdict(run: RunRecord) -> tuple[str, dict[str, int]]:
    """pass: every step ran, rc 0 and no failed or unchecked predicate; partial: nothing failed
    but something is unchecked; fail: a step or predicate failed; aborted: the run stopped."""
    counts = {"pass": 0, "fail": 0, "unchecked": 0}
    for step in run.steps:
        for out in step.expect:
            counts[out.verdict] = counts.get(out.verdict, 0) + 1
    statuses = {s.status for s in run.steps}
    if not run.complete or statuses & {"timeout", "aborted", "pending"}:
        return "aborted", counts
    if counts["fail"] or "failed" in statuses:
        return "fail", counts
    if not run.steps:
        return "partial", counts
    return ("partial" if counts["unchecked"] else "pass"), counts


def write_run(run: RunRecord, run_dir: Path) -> None:
    atomic_write(run_dir / "run.json", run.to_json())


def load_run(path: Path) -> dict[str, Any]:
    """Load a run.json as a plain mapping (readers only need the recorded facts)."""
    try:
        data = json.loads(read_text(path))
    except (OSError, json.JSONDecodeError) as exc:
        raise LoopkitError(f"{path}: cannot read run record: {exc}") from exc
    if not isinstance(data, dict) or "run_id" not in data:
        raise LoopkitError(f"{path}: not a loopkit run record")
    return data


def find_run(root: Path, reports: str, run_id: str) -> Path:
    """Locate ``<...>/<run_id>/run.json`` under the reports folder (or a direct path)."""
    direct = Path(run_id)
    for cand in (direct, root / direct):
        if cand.is_file():
            return cand
        if (cand / "run.json").is_file():
            return cand / "run.json"
    base = root / reports
    matches = sorted(base.rglob(f"{run_id}/run.json")) if base.is_dir() else []
    if not matches:
        raise LoopkitError(f"run {run_id!r} not found under {base}")
    if len(matches) > 1:
        raise LoopkitError(f"run {run_id!r} is ambiguous: {[str(m) for m in matches]}")
    return matches[0]
