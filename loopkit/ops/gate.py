"""``check``: the pre-handoff gate over the working tree's diff against a base revision."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from loopkit.config import Config
from loopkit.errors import LoopkitError, ParseError
from loopkit.fsio import read_document
from loopkit.git import Git
from loopkit.ledger_dates import blame_times, late_attempts
from loopkit.lint import Finding
from loopkit.model import Attempt, Ledger, LedgerItem
from loopkit.ops.attempts import run_passed_with_artifacts
from loopkit.ops.docs import load_archive, plan_files
from loopkit.ops.overrides import is_recorded, overrides_rel
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.plan import parse_plan
from loopkit.run.record import find_run

PROTECTED = ("docs/index.md", "loop.sh", "supervisor.sh")
RUN_IN_NOTE_RE = re.compile(r"\(run ([^\s;)]+)[;)]")
STATES = "[ ], [P], [D], [B], [SKIP] or their aliases [X] [x] [~] [S] [-]"
RUN_CITED_RE = re.compile(r"\brun (\d{8}T\d{6}Z)\b")


@dataclass
class GateLedgers:
    """The ledger as the turn leaves it, at the base revision, and the archive: each read and
    parsed once per ``check`` (on first use: a gate that needs none parses none)."""

    cfg: Config
    base: str

    @cached_property
    def now(self) -> Ledger | None:
        path = self.cfg.path(self.cfg.paths.ledger)
        if not path.is_file():
            return None
        return parse_ledger(read_document(path, self.cfg.paths.ledger), self.cfg.paths.ledger)

    @cached_property
    def before(self) -> Ledger | None:
        old_text = git_show(self.cfg, self.base, self.cfg.paths.ledger)
        return parse_ledger(old_text, self.cfg.paths.ledger) if old_text else None

    @cached_property
    def archive(self) -> Ledger | None:
        return load_archive(self.cfg)


@dataclass
class GateReport:
    findings: list[Finding]
    new_attempts: list[tuple[str, int, list[str]]]
    done_flips: list[tuple[str, str]]
    cited: list[str] = field(default_factory=list)  # runs cited by done flips


def git_show(cfg: Config, base: str, rel: str) -> str | None:
    return Git(cfg.root).show(base, rel)


def changed_files(cfg: Config, base: str) -> list[str]:
    git = Git(cfg.root)
    out = git.run("diff", "--name-only", git.comparable(base), check=False)
    if out.returncode != 0:
        raise LoopkitError(f"git diff against {base!r} failed: {out.stderr.strip()}")
    return [line for line in out.stdout.splitlines() if line]


def _block(item: LedgerItem, att: Attempt) -> str:
    return "".join(item.lines[att.start:att.end]).rstrip()


def _attempt_findings(cfg: Config, docs: GateLedgers, now: datetime,
                      report: GateReport) -> None:
    """Attempts are append-only (R5): every Attempt block of the base revision is still there
    byte for byte (or moved verbatim to the archive); a new block may not reuse a number."""
    ledger = docs.now
    if ledger is None:
        return
    old, archive = docs.before, docs.archive
    new_lines: set[tuple[str, int]] = set()
    for item in ledger.items:
        before = old.item(item.item_id) if old else None
        if item.status == "done" and (before is None or before.status != "done"):
            _done_item_finding(cfg, item, report)
        kept = {_block(item, a) for a in item.attempts}
        if archive is not None and archive.item(item.item_id) is not None:
            moved = archive.item(item.item_id)
            kept |= {_block(moved, a) for a in moved.attempts}
        old_blocks = {_block(before, a): a for a in before.attempts} if before else {}
        lost = {a.n: a for text, a in old_blocks.items() if text not in kept}
        numbers = [a.n for a in item.attempts]
        unclaimed = Counter(_block(before, a) for a in before.attempts) if before else Counter()
        for att in item.attempts:
            text = _block(item, att)
            if unclaimed[text] > 0:  # an old block; a copy of it beyond the old count is new
                unclaimed[text] -= 1
                continue
            new_lines.add((item.item_id, att.line))
            report.new_attempts.append((item.item_id, att.n, att.run_ids))
            _new_attempt_findings(cfg, item, att, lost.pop(att.n, None), numbers, report)
        for att in lost.values():
            report.findings.append(Finding("error", att.line, (
                f"{item.item_id} Attempt #{att.n} was removed (Attempts are append-only; "
                "archive moves them verbatim)")))
    written = blame_times(cfg.root, cfg.paths.ledger)
    for line, message in late_attempts(ledger, now, written, only=new_lines):
        report.findings.append(Finding("error", line, message))


def _new_attempt_findings(cfg: Config, item: LedgerItem, att: Attempt, rewritten: Attempt | None,
                          numbers: list[int], report: GateReport) -> None:
    where = f"{item.item_id} Attempt #{att.n}"
    if rewritten is not None:
        report.findings.append(Finding("error", att.line, (
            f"{where} was changed in place (Attempts are append-only: add a new Attempt)")))
    elif numbers.count(att.n) > 1:
        report.findings.append(Finding("error", att.line, (
            f"{where} reuses a number the item already has (loopkit attempt add numbers "
            "Attempts)")))
    if not att.run_ids:
        report.findings.append(Finding("error", att.line, f"{where} cites no loopkit run"))
    for run_id in att.run_ids:
        try:
            find_run(cfg.root, cfg.paths.reports, run_id)
        except LoopkitError as exc:
            report.findings.append(Finding("error", att.line, str(exc)))


def _done_item_finding(cfg: Config, item, report: GateReport) -> None:
    match = RUN_IN_NOTE_RE.search(item.fields.get("Status", ""))
    report.cited += RUN_CITED_RE.findall(item.fields.get("Status", ""))
    ok, why = (False, "no evidence run cited in its Status")
    if match:
        ok, why, _ = run_passed_with_artifacts(cfg, match.group(1))
    if not ok:
        report.findings.append(Finding("error", item.line, f"{item.item_id} set done: {why}"))


def _plan_findings(cfg: Config, base: str, report: GateReport) -> None:
    for path in plan_files(cfg):
        rel = str(path.relative_to(cfg.root))
        plan = parse_plan(read_document(path, rel), rel)
        old_text = git_show(cfg, base, rel)
        old = parse_plan(old_text, rel) if old_text else None
        for task in plan.tasks:
            prev = old.task(task.task_id) if old else None
            if task.state == "?" and (prev is None or prev.marker != task.marker):
                report.findings.append(Finding("error", task.line + 1, (
                    f"{rel} {task.task_id}: unknown state {task.marker!r} (use {STATES})")))
            if task.state != "D" or (prev is not None and prev.state == "D"):
                continue
            report.done_flips.append((rel, task.task_id))
            report.cited += RUN_CITED_RE.findall(task.guidance)
            if "FORCED" in task.guidance:
                if is_recorded(cfg, rel, task.task_id, task.guidance):
                    report.findings.append(Finding("warning", task.line + 1,
                                                   f"{rel} {task.task_id}: forced done"))
                else:
                    report.findings.append(Finding("error", task.line + 1, (
                        f"{rel} {task.task_id}: FORCED typed by hand (no override recorded by "
                        f"plan set --force in {overrides_rel(cfg)})")))
                continue
            match = RUN_IN_NOTE_RE.search(task.guidance)
            ok, why = (False, "no evidence run cited")
            if match:
                ok, why, _ = run_passed_with_artifacts(cfg, match.group(1))
            if not ok:
                report.findings.append(Finding("error", task.line + 1,
                                               f"{rel} {task.task_id} set done: {why}"))


def _plan_companion_findings(cfg: Config, docs: GateLedgers, changed: list[str],
                             report: GateReport) -> None:
    """R13: a plan change ships with an update of the ledger item that references the plan
    and with a memory note, in the same turn (warnings: the turn may still be under way)."""
    plans = [rel for rel in changed
             if any(fnmatch.fnmatchcase(rel, pattern) for pattern in cfg.paths.plans)]
    if not plans:
        return
    now, old = docs.now, docs.before
    for rel in plans:
        citing = [item for item in (now.items if now else []) if _cites_plan(item.lines, rel)]
        updated = [item.item_id for item in citing
                   if old is None or old.item(item.item_id) is None
                   or old.item(item.item_id).lines != item.lines]
        if not updated:
            report.findings.append(Finding("warning", 0, f"{rel} changed, but no ledger item "
                                           "that references it did (R13)"))
    if cfg.paths.memory not in changed:
        report.findings.append(Finding("warning", 0, f"plans changed ({', '.join(plans)}) "
                                       f"without a note in {cfg.paths.memory} (R13)"))


def _cites_plan(lines: list[str], rel: str) -> bool:
    """A ledger item refers to a plan by its path or, for plans/active/<slug>/plan.md, the slug
    folder."""
    text = "".join(lines)
    folder = rel.rsplit("/", 1)[0] if rel.endswith("/plan.md") else rel
    return rel in text or folder in text


def conflict_findings(cfg: Config) -> list[Finding]:
    """Every loop document with unresolved merge conflict markers (the gate stops there)."""
    docs = [cfg.paths.ledger, cfg.paths.archive, cfg.paths.memory, cfg.paths.memo]
    docs += [str(p.relative_to(cfg.root)) for p in plan_files(cfg)]
    findings = []
    for rel in dict.fromkeys(docs):
        path = cfg.path(rel)
        if not path.is_file():
            continue
        try:
            read_document(path, rel)
        except ParseError as exc:
            findings.append(Finding("error", exc.line, str(exc)))
    return findings


def run_gate(cfg: Config, base: str, now: datetime | None = None) -> GateReport:
    report = GateReport(conflict_findings(cfg), [], [])
    if report.findings:
        return report
    now = now or datetime.now(UTC)
    changed = changed_files(cfg, base)
    for rel in changed:
        if rel in PROTECTED:
            report.findings.append(Finding("error", 0, f"protected asset changed: {rel}"))
    docs = GateLedgers(cfg, base)
    _attempt_findings(cfg, docs, now, report)
    _plan_findings(cfg, base, report)
    _plan_companion_findings(cfg, docs, changed, report)
    ledger = cfg.path(cfg.paths.ledger)
    if ledger.is_file() and ledger.stat().st_size > cfg.budgets.ledger_bytes:
        report.findings.append(Finding("warning", 0, f"ledger is {ledger.stat().st_size} bytes "
                                       f"(budget {cfg.budgets.ledger_bytes}); run archive"))
    return report


def cited_runs(cfg: Config, base: str) -> list[str]:
    """Run ids that the change against ``base`` cites and that exist: new Attempts, new done
    flips of plan tasks and ledger items."""
    report = run_gate(cfg, base)
    ids = [run_id for _item, _n, runs in report.new_attempts for run_id in runs]
    ids += report.cited
    found = []
    for run_id in dict.fromkeys(ids):
        try:
            find_run(cfg.root, cfg.paths.reports, run_id)
        except LoopkitError:
            continue
        found.append(run_id)
    return found
