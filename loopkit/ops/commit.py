"""``commit``: stage only loopkit's documents, cited run folders and named paths."""

from __future__ import annotations

from dataclasses import dataclass, field

import git

from loopkit.config import Config
from loopkit.errors import LoopkitError, RefusedError
from loopkit.ops.docs import plan_files
from loopkit.runrecord import find_run

FORBIDDEN = ("Generated with [Claude Code]", "🤖")


@dataclass
class CommitRequest:
    message: str
    actor: str | None = None
    focus: str | None = None
    runs: list[str] = field(default_factory=list)
    attempt: int | None = None
    include: list[str] = field(default_factory=list)


def commit_message(req: CommitRequest) -> str:
    for bad in FORBIDDEN:
        if bad in req.message:
            raise RefusedError(f"refused: commit message contains {bad!r}")
    trailers = []
    if req.actor:
        trailers.append(f"Loopkit-Actor: {req.actor}")
    if req.focus:
        trailers.append(f"Loopkit-Focus: {req.focus}")
    trailers += [f"Loopkit-Run: {r}" for r in req.runs]
    if req.attempt is not None:
        trailers.append(f"Loopkit-Attempt: {req.attempt}")
    body = req.message.strip()
    return body + ("\n\n" + "\n".join(trailers) if trailers else "") + "\n"


def candidate_paths(cfg: Config, req: CommitRequest) -> list[str]:
    paths = [cfg.paths.ledger, cfg.paths.archive, cfg.paths.memory, cfg.paths.memo]
    paths += [str(p.relative_to(cfg.root)) for p in plan_files(cfg)]
    for run_id in req.runs:
        paths.append(str(find_run(cfg.root, cfg.paths.reports, run_id).parent
                         .relative_to(cfg.root)))
    return paths + list(req.include)


def make_commit(cfg: Config, req: CommitRequest) -> tuple[str, list[str]]:
    message = commit_message(req)
    repo = git.Repo(cfg.root)
    changed = {item.a_path for item in repo.index.diff(None)} | set(repo.untracked_files)
    wanted = candidate_paths(cfg, req)
    stage = sorted(p for p in changed
                   if any(p == w or p.startswith(w.rstrip("/") + "/") for w in wanted))
    if not stage:
        raise LoopkitError("nothing to commit among loopkit's documents and named paths")
    repo.index.add(stage)
    sha = repo.index.commit(message).hexsha
    return sha, stage
