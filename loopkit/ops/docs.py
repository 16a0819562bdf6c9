"""Load and save the loop documents under the repository root."""

from __future__ import annotations

import glob
from pathlib import Path

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import read_text
from loopkit.model import Ledger, Plan
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.plan import parse_plan


def load_ledger(cfg: Config, rel: str | None = None) -> Ledger:
    path = cfg.path(rel or cfg.paths.ledger)
    if not path.is_file():
        raise LoopkitError(f"ledger not found: {path}")
    return parse_ledger(read_text(path), str(rel or cfg.paths.ledger))


def load_archive(cfg: Config) -> Ledger | None:
    path = cfg.path(cfg.paths.archive)
    if not path.is_file():
        return None
    return parse_ledger(read_text(path), cfg.paths.archive)


def plan_files(cfg: Config) -> list[Path]:
    found: list[Path] = []
    for pattern in cfg.paths.plans:
        found += [Path(p) for p in sorted(glob.glob(str(cfg.root / pattern)))]
    return list(dict.fromkeys(found))


def resolve_plan(cfg: Config, name: str) -> Path:
    """A plan path, or a slug such as ``cli-noise-pix0`` matched against the plan globs."""
    direct = cfg.root / name
    if direct.is_file():
        return direct
    for path in plan_files(cfg):
        slug = path.parent.name if path.name == "plan.md" else path.stem
        if slug == name:
            return path
    raise LoopkitError(f"plan {name!r} not found (looked in {cfg.paths.plans})")


def load_plan(cfg: Config, name: str) -> tuple[Path, Plan]:
    path = resolve_plan(cfg, name)
    return path, parse_plan(read_text(path), str(path.relative_to(cfg.root)))
