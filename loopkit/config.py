"""Project policy: ``loopkit.toml`` (or ``loopkit.yaml``) with sensible defaults."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loopkit.errors import LoopkitError
from loopkit.loop.roles import LoopSettings, RoleSpec, build_roles, parse_loop

CONFIG_NAMES = ("loopkit.toml", "loopkit.yaml", "loopkit.yml")


@dataclass
class Paths:
    ledger: str = "docs/fix_plan.md"
    archive: str = "docs/fix_plan_archive.md"
    memory: str = "galph_memory.md"
    memo: str = "input.md"
    reports: str = "reports"
    plans: list[str] = field(
        default_factory=lambda: ["plans/active/*/plan.md", "plans/active/*.md"])


@dataclass
class Vocab:
    status: list[str] = field(
        default_factory=lambda: ["pending", "in_planning", "in_progress", "blocked", "done"])
    priority: list[str] = field(default_factory=lambda: ["Critical", "High", "Medium", "Low"])
    result: list[str] = field(
        default_factory=lambda: ["success", "partial", "failed", "blocked", "planning"])
    task_state: list[str] = field(default_factory=lambda: [" ", "P", "D", "B", "SKIP"])
    action_state: list[str] = field(
        default_factory=lambda: ["gathering_evidence", "planning", "ready_for_implementation"])
    action_type: list[str] = field(
        default_factory=lambda: ["Evidence", "Debug", "Planning", "Review", "Docs"])
    mode: list[str] = field(default_factory=lambda: ["TDD", "Parity", "Perf", "Docs", "none"])


@dataclass
class Budgets:
    ledger_bytes: int = 131072
    item_bytes: int = 24576
    attempt_bytes: int = 3072
    max_line_chars: int = 400
    step_timeout_s: float = 1800.0


@dataclass
class EnvProfile:
    set: dict[str, str] = field(default_factory=dict)
    fail_on_skip: bool = False


@dataclass
class EnvSnapshot:
    allow: list[str] = field(default_factory=lambda: [
        "KMP_DUPLICATE_LIB_OK", "NB_*", "NANOBRAGG_*", "CUDA_VISIBLE_DEVICES", "PYTHONPATH",
        "PYTEST_ADDOPTS", "OMP_*", "MKL_*"])
    redact: list[str] = field(default_factory=lambda: [
        "*KEY*", "*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*CREDENTIAL*"])


@dataclass
class Config:
    root: Path
    paths: Paths = field(default_factory=Paths)
    vocab: Vocab = field(default_factory=Vocab)
    budgets: Budgets = field(default_factory=Budgets)
    env_profiles: dict[str, EnvProfile] = field(default_factory=lambda: {
        "parity": EnvProfile(set={"KMP_DUPLICATE_LIB_OK": "TRUE", "NB_RUN_PARALLEL": "1"},
                             fail_on_skip=True)})
    env_snapshot: EnvSnapshot = field(default_factory=EnvSnapshot)
    c_bin_candidates: list[str] = field(
        default_factory=lambda: ["./golden_suite_generator/nanoBragg", "./nanoBragg"])
    loop: LoopSettings = field(default_factory=LoopSettings)
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    source: Path | None = None

    def path(self, rel: str) -> Path:
        return self.root / rel


def _merge(obj: Any, data: dict[str, Any], where: str) -> None:
    for key, value in data.items():
        if not hasattr(obj, key):
            raise LoopkitError(f"{where}: unknown setting {key!r}")
        setattr(obj, key, value)


def load_config(root: Path) -> Config:
    """Load the first config file found in ``root``; defaults when there is none."""
    cfg = Config(root=root)
    roles: dict[str, Any] = {}
    for name in CONFIG_NAMES:
        candidate = root / name
        if candidate.is_file():
            roles = _apply(cfg, _read(candidate), candidate.name)
            cfg.source = candidate
            break
    where = cfg.source.name if cfg.source else "loopkit.toml"
    cfg.roles = build_roles(cfg.paths, cfg.loop, roles, where)
    return cfg


def _read(path: Path) -> dict[str, Any]:
    try:
        if path.suffix == ".toml":
            return tomllib.loads(path.read_text(encoding="utf-8"))
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        raise LoopkitError(f"{path}: invalid config: {exc}") from exc
    if not isinstance(data, dict):
        raise LoopkitError(f"{path}: config must be a mapping")
    return data


def _apply(cfg: Config, data: dict[str, Any], where: str) -> dict[str, Any]:
    """Apply every section but ``[roles]``, which is returned (its defaults need the paths)."""
    roles: dict[str, Any] = {}
    simple = {"paths": cfg.paths, "vocab": cfg.vocab, "budgets": cfg.budgets,
              "env_snapshot": cfg.env_snapshot}
    for key, value in data.items():
        if key in simple:
            _merge(simple[key], dict(value), f"{where} [{key}]")
        elif key == "env_profiles":
            for name, prof in dict(value).items():
                cfg.env_profiles[name] = EnvProfile(
                    set={k: str(v) for k, v in dict(prof.get("set", {})).items()},
                    fail_on_skip=bool(prof.get("fail_on_skip", False)))
        elif key == "c_bin_candidates":
            cfg.c_bin_candidates = [str(v) for v in value]
        elif key == "loop":
            parse_loop(cfg.loop, dict(value), where)
        elif key == "roles":
            roles = dict(value)
        else:
            raise LoopkitError(f"{where}: unknown section {key!r}")
    return roles
