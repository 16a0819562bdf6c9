"""A golden case: one recorded run of the C program (a directory with ``case.yaml``).

``case.yaml`` (fields described in ``tests/golden/README.md``) records the exact nanoBragg
arguments, the image shape and which file holds which output; the outputs themselves lie beside
it. This is the one reader of that format: ``nb-compare --golden``, ``python -m
nanobragg.analysis``, the benchmarks and the tests all load a case through :class:`GoldenCase`,
so that a case is validated the same way wherever it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from nanobragg.errors import NanoBraggError
from nanobragg.io.raw import read_float_image

CASE_FILE = "case.yaml"


class GoldenCaseError(NanoBraggError):
    """``case.yaml`` is not valid YAML or lacks a field every case has (names the file)."""


class NotAGoldenCase(GoldenCaseError):
    """The directory holds no ``case.yaml`` (a usage mistake rather than a bad case)."""


@dataclass(frozen=True)
class GoldenCase:
    """A case directory; ``meta`` (the parsed ``case.yaml``) is read and checked on first use,
    so that listing the cases costs nothing."""

    path: Path

    @classmethod
    def load(cls, case_dir: Path) -> GoldenCase:
        """The case in ``case_dir``, validated now (:class:`NotAGoldenCase` without a
        ``case.yaml``, :class:`GoldenCaseError` for a bad one)."""
        case = cls(Path(case_dir))
        if not case.meta_path.is_file():
            raise NotAGoldenCase(f"{case_dir} is not a golden case directory (no {CASE_FILE})")
        case.meta  # noqa: B018 - parse and validate now, not at first use
        return case

    @property
    def meta_path(self) -> Path:
        return self.path / CASE_FILE

    @cached_property
    def meta(self) -> dict[str, Any]:
        """Every field of ``case.yaml`` (the typed properties below cover the common ones)."""
        return read_meta(self.meta_path)

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def recorded_id(self) -> str:
        """The ``id`` the case records (the directory name where it records none)."""
        return str(self.meta.get("id", self.path.name))

    @property
    def args(self) -> list[str]:
        """The nanoBragg arguments, verbatim, as strings."""
        return [str(a) for a in self.meta["args"]]

    @property
    def shape(self) -> tuple[int, int]:
        """``(slow, fast)`` of the full detector."""
        slow, fast = self.meta["shape"]
        return int(slow), int(fast)

    @property
    def outputs(self) -> dict[str, str]:
        """Output kind (``float``, ``int``, ``noise``, ``pgm``, ``trace``, ...) to file name."""
        return dict(self.meta["outputs"])

    @property
    def roi(self) -> tuple[int, int, int, int] | None:
        """``(xmin, xmax, ymin, ymax)``, inclusive, of a case run with ``-roi`` (else None)."""
        roi = self.meta.get("roi")
        if roi is None:
            return None
        return int(roi["xmin"]), int(roi["xmax"]), int(roi["ymin"]), int(roi["ymax"])

    @property
    def stores_crop(self) -> bool:
        """True when only the ROI crop of the float image is stored (``float_roi``)."""
        return "float" not in self.outputs and self.roi is not None

    def stored_part(self, image: np.ndarray) -> np.ndarray:
        """The part of a full [slow, fast] image that :meth:`float_image` holds."""
        if not self.stores_crop:
            return image
        x0, x1, y0, y1 = self.roi
        return image[y0:y1 + 1, x0:x1 + 1]

    def has(self, kind: str) -> bool:
        name = self.outputs.get(kind)
        return name is not None and (self.path / name).exists()

    def file(self, kind: str) -> Path:
        return self.path / self.meta["outputs"][kind]

    def float_image(self) -> np.ndarray:
        """The C float image, float32 [slow, fast]; for a cropped case (``float_roi``) the
        stored ROI crop."""
        if self.has("float"):
            return read_float_image(self.file("float"), self.shape)
        return np.load(self.file("float_roi"))


def read_meta(path: Path) -> dict[str, Any]:
    """A ``case.yaml``: a mapping with ``args`` (a list), ``shape`` (two integers) and
    ``outputs`` (a mapping); anything else is a :class:`GoldenCaseError` naming the file."""
    try:
        meta = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        where = getattr(exc, "problem_mark", None)
        line = f":{where.line + 1}" if where is not None else ""
        raise GoldenCaseError(
            f"{path}{line}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
        ) from None
    if not isinstance(meta, dict):
        raise GoldenCaseError(
            f"{path}: expected a mapping of case fields, got {type(meta).__name__}"
        )
    for key, kind, what in (("args", list, "a list of nanoBragg arguments"),
                            ("outputs", dict, "a mapping of output names to files")):
        if not isinstance(meta.get(key), kind):
            got = "nothing" if key not in meta else type(meta[key]).__name__
            raise GoldenCaseError(f"{path}: '{key}' must be {what}, got {got}")
    shape = meta.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2
            and all(isinstance(v, int) and v > 0 for v in shape)):
        raise GoldenCaseError(f"{path}: 'shape' must be two positive integers [slow, fast], "
                              f"got {shape!r}")
    return meta


def cases_in(directory: Path) -> list[GoldenCase]:
    """The case directories directly under ``directory``, by id."""
    found = (GoldenCase(p) for p in directory.iterdir() if (p / CASE_FILE).exists())
    return sorted(found, key=lambda c: c.id)
