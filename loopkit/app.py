"""Shared CLI context: repository root, config, clock and console."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console

from loopkit.clock import utc_now
from loopkit.config import Config, load_config
from loopkit.errors import LoopkitError
from loopkit.git import Git


@dataclass
class App:
    cfg: Config
    now: datetime
    console: Console
    now_override: str | None = None

    @property
    def root(self) -> Path:
        return self.cfg.root


def find_root(start: Path) -> Path:
    return Git(start).toplevel() or start


def parse_now(raw: str | None) -> datetime:
    """One clock read per invocation; ``--now`` (ISO 8601) overrides it for tests."""
    return utc_now(raw)


def make_app(root: str | None, now: str | None) -> App:
    if root and not Path(root).is_dir():
        raise LoopkitError(f"--root {root}: no such directory")
    base = Path(root).resolve() if root else find_root(Path.cwd())
    return App(cfg=load_config(base), now=parse_now(now), console=Console(soft_wrap=True),
               now_override=now)


pass_app = click.make_pass_decorator(App)
