"""Paths of the fixture documents (verbatim copies of ../shared/fixtures) and small helpers."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

FIXTURES = Path(__file__).resolve().parent / "fixtures"
K3G3_MEMO = FIXTURES / "02_2025-10-06_34b0645a_K3g3-steering-expect-lines.md"
K3G3_LEDGER = FIXTURES / "fix_plan_34b0645a_k3g3.md"
FINAL_LEDGER = FIXTURES / "fix_plan_8b8c48d0_final.md"
PIX0_PLAN = FIXTURES / "cli-noise-pix0_plan_34b0645a.md"
VEC_PLAN = FIXTURES / "vectorization_34b0645a.md"
MEMORY = FIXTURES / "galph_memory_34b0645a.md"
MEMOS = sorted(FIXTURES.glob("0[1-4]_*.md"))


def git(root: Path, *args: str) -> str:
    out = subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                         cwd=root, capture_output=True, text=True, check=True)
    return out.stdout



Invoke = Callable[..., Result]
