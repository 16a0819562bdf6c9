"""``attempt add``: number and date allocated by loopkit, result derived from the run."""

from __future__ import annotations

from dataclasses import dataclass, field

from loopkit.config import Config
from loopkit.errors import LoopkitError, RefusedError
from loopkit.fsio import locked, write_document
from loopkit.ops.docs import load_archive, load_ledger
from loopkit.parsers.ledger import max_attempt
from loopkit.run.record import SKIPPED, RunRecord, find_run, load_run, partial_reasons
from loopkit.scrub import clean_text
from loopkit.writers.ledger import NewAttempt, insert_attempt, render_ledger

VERDICT_RESULT = {"pass": "success", "partial": "partial", "fail": "failed", "aborted": "failed"}
MAX_ARTIFACTS = 12


@dataclass
class AttemptRequest:
    item_id: str
    run_id: str
    result: str = "auto"
    summary: str = ""
    actor: str | None = None
    observations: list[str] = field(default_factory=list)
    next_actions: str = ""
    task: str | None = None


@dataclass
class AttemptResult:
    n: int
    created: bool
    result: str


def derive_result(requested: str, verdict: str, vocab: list[str]) -> str:
    derived = VERDICT_RESULT.get(verdict, "failed")
    if requested == "auto":
        return derived
    if requested not in vocab:
        raise LoopkitError(f"result {requested!r} not in vocabulary {vocab}")
    if requested == "success" and verdict != "pass":
        raise RefusedError(f"refused: 'success' claimed but run verdict is {verdict!r}")
    return requested


def run_metrics(run: RunRecord) -> list[str]:
    metrics: list[str] = [f"verdict={run.verdict}"]
    sel = run.selection
    if sel.get("subset"):
        metrics.append(f"subset run: steps {sel.get('selected')} of {sel.get('available')}")
    for skipped in run.skipped_steps:
        metrics.append(f"step {skipped['i']} {SKIPPED}: {skipped.get('reason')}")
    for step in run.steps:
        py = step.pytest
        if py:
            metrics.append(f"step {step.i} pytest passed={py['passed']} failed={py['failed']} "
                           f"skipped={py['skipped']} errors={py['errors']}")
        for out in step.expect:
            if out.kind in ("json", "range") and out.verdict != "unchecked":
                metrics.append(f"{out.pred} -> {out.verdict} ({out.detail})")
    return metrics


def run_artifacts(cfg: Config, run: RunRecord) -> list[str]:
    run_dir = run.run_dir
    preferred = [f"{run_dir}/run.json", f"{run_dir}/summary.md"]
    preferred += [a["path"] for a in run.artifacts]
    existing = [p for p in dict.fromkeys(preferred) if (cfg.root / p).exists()]
    return existing[:MAX_ARTIFACTS]


def summary_text(req: AttemptRequest, run: RunRecord) -> str:
    if req.summary:
        return req.summary
    c = run.counts
    text = (f"loopkit run {run.run_id} verdict {run.verdict} "
            f"({c.get('pass', 0)} checks passed, {c.get('fail', 0)} failed, "
            f"{c.get('unchecked', 0)} unchecked, {c.get(SKIPPED, 0)} {SKIPPED}).")
    skipped = [str(s["i"]) for s in run.skipped_steps]
    if skipped:
        text += f" Steps {', '.join(skipped)} were {SKIPPED} (not run, not evidence)."
    if run.selection.get("subset"):
        text += " Subset run: not every memo step was selected."
    return text


def _clean_request(cfg: Config, req: AttemptRequest) -> AttemptRequest:
    """The request's free text redacted and on one line each (no injected headings)."""
    def clean(text: str) -> str:
        return clean_text(text, cfg.env_snapshot.redact)
    return AttemptRequest(
        req.item_id, req.run_id, req.result, clean(req.summary),
        clean(req.actor) if req.actor else None, [clean(o) for o in req.observations],
        clean(req.next_actions), clean(req.task) if req.task else None)


def add_attempt(cfg: Config, req: AttemptRequest) -> AttemptResult:
    req = _clean_request(cfg, req)
    run_path = find_run(cfg.root, cfg.paths.reports, req.run_id)
    run = load_run(run_path)
    result = derive_result(req.result, run.verdict, cfg.vocab.result)
    ledger_path = cfg.path(cfg.paths.ledger)
    with locked(ledger_path):
        ledger = load_ledger(cfg)
        item = ledger.item(req.item_id)
        if item is None:
            raise LoopkitError(f"item {req.item_id!r} not in {cfg.paths.ledger}")
        for att in item.attempts:
            if run.run_id in att.run_ids:
                return AttemptResult(att.n, False, att.result)
        archive = load_archive(cfg)
        arch_item = archive.item(req.item_id) if archive else None
        n = max(max_attempt(item), max_attempt(arch_item)) + 1
        att = NewAttempt(
            item_id=req.item_id, n=n, date=run.started[:10], result=result,
            summary=summary_text(req, run), run_id=run.run_id, actor=req.actor,
            metrics=run_metrics(run), artifacts=run_artifacts(cfg, run),
            observations=req.observations, next_actions=req.next_actions, task=req.task)
        write_document(ledger_path, render_ledger(insert_attempt(ledger, att)))
    return AttemptResult(n, True, result)


def run_passed_with_artifacts(cfg: Config, run_id: str) -> tuple[bool, str, RunRecord]:
    """(ok, reason, run) — ok only for a pass verdict whose recorded artifacts all exist."""
    run = load_run(find_run(cfg.root, cfg.paths.reports, run_id))
    if run.verdict != "pass":
        why = "; ".join(partial_reasons(run)) if run.verdict == "partial" else ""
        return False, (f"run {run_id} verdict is {run.verdict!r}, not 'pass'"
                       + (f" ({why})" if why else "")), run
    if run.skipped_steps or run.selection.get("subset"):
        return False, f"run {run_id} is partial evidence: {'; '.join(partial_reasons(run))}", run
    missing = [a["path"] for a in run.artifacts if not (cfg.root / a["path"]).exists()]
    if missing or not run.artifacts:
        return False, f"run {run_id} artifacts missing: {missing[:5] or 'none recorded'}", run
    return True, "", run


__all__ = ["AttemptRequest", "add_attempt", "derive_result", "run_passed_with_artifacts"]
