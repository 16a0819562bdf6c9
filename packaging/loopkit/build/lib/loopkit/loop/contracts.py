"""Turn contracts: named checks of what a role's turn must leave behind.

A role's ``contract`` lists names from :data:`CONTRACTS`; each check returns the problems it
found (an empty list: the contract holds). Defaults: the supervisor leaves a memo that lints
clean, a memory recap with an Action State, and a ledger change with any plan change (R13);
the engineer leaves a new loopkit run and an Attempt for the memo's Focus citing it, or an
Attempt with result ``blocked`` and a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import read_text
from loopkit.git import Git
from loopkit.lint import lint_memo
from loopkit.model import Attempt, Ledger
from loopkit.ops.docs import load_ledger
from loopkit.ops.gate import GateReport, _plan_companion_findings
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.memo import memo_focus, require_memo
from loopkit.parsers.memory import parse_memory


@dataclass
class TurnFacts:
    cfg: Config
    git: Git
    base: str
    files: list[str]

    def before(self, rel: str) -> str | None:
        return self.git.show(self.base, rel)

    def new_run_ids(self) -> list[str]:
        return sorted(f.rsplit("/", 2)[-2] for f in self.files if f.endswith("/run.json")
                      and self.before(f) is None)

    def new_attempts(self) -> list[tuple[str, Attempt]]:
        """(item id, Attempt) for every Attempt number the turn added to the ledger."""
        rel = self.cfg.paths.ledger
        if rel not in self.files or not self.cfg.path(rel).is_file():
            return []
        now = parse_ledger(read_text(self.cfg.path(rel)), rel)
        old_text = self.before(rel)
        old = parse_ledger(old_text, rel) if old_text else None
        found = []
        for item in now.items:
            before = old.item(item.item_id) if old else None
            known = {a.n for a in before.attempts} if before else set()
            found += [(item.item_id, a) for a in item.attempts if a.n not in known]
        return found


def memo_lints(facts: TurnFacts) -> list[str]:
    cfg = facts.cfg
    path = cfg.path(cfg.paths.memo)
    if not path.is_file():
        return [f"no memo at {cfg.paths.memo}"]
    try:
        memo = require_memo(read_text(path), cfg.paths.memo)
        ledger: Ledger | None = load_ledger(cfg)
    except LoopkitError as exc:
        return [f"memo or ledger does not parse: {exc}"]
    errors = [f for f in lint_memo(memo, cfg, ledger, collect=False) if f.level == "error"]
    return [f"{cfg.paths.memo}:{f.line}: {f.message}" for f in errors[:5]]


def memory_recap(facts: TurnFacts) -> list[str]:
    cfg = facts.cfg
    rel = cfg.paths.memory
    if rel not in facts.files:
        return [f"no memory recap: {rel} unchanged"]
    now = parse_memory(read_text(cfg.path(rel)), rel)
    old_text = facts.before(rel)
    old_count = len(parse_memory(old_text, rel).entries) if old_text else 0
    new = now.entries[old_count:]
    if not new:
        return [f"no new entry in {rel}"]
    states = [e.action_state for e in new if e.action_state]
    if not states:
        return [f"the new {rel} entry has no <Action State>"]
    bad = [s for s in states if s not in cfg.vocab.action_state]
    return [f"unknown Action State {bad[0]!r}"] if bad else []


def ledger_with_plan(facts: TurnFacts) -> list[str]:
    """R13: a plan change ships with the ledger item citing it and a memory note."""
    report = GateReport([], [], [])
    _plan_companion_findings(facts.cfg, facts.base, facts.files, report)
    return [f.message for f in report.findings]


def run_and_attempt(facts: TurnFacts) -> list[str]:
    cfg = facts.cfg
    if not cfg.path(cfg.paths.ledger).is_file():
        return [f"no ledger at {cfg.paths.ledger}"]
    memo_path = cfg.path(cfg.paths.memo)
    focus = memo_focus(require_memo(read_text(memo_path), cfg.paths.memo)) \
        if memo_path.is_file() else None
    new_attempts = facts.new_attempts()
    if any(a.result == "blocked" for _, a in new_attempts):
        return []  # attempt add needs a run and a summary: the reason is recorded
    runs = facts.new_run_ids()
    if not runs:
        return ["no new loopkit run in the turn (and no Attempt with result blocked)"]
    target = focus.item_id if focus and focus.item_id else None
    citing = [(i, a) for i, a in new_attempts if set(a.run_ids) & set(runs)
              and (target is None or i == target)]
    if not citing:
        return [f"no new Attempt for {target or 'the Focus'} citing run(s) {', '.join(runs)}"]
    return []


CONTRACTS: dict[str, Callable[[TurnFacts], list[str]]] = {
    "memo_lints": memo_lints,
    "memory_recap": memory_recap,
    "ledger_with_plan": ledger_with_plan,
    "run_and_attempt": run_and_attempt,
}


def check_contract(names: list[str], facts: TurnFacts) -> list[str]:
    problems = []
    for name in names:
        check = CONTRACTS.get(name)
        if check is None:
            raise LoopkitError(f"unknown contract check {name!r} (known: "
                               f"{', '.join(sorted(CONTRACTS))})")
        try:
            problems += [f"{name}: {p}" for p in check(facts)]
        except LoopkitError as exc:
            problems.append(f"{name}: {exc}")
    return problems

