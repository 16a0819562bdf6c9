"""Access to the vendored golden cases of the C program (tests/golden).

Every case directory holds ``case.yaml`` and the C outputs; input files live in
``tests/golden/data`` and are referred to as ``data/<name>`` in the case arguments, exactly as
the C program was run (cwd with a ``data`` link).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from nanobragg.golden import GoldenCase as _Case
from nanobragg.golden import cases_in

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
DATA_DIR = GOLDEN_DIR / "data"


class GoldenCase(_Case):
    """The package's case model plus the test-only readers of its outputs."""

    def smv(self, kind: str) -> tuple[dict[str, str], np.ndarray]:
        """Header dict and uint16 [slow, fast] data of ``int`` or ``noise``."""
        raw = self.file(kind).read_bytes()
        slow, fast = self.shape
        n = 2 * slow * fast
        text = raw[: len(raw) - n].decode("latin-1")
        header = dict(re.findall(r"(\w+)=([^;\n]*)", text))
        data = np.frombuffer(raw[len(raw) - n :], dtype="<u2").reshape(slow, fast)
        return header, data

    def trace_values(self) -> dict[str, list[float]]:
        """Per-pixel ``TRACE_C: name v...`` values (last occurrence wins)."""
        values: dict[str, list[float]] = {}
        for line in self.file("trace").read_text().splitlines():
            if line.startswith("TRACE_C: "):
                parts = line.split()
                values[parts[1]] = [float(x) for x in parts[2:]]
        return values


def all_cases() -> list[GoldenCase]:
    return [GoldenCase(c.path) for c in cases_in(GOLDEN_DIR)]


def case(case_id: str) -> GoldenCase:
    return GoldenCase(GOLDEN_DIR / case_id)
