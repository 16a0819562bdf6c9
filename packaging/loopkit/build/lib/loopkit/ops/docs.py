"""Load and save the loop documents under the repository root."""

from __future__ import annotations

import glob
from pathlib import Path

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.fsio import inside, read_document
from loopkit.model import Ledger, Plan
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.plan import parse_plan


def load_ledger(cfg: Config, rel: str | None = None) -> Ledger:
    path = cfg.path(rel or cfg.paths.ledger)
    if not path.is_file():
        raise LoopkitError(f"ledger not found: {path}")
    name = str(rel or cfg.paths.ledger)
    return parse_ledger(read_document(path, name), name)


def load_archive(cfg: Config) -> Ledger | None:
    path = cfg.path(cfg.paths.archive)
    if not path.is_file():
        return None
    return parse_ledger(read_document(path, cfg.paths.archive), cfg.paths.archive)


def _in_repo(cfg: Config, path: Path) -> bool:
    try:
        inside(cfg.root, path)
    except LoopkitError:
        return False
    return True


def plan_files(cfg: Config) -> list[Path]:
    """Plans matched by the configured globs; a match outside the repository (a ``..`` in
    the glob, a link out of it) is not a plan of this repository."""
    found: list[Path] = []
    for pattern in cfg.paths.plans:
        found += [Path(p) for p in sorted(glob.glob(str(cfg.root / pattern)))
                  if _in_repo(cfg, Path(p))]
    return list(dict.fromkeys(found))


def resolve_plan(cfg: Config, name: str) -> Path:
    """A plan path, or a slug such as ``cli-noise-pix0`` matched against the plan globs."""
    direct = cfg.root / name
    if direct.is_file():
        inside(cfg.root, direct, "plan")
        return direct
    for path in plan_files(cfg):
        slug = path.parent.name if path.name == "plan.md" else path.stem
        if slug == name:
            return path
    raise LoopkitError(f"plan {name!r} not found (looked in {cfg.paths.plans})")


def load_plan(cfg: Config, name: str) -> tuple[Path, Plan]:
    path = resolve_plan(cfg, name)
    rel = str(path.relative_to(cfg.root))
    return path, parse_plan(read_document(path, rel), rel)
