"""Two clones, one remote: fast-forward pulls, rebases of loopkit's own commits, bounded
push retries, never a merge commit (§5.5 weakness 5: ``pull --no-rebase`` fallbacks left 41
merge commits and a rejected push went unnoticed while the agent ran).
"""

from __future__ import annotations

from dataclasses import dataclass

from loopkit.git import NETWORK_TIMEOUT_S, Git, GitError


@dataclass
class Sync:
    git: Git
    remote: str
    branch: str
    retries: int = 3

    @property
    def remote_ref(self) -> str:
        return f"refs/remotes/{self.remote}/{self.branch}"

    def fetch(self) -> str | None:
        """Fetch the loop branch; the remote's tip, or None when it has no such branch."""
        self.git.run("fetch", "-q", "--no-tags", self.remote,
                     f"+refs/heads/{self.branch}:{self.remote_ref}", timeout_s=NETWORK_TIMEOUT_S,
                     check=False)
        out = self.git.run("rev-parse", "-q", "--verify", self.remote_ref, check=False)
        if out.returncode != 0:
            probe = self.git.run("ls-remote", "--heads", self.remote, self.branch,
                                 timeout_s=NETWORK_TIMEOUT_S)
            if probe.stdout.strip():
                raise GitError(f"git fetch {self.remote} {self.branch} failed")
            return None
        return out.stdout.strip()

    def pull(self) -> str:
        """Bring the remote's turns in. Returns what happened, in words."""
        theirs = self.fetch()
        ours = self.git.head()
        if theirs is None or theirs == ours or self.git.is_ancestor(theirs, ours or ""):
            return "up to date"
        if ours is None or self.git.is_ancestor(ours, theirs):
            self.git.run("merge", "-q", "--ff-only", theirs)
            return f"fast-forwarded to {theirs[:10]}"
        own = self.git.run("rev-list", f"{theirs}..{ours}").stdout.split()
        foreign = [sha for sha in own if not self._is_loopkit_commit(sha)]
        if foreign:
            raise GitError(f"{self.branch} and {self.remote}/{self.branch} diverged and local "
                           f"commit {foreign[0][:10]} is not a loopkit turn: loopkit rebases "
                           "only its own commits; reconcile by hand")
        out = self.git.run("rebase", "-q", theirs, check=False, env=self._rebase_env())
        if out.returncode != 0:
            self.git.run("rebase", "--abort", check=False)
            raise GitError(f"rebasing {len(own)} loopkit commit(s) onto {self.remote}/"
                           f"{self.branch} conflicted; aborted, nothing changed: "
                           f"{(out.stderr or out.stdout).strip().splitlines()[-1:]}")
        return f"rebased {len(own)} loopkit commit(s) onto {theirs[:10]}"

    def _rebase_env(self) -> dict[str, str]:
        return {"GIT_EDITOR": "true", "GIT_SEQUENCE_EDITOR": "true", **self.git.identity_env()}

    def _is_loopkit_commit(self, sha: str) -> bool:
        out = self.git.run("log", "-1", "--format=%(trailers:key=Loopkit-Turn,valueonly)", sha)
        return bool(out.stdout.strip())

    def push(self) -> tuple[int, list[str]]:
        """Push HEAD; on rejection pull (rebase) and retry, at most ``retries`` times."""
        notes: list[str] = []
        for attempt in range(self.retries + 1):
            out = self.git.run("push", "-q", "--porcelain", self.remote,
                               f"HEAD:refs/heads/{self.branch}", check=False,
                               timeout_s=NETWORK_TIMEOUT_S)
            if out.returncode == 0:
                return attempt, notes
            message = (out.stderr.strip() or out.stdout.strip()).splitlines()
            notes.append(f"push {attempt + 1} rejected: {message[-1] if message else '?'}")
            if attempt < self.retries:
                notes.append(self.pull())
        raise GitError(f"push to {self.remote}/{self.branch} rejected {self.retries + 1} "
                       f"times ({'; '.join(notes[-2:])}); the commits stay local and the "
                       "next loop pushes them")

    def pending(self) -> bool:
        head = self.git.head()
        out = self.git.run("rev-parse", "-q", "--verify", self.remote_ref, check=False)
        return head is not None and (out.returncode != 0 or out.stdout.strip() != head)
