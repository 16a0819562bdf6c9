"""The run record (``run.json``), read back as the same typed record, and its verdict.

Every reader of a run (``attempt add``, ``check``, ``plan set``, ``history``, ``memo new``,
``status``, the loop's turn checks) loads it with :func:`load_run` into a :class:`RunRecord`,
so a field is named in one place and a record of the wrong shape is one clear error.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from loopkit.errors import LoopkitError
from loopkit.fsio import json_text, read_text
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


def partial_reasons(run: RunRecord) -> list[str]:
    """Why a recorded run is not full evidence: skipped steps, a subset, unchecked checks."""
    reasons = [f"step {s['i']} {SKIPPED} ({s.get('reason', '')})" for s in run.skipped_steps]
    sel = run.selection
    if sel.get("subset"):
        reasons.append(f"subset run: steps {sel.get('selected')} of {sel.get('available')}")
    unchecked = run.counts.get("unchecked", 0)
    if unchecked:
        reasons.append(f"{unchecked} unchecked check(s)")
    return reasons


def _known(cls: type, data: dict[str, Any], nested: dict[str, Any]) -> dict[str, Any]:
    """The keys of ``data`` that are fields of ``cls`` (a newer or older record's extra keys
    are dropped); ``nested`` maps a field to the check or loader of its value."""
    kept = {}
    for f in fields(cls):
        if f.name in data:
            value = data[f.name]
            kept[f.name] = nested[f.name](value) if f.name in nested else value
    return kept


def _mapping(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, found {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"expected a list, found {type(value).__name__}")
    return value


def _outcome(data: Any) -> Outcome:
    return Outcome(**_known(Outcome, _mapping(data), {}))


def _step(data: Any) -> StepRecord:
    return StepRecord(**_known(StepRecord, _mapping(data), {
        "expect": lambda v: [_outcome(o) for o in _list(v)], "requires": _list}))


def run_from_dict(data: dict[str, Any]) -> RunRecord:
    """A :class:`RunRecord` from the mapping ``run.json`` holds (missing fields take their
    defaults, unknown ones are dropped); raises TypeError or ValueError for a wrong shape."""
    nested: dict[str, Any] = {name: _mapping for name in (
        "memo", "focus", "git", "env", "tools", "counts", "selection")}
    nested.update({name: _list for name in (
        "manual_steps", "artifacts", "overrides", "skipped_steps", "links")})
    nested["steps"] = lambda v: [_step(s) for s in _list(v)]
    kept = _known(RunRecord, data, nested)
    for name in ("run_id", "run_dir", "started"):
        kept.setdefault(name, "")
        if not isinstance(kept[name], str):
            raise TypeError(f"{name} is not a string")
    return RunRecord(**kept)


def load_run(path: Path) -> RunRecord:
    """Load a ``run.json`` as the typed record loopkit wrote."""
    try:
        data = json.loads(read_text(path))
    except (OSError, json.JSONDecodeError) as exc:
        raise LoopkitError(f"{path}: cannot read run record: {exc}") from exc
    if not isinstance(data, dict) or "run_id" not in data:
        raise LoopkitError(f"{path}: not a loopkit run record")
    try:
        return run_from_dict(data)
    except (TypeError, ValueError) as exc:
        raise LoopkitError(f"{path}: not a loopkit run record ({exc})") from exc


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
        if recorded.run_id != found.parent.name:
            raise LoopkitError(f"run {run_id}: {found} names run {recorded.run_id!r}, "
                               "not its folder (not evidence)")
    return found
