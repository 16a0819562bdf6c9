"""Two clones and a local bare remote, one role on each: linear history, no merge commit,
no lost turn."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lk_helpers import git
from loop_helpers import journal, lk, lk_cmd, lk_env, make_repo, merge_commits


def test_two_clones_ten_turns_linear_history(tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    sup = make_repo(tmp_path / "sup")
    git(sup, "remote", "add", "origin", str(remote))
    git(sup, "push", "-q", "origin", "main")
    eng = tmp_path / "eng"
    git(tmp_path, "clone", "-q", str(remote), str(eng))
    procs = [subprocess.Popen(lk_cmd(root, "loop", "--sync", "origin", "--role", role,
                                     "--turns", "5"), env=lk_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for root, role in ((eng, "engineer"), (sup, "supervisor"))]
    outputs = [p.communicate(timeout=240)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert "waiting for engineer's turn" in outputs[0]
    for root in (sup, eng):
        git(root, "fetch", "-q", "origin")
        assert merge_commits(root) == 0
        assert lk(root, "check", "--turns").exit_code == 0
    tip = git(remote, "rev-parse", "main").strip()
    assert git(eng, "rev-parse", "HEAD").strip() == tip
    git(sup, "merge", "-q", "--ff-only", "origin/main")
    records = journal(sup)
    assert [r["turn"] for r in records] == list(range(1, 11))
    assert [r["role"] for r in records] == ["supervisor", "engineer"] * 5
    assert all(r["verdict"] == "ok" for r in records)
    history = git(remote, "rev-list", "--parents", "main").splitlines()
    assert all(len(line.split()) <= 2 for line in history)  # every commit has one parent
    assert len(history) == 11
    assert sorted(p.name for p in (eng / "work").glob("t*.txt")) == \
        sorted(f"t{n}.txt" for n in range(2, 11, 2))
