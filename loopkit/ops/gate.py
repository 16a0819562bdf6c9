"""``check``: the pre-handoff gate over the working tree's diff against a base revision."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import read_text
from loopkit.lint import Finding
from loopkit.ops.attempts import run_passed_with_artifacts
from loopkit.ops.docs import plan_files
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.plan import parse_plan
from loopkit.runrecord import find_run

PROTECTED = ("docs/index.md", "loop.sh", "supervisor.sh")
RUN_IN_NOTE_RE = re.compile(r"\(run (\S+?)\)")


@dataclass
class GateReport:
    findings: list[Finding]
    new_attempts: list[tuple[str, int, list[str]]]
    done_flips: list[tuple[str, str]]


def git_show(cfg: Config, base: str, rel: str) -> str | None:
    out = subprocess.run(["git", "show", f"{base}:{rel}"], cwd=cfg.root, capture_output=True,
                         text=True, check=False)
    return out.stdout if out.returncode == 0 else None


def changed_files(cfg: Config, base: str) -> list[str]:
    out = subprocess.run(["git", "diff", "--name-only", base], cwd=cfg.root, capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        raise LoopkitError(f"git diff against {base!r} failed: {out.stderr.strip()}")
    return [line for line in out.stdout.splitlines() if line]


def _attempt_findings(cfg: Config, base: str, report: GateReport) -> None:
    path = cfg.path(cfg.paths.ledger)
    if not path.is_file():
        return
    now = parse_ledger(read_text(path), cfg.paths.ledger)
    old_text = git_show(cfg, base, cfg.paths.ledger)
    old = parse_ledger(old_text, cfg.paths.ledger) if old_text else None
    for item in now.items:
        before = old.item(item.item_id) if old else None
        known = {a.n for a in before.attempts} if before else set()
        for att in item.attempts:
            if att.n in known:
                continue
            report.new_attempts.append((item.item_id, att.n, att.run_ids))
            if not att.run_ids:
                report.findings.append(Finding("error", att.line, f"{item.item_id} Attempt "
                                               f"#{att.n} cites no loopkit run"))
            for run_id in att.run_ids:
                try:
                    find_run(cfg.root, cfg.paths.reports, run_id)
                except LoopkitError as exc:
                    report.findings.append(Finding("error", att.line, str(exc)))


def _plan_findings(cfg: Config, base: str, report: GateReport) -> None:
    for path in plan_files(cfg):
        rel = str(path.relative_to(cfg.root))
        plan = parse_plan(read_text(path), rel)
        old_text = git_show(cfg, base, rel)
        old = parse_plan(old_text, rel) if old_text else None
        for task in plan.tasks:
            prev = old.task(task.task_id) if old else None
            if task.state != "D" or (prev is not None and prev.state == "D"):
                continue
            report.done_flips.append((rel, task.task_id))
            if "FORCED" in task.guidance:
                report.findings.append(Finding("warning", task.line + 1,
                                               f"{rel} {task.task_id}: forced done"))
                continue
            match = RUN_IN_NOTE_RE.search(task.guidance)
            ok, why = (False, "no evidence run cited")
            if match:
                ok, why, _ = run_passed_with_artifacts(cfg, match.group(1))
            if not ok:
                report.findings.append(Finding("error", task.line + 1,
                                               f"{rel} {task.task_id} set done: {why}"))


def run_gate(cfg: Config, base: str) -> GateReport:
    report = GateReport([], [], [])
    for rel in changed_files(cfg, base):
        if rel in PROTECTED:
            report.findings.append(Finding("error", 0, f"protected asset changed: {rel}"))
    _attempt_findings(cfg, base, report)
    _plan_findings(cfg, base, report)
    ledger = cfg.path(cfg.paths.ledger)
    if ledger.is_file() and ledger.stat().st_size > cfg.budgets.ledger_bytes:
        report.findings.append(Finding("warning", 0, f"ledger is {ledger.stat().st_size} bytes "
                                       f"(budget {cfg.budgets.ledger_bytes}); run archive"))
    return report
