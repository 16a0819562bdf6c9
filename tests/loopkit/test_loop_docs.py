"""The worked example of docs/loopkit.md ("The loop") runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from lk_helpers import git
from loop_helpers import REPO_ROOT, journal, lk, make_repo

DOC = REPO_ROOT / "docs/loopkit.md"


def _example() -> tuple[str, str]:
    text = DOC.read_text()
    toml = re.search(r"<!-- example: loop.toml -->\n```toml\n(.*?)```", text, re.S).group(1)
    session = text[text.index("$ loopkit loop --turns 4"):]
    return toml, session[:session.index("```")]


def test_worked_example_runs_as_documented(tmp_path: Path) -> None:
    toml, session = _example()
    root = make_repo(tmp_path / "r", toml)
    result = lk(root, "loop", "--turns", "4")
    assert result.exit_code == 0
    documented = session.split("$ loopkit turns")[0].splitlines()[1:]
    assert result.output.splitlines() == [line for line in documented if line]
    message = session.split("$ git log -1 --format=%B\n")[1].split("$ ")[0].rstrip("\n")
    assert git(root, "log", "-1", "--format=%B").rstrip("\n") == message
    check = session.split("$ loopkit check --turns\n")[1].strip()
    assert lk(root, "check", "--turns").output.strip() == check
    listing = lk(root, "turns").output.splitlines()
    assert re.match(r"\s+1 \S+Z supervisor\s+ok\s+\d+\.\ds\s+1 file\(s\) [0-9a-f]{10}\s+no "
                    r"contract$", listing[0])


def test_documented_failure_of_an_engineer_that_writes_the_memo(tmp_path: Path) -> None:
    toml, _ = _example()
    toml = toml.replace("mkdir -p work && echo done > work/t$LOOPKIT_TURN.txt",
                        "echo hack > input.md")
    root = make_repo(tmp_path / "r", toml)
    assert lk(root, "loop", "--turns", "2").exit_code == 0
    rec = journal(root)[1]
    assert (rec["verdict"], rec["reason"]) == ("failed", "wrote outside its paths: input.md")
    assert git(root, "log", "-1", "--format=%s").strip() == \
        "loopkit turn 2: engineer failed (0 file(s))"
    assert git(root, "show", "loopkit/aside/turn-0002:input.md") == "hack\n"
