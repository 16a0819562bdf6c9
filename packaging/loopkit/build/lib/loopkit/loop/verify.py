"""``check --turns``: the journal against the commits that carry it.

Each journal record is added by exactly one commit, and that commit's trailers name the same
turn, role and verdict; every commit with a ``Loopkit-Turn`` trailer is such a commit; the
journal only ever grows; no turn commit is a merge. A commit that claims a turn the journal
does not hold (a forged handoff, §5.5 weakness 8) or a turn whose commit is missing is
reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from loopkit.git import Git
from loopkit.loop.journal import parse_journal
from loopkit.loop.roles import JOURNAL

SEP, END = "\x1f", "\x1e"
LOG_FORMAT = (f"%H{SEP}%P{SEP}%(trailers:key=Loopkit-Turn,valueonly,separator=%x2C){SEP}"
              f"%(trailers:key=Loopkit-Role,valueonly,separator=%x2C){SEP}"
              f"%(trailers:key=Loopkit-Verdict,valueonly,separator=%x2C){END}")


@dataclass
class TurnCommit:
    sha: str
    parents: list[str]
    turn: str
    role: str
    verdict: str


@dataclass
class TurnCheck:
    records: list[dict[str, Any]]
    commits: dict[int, list[str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def turn_commits(git: Git, rev: str = "HEAD") -> list[TurnCommit]:
    raw = git.run("log", f"--format={LOG_FORMAT}", rev).stdout
    found = []
    for chunk in raw.split(END):
        parts = chunk.strip("\n").split(SEP)
        if len(parts) == 5 and parts[2].strip():
            sha, parents, turn, role, verdict = (p.strip() for p in parts)
            found.append(TurnCommit(sha, parents.split(), turn, role, verdict))
    return found


def journal_additions(git: Git, rev: str = "HEAD") -> dict[str, tuple[list[int], int]]:
    """For each commit that changed the journal: (turns it added, lines it removed)."""
    raw = git.run("log", "-p", "-U0", "--no-renames", "--format=%x1e%H", rev, "--",
                  JOURNAL).stdout
    changes: dict[str, tuple[list[int], int]] = {}
    for chunk in raw.split(END)[1:]:
        lines = chunk.strip("\n").splitlines()
        added, removed = [], 0
        for line in lines[1:]:
            if line.startswith("+") and not line.startswith("+++"):
                try:
                    added.append(int(json.loads(line[1:])["turn"]))
                except (ValueError, KeyError, TypeError):
                    added.append(-1)
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        changes[lines[0].strip()] = (added, removed)
    return changes


def check_turns(git: Git, rev: str = "HEAD") -> TurnCheck:
    text = git.show(rev, JOURNAL)
    result = TurnCheck(parse_journal(text, JOURNAL) if text else [])
    by_turn = {r["turn"]: r for r in result.records}
    additions = journal_additions(git, rev)
    for c in turn_commits(git, rev):
        where = f"commit {c.sha[:10]}"
        if not c.turn.isdigit() or int(c.turn) not in by_turn:
            result.problems.append(f"{where} claims turn {c.turn} that the journal does not hold")
            continue
        rec = by_turn[int(c.turn)]
        result.commits.setdefault(rec["turn"], []).append(c.sha)
        if (c.role, c.verdict) != (rec["role"], rec["verdict"]):
            result.problems.append(f"{where} says turn {c.turn} was {c.role} {c.verdict}; the "
                                   f"journal says {rec['role']} {rec['verdict']}")
        if len(c.parents) > 1:
            result.problems.append(f"{where} (turn {c.turn}) is a merge commit")
        if additions.get(c.sha, ([], 0))[0] != [rec["turn"]]:
            result.problems.append(f"{where} claims turn {c.turn} but does not add its journal "
                                   "record")
    _journal_side(result, additions)
    return result


def _journal_side(result: TurnCheck, additions: dict[str, tuple[list[int], int]]) -> None:
    claimed = {sha for shas in result.commits.values() for sha in shas}
    for sha, (added, removed) in additions.items():
        if removed:
            result.problems.append(f"commit {sha[:10]} removed or rewrote {removed} journal "
                                   "line(s); the journal is append-only")
        if added and sha not in claimed:
            result.problems.append(f"commit {sha[:10]} adds journal record(s) for turn(s) "
                                   f"{', '.join(map(str, added))} without being their turn "
                                   "commit")
    for rec in result.records:
        shas = result.commits.get(rec["turn"], [])
        if not shas:
            result.problems.append(f"turn {rec['turn']} ({rec['role']}): no commit carries it")
        elif len(shas) > 1:
            result.problems.append(f"turn {rec['turn']} is claimed by {len(shas)} commits: "
                                   f"{', '.join(s[:10] for s in shas)}")


def turn_rows(git: Git, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Journal records with ``commit`` (the commit holding the turn's files; null when they
    were not committed) and ``journal_commit`` (the commit holding the record)."""
    commits: dict[int, str] = {}
    for c in turn_commits(git):
        if c.turn.isdigit():
            commits.setdefault(int(c.turn), c.sha)
    rows = []
    for rec in records:
        sha = commits.get(rec["turn"])
        committed_files = rec["verdict"] == "ok" and bool(rec.get("files"))
        rows.append({**rec, "commit": sha if committed_files else None, "journal_commit": sha})
    return rows
