"""Supervisor overrides (``plan set … D --force``) are recorded where ``check`` can find them.

A ``FORCED`` note in a plan cell is only honoured when ``plan set --force`` wrote it: each
override appends one JSON line to ``<reports>/loopkit/overrides.jsonl`` (committed with the
plan). A ``FORCED`` typed into a cell by hand has no such line, and ``check`` rejects it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from loopkit.config import Config
from loopkit.fsio import atomic_write, locked, read_text


def overrides_rel(cfg: Config) -> str:
    return f"{cfg.paths.reports}/loopkit/overrides.jsonl"


def load_overrides(cfg: Config) -> list[dict[str, Any]]:
    path = cfg.path(overrides_rel(cfg))
    if not path.is_file():
        return []
    records = []
    for line in read_text(path).splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


def record_override(cfg: Config, record: dict[str, Any]) -> None:
    path: Path = cfg.path(overrides_rel(cfg))
    with locked(path):
        old = read_text(path) if path.is_file() else ""
        if old and not old.endswith("\n"):
            old += "\n"
        atomic_write(path, old + json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")


def is_recorded(cfg: Config, plan_rel: str, task_id: str, guidance: str) -> bool:
    """Whether ``plan set --force`` wrote the FORCED note now in this task's cell."""
    return any(r.get("plan") == plan_rel and r.get("task") == task_id
               and r.get("note") and r["note"] in guidance for r in load_overrides(cfg))
