"""Project policy: ``loopkit.toml`` (or ``loopkit.yaml``) with sensible defaults."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loopkit.errors import LoopkitError
from loopkit.fsio import inside
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
    #: names an Expect may compare (nb-compare's metrics.json keys by default)
    metrics: list[str] = field(default_factory=lambda: [
        "correlation", "rmse", "rmse_rel_max", "max_abs_diff", "rel_l2", "sum_c", "sum_py",
        "sum_ratio", "max_c", "max_py", "mean_c", "mean_py", "wall_time_c_s", "wall_time_py_s",
        "peak_distance", "max_distance_px", "matched", "speedup"])


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
class RunSettings:
    #: folders put first on the steps' PATH (relative ones from the root); none by default, so
    #: steps run the caller's own tools
    path_prepend: list[str] = field(default_factory=list)


@dataclass
class Steps:
    """Which How-To bullets are shell steps (``[steps]``)."""

    #: first words that make a bullet a shell step, besides loopkit's own list
    commands: list[str] = field(default_factory=list)
    #: "auto": the form (code span, ``$ ``, code block) or a command word; "marked": the form only
    detect: str = "auto"


@dataclass
class Records:
    """What a run records besides python and the platform (``[records]``)."""

    #: Python distributions whose versions are recorded, read in the steps' own python
    #: (``torch`` also gives its CUDA build)
    packages: list[str] = field(default_factory=list)
    #: variables that name programs (recorded with path and sha256) -> fallback paths
    binaries: dict[str, list[str]] = field(default_factory=dict)
    #: commands whose first output line is recorded, e.g. ``gcc --version``
    commands: list[str] = field(default_factory=list)


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
    run: RunSettings = field(default_factory=RunSettings)
    steps: Steps = field(default_factory=Steps)
    records: Records = field(default_factory=Records)
    loop: LoopSettings = field(default_factory=LoopSettings)
    roles: dict[str, RoleSpec] = field(default_factory=dict)
    source: Path | None = None

    def path(self, rel: str) -> Path:
        """A document path from the config, refused when it (or a link on the way) leaves
        the repository."""
        inside(self.root, Path(rel), f"{self.source.name if self.source else 'path'} path")
        return self.root / rel


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list of strings"
    return "a table"


def _fits(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, str):
        return isinstance(value, str)
    if isinstance(default, list):
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return isinstance(value, dict)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_value(where: str, key: str, default: Any, value: Any) -> None:
    """One line naming the file, table and key when a value has the wrong type."""
    if not _fits(default, value):
        raise LoopkitError(f"{where} {key}: expected {_kind(default)}, got {_shown(value)}")


def _table(where: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise LoopkitError(f"{where}: expected a table, got {_shown(value)}")
    return value


def _merge(obj: Any, data: Any, where: str) -> None:
    for key, value in _table(where, data).items():
        if not hasattr(obj, key):
            raise LoopkitError(f"{where}: unknown setting {key!r}")
        default = getattr(obj, key)
        check_value(where, key, default, value)
        if isinstance(default, float) and not isinstance(default, bool):
            value = float(value)
        elif isinstance(default, dict):
            value = {str(k): _string_list(f"{where} {key}.{k}", v) for k, v in value.items()}
        setattr(obj, key, value)


def _string_list(where: str, value: Any) -> list[str]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise LoopkitError(f"{where}: expected a list of strings, got {_shown(value)}")
    return values


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
              "env_snapshot": cfg.env_snapshot, "run": cfg.run, "steps": cfg.steps,
              "records": cfg.records}
    for key, value in data.items():
        if key in simple:
            _merge(simple[key], value, f"{where} [{key}]")
        elif key == "env_profiles":
            for name, prof in _table(f"{where} [env_profiles]", value).items():
                cfg.env_profiles[name] = _profile(f"{where} [env_profiles.{name}]", prof)
        elif key == "c_bin_candidates":  # older spelling of [records] binaries.NB_C_BIN
            cfg.records.binaries["NB_C_BIN"] = _string_list(f"{where} c_bin_candidates", value)
        elif key == "loop":
            parse_loop(cfg.loop, _table(f"{where} [loop]", value), where)
        elif key == "roles":
            roles = _table(f"{where} [roles]", value)
        else:
            raise LoopkitError(f"{where}: unknown section {key!r}")
    if cfg.steps.detect not in ("auto", "marked"):
        raise LoopkitError(f"{where} [steps] detect: expected 'auto' or 'marked', got "
                           f"{cfg.steps.detect!r}")
    return roles


def _profile(where: str, data: Any) -> EnvProfile:
    profile = EnvProfile()
    for key, value in _table(where, data).items():
        if key == "set":
            profile.set = {str(k): str(v) for k, v in _table(f"{where} set", value).items()}
        elif key == "fail_on_skip":
            check_value(where, key, False, value)
            profile.fail_on_skip = value
        else:
            raise LoopkitError(f"{where}: unknown setting {key!r}")
    return profile
