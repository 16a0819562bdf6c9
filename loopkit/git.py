"""Every git command loopkit runs goes through :class:`Git` (the loop, the gate, ``commit``,
run snapshots and evidence checks alike).

Each call has a timeout, and a non-zero exit is an error naming the command and git's own
message (§5.5 weakness 5: errors of ``add``, ``commit`` and ``push`` were ignored). Hooks are
disabled and the output is machine-readable (``-z`` where paths are listed), so an agent can
neither sabotage a commit through ``.git/hooks`` nor confuse the parser with odd file names.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopkit.errors import LoopkitError

GIT_TIMEOUT_S = 60.0
NETWORK_TIMEOUT_S = 120.0
FALLBACK_IDENTITY = ("loopkit", "loopkit@localhost")


class GitError(LoopkitError):
    """A git command failed or ran past its timeout."""


@dataclass(frozen=True)
class StatusEntry:
    """One changed path of ``git status --porcelain -z`` (``orig`` for renames)."""

    code: str
    path: str
    orig: str | None = None


class Git:
    def __init__(self, root: Path, timeout_s: float = GIT_TIMEOUT_S) -> None:
        self.root = root
        self.timeout_s = timeout_s

    def _env(self, extra: dict[str, str] | None) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_LITERAL_PATHSPECS": "1", "LC_ALL": "C"})
        env.update(extra or {})
        return env

    def run(self, *args: str, timeout_s: float | None = None, check: bool = True,
            input_text: str | None = None, env: dict[str, str] | None = None,
            errors: str | None = None) -> subprocess.CompletedProcess[str]:
        """``git args`` as text; ``errors`` is the decoding policy (strict by default)."""
        out = self._exec(args, timeout_s, input_text, env, text=True, errors=errors)
        if check and out.returncode != 0:
            message = (out.stderr.strip() or out.stdout.strip()).splitlines()
            raise GitError(f"git {' '.join(args[:3])} failed (exit {out.returncode}): "
                           f"{message[-1] if message else 'no message'}")
        return out

    def _exec(self, args: tuple[str, ...], timeout_s: float | None, input_text: str | None,
              env: dict[str, str] | None, text: bool, errors: str | None = None
              ) -> subprocess.CompletedProcess[Any]:
        cmd = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.quotepath=off", *args]
        limit = timeout_s or self.timeout_s
        decode: dict[str, Any] = {"text": True, "errors": errors} if text else {}
        if text and errors is not None:
            decode["encoding"] = "utf-8"
        try:
            return subprocess.run(cmd, cwd=self.root, capture_output=True, input=input_text,
                                  timeout=limit, env=self._env(env), check=False, **decode)
        except subprocess.TimeoutExpired as exc:
            raise GitError(f"git {' '.join(args[:3])}: no answer after {limit:g} s") from exc
        except OSError as exc:
            raise GitError(f"git could not be started: {exc}") from exc

    def output(self, *args: str, strip: bool = True, timeout_s: float | None = None,
               errors: str | None = None) -> str | None:
        """The output of a query, or None when git fails, is missing or does not answer (a
        snapshot or a hint, where no answer is an answer)."""
        try:
            out = self.run(*args, timeout_s=timeout_s, check=False, errors=errors)
        except GitError:
            return None
        if out.returncode != 0:
            return None
        return out.stdout.strip() if strip else out.stdout

    def show_bytes(self, rev: str, rel: str) -> bytes | None:
        """``rev:rel`` byte for byte (None when it is not there)."""
        try:
            out = self._exec(("show", f"{rev}:{rel}"), None, None, None, text=False)
        except GitError:
            return None
        return out.stdout if out.returncode == 0 else None

    def ok(self, *args: str, timeout_s: float | None = None) -> bool:
        return self.run(*args, timeout_s=timeout_s, check=False).returncode == 0

    def head(self) -> str | None:
        out = self.run("rev-parse", "-q", "--verify", "HEAD^{commit}", check=False)
        return out.stdout.strip() if out.returncode == 0 else None

    def comparable(self, rev: str) -> str:
        """``rev`` for a diff; ``HEAD`` of a repository with no commit yet is the empty tree
        (everything in the work tree is then new)."""
        if rev != "HEAD" or self.head() is not None:
            return rev
        return self.run("hash-object", "-t", "tree", "--stdin", input_text="").stdout.strip()

    def branch(self) -> str | None:
        out = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return out.stdout.strip() if out.returncode == 0 else None

    def git_dir(self) -> Path:
        raw = self.run("rev-parse", "--git-dir").stdout.strip()
        return (self.root / raw).resolve()

    def status(self) -> list[StatusEntry]:
        """Changed, new and deleted paths (untracked files one by one; ignored ones left out)."""
        raw = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all").stdout
        parts = raw.split("\0")
        entries: list[StatusEntry] = []
        i = 0
        while i < len(parts) and parts[i]:
            code, path = parts[i][:2], parts[i][3:]
            if "R" in code or "C" in code:
                entries.append(StatusEntry(code, path, parts[i + 1]))
                i += 2
            else:
                entries.append(StatusEntry(code, path))
                i += 1
        return entries

    def show(self, rev: str, rel: str) -> str | None:
        out = self.run("show", f"{rev}:{rel}", check=False)
        return out.stdout if out.returncode == 0 else None

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.ok("merge-base", "--is-ancestor", older, newer)

    def identity_env(self) -> dict[str, str]:
        """A committer identity for repositories that have none configured."""
        if self.ok("config", "user.email") and self.ok("config", "user.name"):
            return {}
        name, email = FALLBACK_IDENTITY
        return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email}

    def stage_exactly(self, paths: list[str]) -> None:
        """Make the index equal to HEAD plus exactly ``paths`` (changes, new files, deletions).

        ``paths`` are exact file paths (from ``status`` or written by loopkit), so ``-f`` adds
        only them, even where an ignore rule of the user's would hide loopkit's own files."""
        self.run("reset", "-q")
        if paths:
            self.add_exact(paths)

    def add_exact(self, paths: list[str], env: dict[str, str] | None = None) -> None:
        self.run("add", "-A", "-f", "--pathspec-from-file=-", "--pathspec-file-nul",
                 input_text="\0".join(paths) + "\0", env=env)

    def toplevel(self) -> Path | None:
        """The work tree's top folder, or None outside a repository."""
        found = self.output("rev-parse", "--show-toplevel")
        return Path(found) if found else None

    def paths(self, *args: str) -> list[str]:
        """The NUL-separated path list of a ``-z`` query (``ls-files``, ``diff --name-only``)."""
        return [p for p in self.run(*args, "-z").stdout.split("\0") if p]

    def staged(self) -> list[str]:
        raw = self.run("diff", "--cached", "--name-only", "-z", "--no-renames").stdout
        return sorted(p for p in raw.split("\0") if p)

    def commit(self, message: str, verbatim: bool = False) -> str:
        """Commit the index; ``verbatim`` keeps the message byte for byte (no comment or
        blank-line clean-up)."""
        cleanup = ["--cleanup=verbatim"] if verbatim else []
        self.run("commit", "-q", "--no-verify", *cleanup, "-F", "-", input_text=message,
                 env=self.identity_env())
        sha = self.head()
        if sha is None:
            raise GitError("git commit left no HEAD")
        return sha
