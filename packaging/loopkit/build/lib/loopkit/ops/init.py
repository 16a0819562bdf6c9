"""``init``: the four loop documents and a loopkit.toml for a new project.

Files that exist are kept as they are; the new ones parse, and ``memo lint``, ``ledger lint``
and ``check`` accept them as written.
"""

from __future__ import annotations

from pathlib import Path

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import atomic_write, ignore_private_dir, inside
from loopkit.parsers.common import ITEM_ID_RE, slugify

CONFIG = """# loopkit's configuration (loopkit's docs, "Configuration"); every table is optional.

[paths]
ledger = "{ledger}"
memory = "{memory}"
memo = "{memo}"
reports = "reports"

[run]
# Steps run with your PATH as given. Name folders here to put them first (e.g. ".venv/bin").
path_prepend = []

[steps]
# First words that make a How-To bullet a shell step, besides loopkit's own list
# (a bullet that is one code span, or starts with "$ ", always is).
commands = []

[records]
# What every run records besides python and the platform.
packages = []
binaries = {{}}   # e.g. {{ TOY_C_BIN = ["./build/toy"] }}: path and sha256
commands = []     # e.g. ["gcc --version"]: the first output line
"""
LEDGER = """# Fix Plan Ledger

## Index
| ID | Title | Priority | Status |
| --- | --- | --- | --- |
| [{item}](#{anchor}) | {title} | High | pending |

## [{item}] {title}
- Priority: High
- Status: pending
- Plan Reference: `{plan}`
- Next Actions: Phase A task A1 of the plan.
- Attempts History:
"""
PLAN = """# Plan: {title}

## Phase A — first evidence

| ID | Task | State | How / Guidance |
| --- | --- | --- | --- |
| A1 | Record a first passing run | [ ] | `loopkit run`, then `loopkit attempt add {item}` |
"""
MEMORY = """# Supervisor memory

## {date} — loopkit init
- Focus: {item} (Phase A1).
"""
MEMO = """Summary: first run of {item}: show that the project's own check passes.
Mode: TDD
Focus: {item} / Phase A1 — record a first passing run
Branch: {branch}
Mapped tests: none — evidence-only
Artifacts: reports/{slug}/
Do Now: {item} — `echo "replace this with the project's check"`
If Blocked: record the failure with loopkit attempt add and stop.

Priorities & Rationale:
- A first recorded run makes every later Attempt comparable.
- The run folder is the evidence the plan task cites.
- Nothing is marked done without a passing run.

How-To Map:
- `echo "replace this with the project's check"`
  Expect: rc=0

Pitfalls To Avoid:
- Do not mark A1 done by hand; use loopkit plan set with --evidence.
- Do not edit earlier Attempts; add new ones.
- Do not add files to a run folder after the run.
- Do not put prose on a command line.
- Do not reuse an Attempt number.

Next Up:
- Phase A task A1 of {plan}.
"""


def init_project(cfg: Config, item: str, title: str, slug: str, branch: str,
                 date: str) -> list[tuple[str, bool]]:
    """Write the missing documents; returns (path, written) for each of the five."""
    if not ITEM_ID_RE.fullmatch(item):
        raise LoopkitError(f"--item {item!r}: an item id looks like TOY-001")
    plan = f"plans/active/{slug}/plan.md"
    values = {"item": item, "title": title, "slug": slug, "branch": branch, "date": date,
              "plan": plan, "anchor": slugify(f"[{item}] {title}"), "ledger": cfg.paths.ledger,
              "memory": cfg.paths.memory, "memo": cfg.paths.memo}
    files = [("loopkit.toml", CONFIG), (cfg.paths.memo, MEMO), (cfg.paths.ledger, LEDGER),
             (plan, PLAN), (cfg.paths.memory, MEMORY)]
    done: list[tuple[str, bool]] = []
    for rel, template in files:
        path = inside(cfg.root, Path(rel), rel)
        if path.exists():
            done.append((rel, False))
            continue
        atomic_write(path, template.format(**values))
        done.append((rel, True))
    ignore_private_dir(cfg.root / ".loopkit")
    return done
