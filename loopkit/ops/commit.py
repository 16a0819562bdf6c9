"""``commit``: stage only loopkit's documents, cited run folders and named paths."""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field

from loopkit.config import Config
from loopkit.errors import LoopkitError, RefusedError
from loopkit.git import Git
from loopkit.ops.docs import plan_files
from loopkit.ops.gate import cited_runs
from loopkit.ops.overrides import overrides_rel
from loopkit.run.record import find_run
from loopkit.scrub import Redactor, clean_text, file_findings

FORBIDDEN = ("Generated with [Claude Code]", "🤖")


@dataclass
class CommitRequest:
    message: str
    actor: str | None = None
    focus: str | None = None
    runs: list[str] = field(default_factory=list)
    attempt: int | None = None
    include: list[str] = field(default_factory=list)
    base: str = "HEAD"


def commit_message(req: CommitRequest, redact: list[str] | None = None) -> str:
    """The message with its Loopkit-* trailers; with ``redact`` (the secret-name patterns),
    secrets of the environment and token shapes in the free text are redacted."""
    if redact is not None:
        req = CommitRequest(clean_text(req.message, redact, multiline=True),
                            clean_text(req.actor, redact) if req.actor else None,
                            clean_text(req.focus, redact) if req.focus else None,
                            req.runs, req.attempt, req.include)
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
    """loopkit's documents, the override record, the run folders named with --run and those
    that the turn's new Attempts and done flips cite (a clone must find every cited run), and
    the --include paths."""
    paths = [cfg.paths.ledger, cfg.paths.archive, cfg.paths.memory, cfg.paths.memo,
             overrides_rel(cfg)]
    paths += [str(p.relative_to(cfg.root)) for p in plan_files(cfg)]
    for run_id in dict.fromkeys([*req.runs, *cited_runs(cfg, req.base)]):
        paths.append(str(find_run(cfg.root, cfg.paths.reports, run_id).parent
                         .relative_to(cfg.root)))
    return paths + list(req.include)


def make_commit(cfg: Config, req: CommitRequest) -> tuple[str, list[str]]:
    """Stage the changed, new and deleted files under loopkit's paths and commit them.

    Refused when the index already holds staged changes elsewhere: they would ride along in a
    commit that claims to carry only loopkit's documents.
    """
    message = commit_message(req, cfg.env_snapshot.redact)
    git = Git(cfg.root, cfg.loop.git_timeout_s)
    wanted = candidate_paths(cfg, req)

    def ours(path: str) -> bool:  # a named path, below one, or a plan (even a deleted one)
        return (any(path == w or path.startswith(w.rstrip("/") + "/") for w in wanted)
                or any(fnmatch.fnmatchcase(path, pattern) for pattern in cfg.paths.plans))

    already = _staged_paths(git)
    foreign = sorted(p for p in already if not ours(p))
    if foreign:
        raise RefusedError(f"refused: the index already holds staged changes outside loopkit's "
                           f"paths: {', '.join(foreign[:5])} (commit or unstage them first)")
    unstaged = ("diff", "--name-only", "--no-renames")  # the work tree against the index
    deleted = sorted(p for p in git.paths(*unstaged, "--diff-filter=D") if ours(p))
    changed = sorted({p for p in git.paths(*unstaged, "--diff-filter=d") if ours(p)}
                     | {p for p in git.paths("ls-files", "--others", "--exclude-standard")
                        if ours(p)})
    if not (deleted or changed or already):
        raise LoopkitError("nothing to commit among loopkit's documents and named paths")
    _refuse_secrets(cfg, sorted(set(changed) | already))
    if changed or deleted:
        git.add_exact(changed + deleted)
    sha = git.commit(message, verbatim=True)
    return sha, sorted(set(changed) | set(deleted) | set(already))


def _refuse_secrets(cfg: Config, paths: list[str]) -> None:
    """No file that holds a secret of the environment, a token or a secret-named assignment
    is committed (a raw env dump passed with --include, a hand-edited run file)."""
    redactor = Redactor(dict(os.environ), cfg.env_snapshot.redact)
    leaking = [p for p in paths if (cfg.root / p).is_file() and not (cfg.root / p).is_symlink()
               and file_findings(cfg.root / p, redactor)]
    if leaking:
        raise RefusedError(f"refused: {', '.join(leaking[:5])} hold(s) a secret (a token, a "
                           "password or a secret value of the environment); redact it, or "
                           "leave the file out of the commit")


def _staged_paths(git: Git) -> set[str]:
    """Paths whose index entry differs from HEAD (all of them before the first commit)."""
    if git.head() is None:
        return set(git.paths("ls-files"))
    return set(git.paths("diff", "--cached", "--name-only", "--no-renames"))
