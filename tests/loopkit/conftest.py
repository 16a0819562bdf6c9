"""Shared fixtures for the loopkit tests: fixture documents and a throwaway git repository."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from lk_helpers import K3G3_LEDGER, K3G3_MEMO, MEMORY, PIX0_PLAN, VEC_PLAN, Invoke, git

from loopkit.cli import cli


@pytest.fixture(autouse=True)
def _python_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Steps call ``pytest``/``python``: make them the interpreter running the tests."""
    bindir = str(Path(sys.executable).parent)
    monkeypatch.setenv("PATH", bindir + os.pathsep + os.environ.get("PATH", ""))
    # pytest runs started by memo steps skip the slow-to-import hypothesis plugin
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:hypothesispytest -p no:cacheprovider")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo laid out like the reference project at the K3g3 commit."""
    root = tmp_path / "repo"
    (root / "docs").mkdir(parents=True)
    (root / "plans/active/cli-noise-pix0").mkdir(parents=True)
    shutil.copy(K3G3_LEDGER, root / "docs/fix_plan.md")
    shutil.copy(PIX0_PLAN, root / "plans/active/cli-noise-pix0/plan.md")
    shutil.copy(VEC_PLAN, root / "plans/active/vectorization.md")
    shutil.copy(MEMORY, root / "galph_memory.md")
    shutil.copy(K3G3_MEMO, root / "input.md")
    git(root, "init", "-q", "-b", "feature/spec-based-2")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "K3g3 state")
    return root



@pytest.fixture
def lk(repo: Path) -> Invoke:
    """Run the loopkit CLI against ``repo`` in-process."""

    def invoke(*args: str, now: str = "2025-10-06T17:26:53Z") -> Result:
        runner = CliRunner()
        return runner.invoke(cli, ["--root", str(repo), "--now", now, *args],
                             catch_exceptions=False)

    return invoke
