"""Access to the vendored golden cases of the C program (tests/golden).

Every case directory holds ``case.yaml`` and the C outputs; input files live in
``tests/golden/data`` and are referred to as ``data/<name>`` in the case arguments, exactly as
the C program was run (cwd with a ``data`` link).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import yaml

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
DATA_DIR = GOLDEN_DIR / "data"


@dataclass(frozen=True)
class GoldenCase:
    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @cached_property
    def meta(self) -> dict:
        return yaml.safe_load((self.path / "case.yaml").read_text())

    @property
    def args(self) -> list[str]:
        return list(self.meta["args"])

    @property
    def shape(self) -> tuple[int, int]:
        slow, fast = self.meta["shape"]
        return int(slow), int(fast)

    def has(self, kind: str) -> bool:
        name = self.meta["outputs"].get(kind)
        return name is not None and (self.path / name).exists()

    def file(self, kind: str) -> Path:
        return self.path / self.meta["outputs"][kind]

    def float_image(self) -> np.ndarray:
        """[slow, fast] float32 image written by ``-floatfile`` (ROI crop for pilatus_roi)."""
        if self.has("float"):
            return np.fromfile(self.file("float"), dtype="<f4").reshape(self.shape)
        return np.load(self.file("float_roi"))

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
    return sorted(
        (GoldenCase(p) for p in GOLDEN_DIR.iterdir() if (p / "case.yaml").exists()),
        key=lambda c: c.id,
    )


def case(case_id: str) -> GoldenCase:
    return GoldenCase(GOLDEN_DIR / case_id)
