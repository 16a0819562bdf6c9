"""Every documented example runs, verbatim: the code blocks of README.md and docs/*.md that are
marked ``<!-- runnable -->`` (the line before the fence).

Python blocks of one file run in order in one namespace (later blocks use earlier names); shell
blocks run with bash in a scratch directory that sees the repository's ``tests/`` (golden cases
and their data), with this environment's console scripts first on PATH. A python block, or a
block of this project's commands without placeholders, that is not marked is an error here, so
examples cannot drift out of the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
MARK = "<!-- runnable -->"
OUR_COMMANDS = ("nanobragg ", "nanobragg-series ", "nb-compare ", "nb-trace-diff ",
                "python -m nanobragg")
PLACEHOLDER = re.compile(r"\.\.\.|/path/to|<[a-z]|\[--|STAMP")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    lang: str
    text: str
    runnable: bool

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def code_blocks(path: Path) -> list[Block]:
    blocks, lines = [], path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start, lang = i, lines[i][3:].strip()
            marked = start > 0 and lines[start - 1].strip() == MARK
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                i += 1
            blocks.append(Block(path, start + 1, lang, "\n".join(lines[start + 1:i]), marked))
        i += 1
    return blocks


ALL = [b for path in DOCS for b in code_blocks(path)]
SHELL = [b for b in ALL if b.runnable and b.lang in ("", "sh", "bash", "console")]
PYTHON_FILES = sorted({b.path for b in ALL if b.runnable and b.lang == "python"})


def _is_our_command_example(block: Block) -> bool:
    commands = [ln.strip() for ln in block.text.splitlines()
                if ln.strip() and not ln.startswith((" ", "#"))]
    return (bool(commands) and all(c.startswith(OUR_COMMANDS) for c in commands)
            and not PLACEHOLDER.search(block.text))


def test_examples_are_marked_and_found():
    unmarked = [b.id for b in ALL if not b.runnable
                and (b.lang == "python" or _is_our_command_example(b))]
    assert unmarked == []
    assert len(SHELL) >= 4 and len(PYTHON_FILES) >= 2


def _env() -> dict[str, str]:
    """This environment's console scripts first on PATH; the dtype as the examples say."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("NB_PYTORCH_DTYPE", None)
    return env


@pytest.fixture()
def scratch(tmp_path, monkeypatch):
    (tmp_path / "tests").symlink_to(ROOT / "tests", target_is_directory=True)
    (tmp_path / "data").symlink_to(ROOT / "tests" / "golden" / "data", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("block", SHELL, ids=[b.id for b in SHELL])
def test_shell_example_runs(block, scratch):
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", block.text], cwd=scratch, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("path", PYTHON_FILES, ids=[str(p.relative_to(ROOT)) for p in PYTHON_FILES])
def test_python_examples_run(path, scratch):
    namespace: dict = {"__name__": "__doc_example__"}
    for block in code_blocks(path):
        if block.runnable and block.lang == "python":
            exec(compile(block.text, block.id, "exec"), namespace)  # noqa: S102


def test_engine_first_example_is_the_golden_memo_case(scratch):
    """docs/engine.md says its first example is tests/golden/memo_512, equal to C's float.bin."""
    first = next(b for b in code_blocks(ROOT / "docs" / "engine.md") if b.lang == "python")
    namespace: dict = {}
    exec(compile(first.text, first.id, "exec"), namespace)  # noqa: S102
    gold = np.fromfile(ROOT / "tests" / "golden" / "memo_512" / "float.bin", dtype="<f4")
    ours = namespace["image"].to(torch.float32).numpy()
    np.testing.assert_array_equal(ours, gold.reshape(512, 512))


def _usage_params():
    from nanobragg.cli.usage import EXAMPLES

    slow = "-phisteps 5"  # 50 terms on 1024x1024 pixels: half a minute on 2 cores
    return [pytest.param(command, marks=[pytest.mark.heavy] if slow in command else [],
                         id=what[:40]) for what, command in EXAMPLES]


@pytest.mark.parametrize("command", _usage_params())
def test_help_example_runs(command, scratch):
    """The worked examples of ``nanobragg -h``; their input names are the golden data's."""
    (scratch / "A.mat").symlink_to(ROOT / "tests" / "golden" / "data" / "A.mat")
    (scratch / "P1.hkl").symlink_to(ROOT / "tests" / "golden" / "data" / "small_P1.hkl")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], cwd=scratch, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "warning" not in done.stderr
