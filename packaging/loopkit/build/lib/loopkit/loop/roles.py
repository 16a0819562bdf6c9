"""Roles and loop settings: the ``[roles.NAME]`` and ``[loop]`` sections of ``loopkit.toml``.

A role is any program (an agent CLI, a script) with a timeout, the paths it may write
(globs; a leading ``!`` excludes) and its turn contract (names of checks in
:mod:`loopkit.loop.contracts`; an empty list means no contract). Nothing here is hard-coded
to a machine (§5.5 weakness 10): commands are shell lines run from the repository root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loopkit.errors import LoopkitError

JOURNAL = ".loopkit/turns.jsonl"
DEFAULT_PROTECTED = ["docs/index.md", "loop.sh", "supervisor.sh", "loopkit.toml"]


@dataclass
class RoleSpec:
    name: str
    command: str = ""
    timeout_s: float = 3600.0
    writes: list[str] = field(default_factory=list)
    contract: list[str] = field(default_factory=list)
    prompt: str | None = None  # a file given on stdin, or where the command says {prompt}

    def prompt_on_stdin(self) -> bool:
        return bool(self.prompt) and "{prompt}" not in self.command


@dataclass
class LoopSettings:
    order: list[str] = field(default_factory=lambda: ["supervisor", "engineer"])
    branch: str | None = None  # None: the branch checked out when the loop starts
    protected: list[str] = field(default_factory=lambda: list(DEFAULT_PROTECTED))
    allow_dirty: list[str] = field(default_factory=list)
    tolerance_patterns: list[str] = field(default_factory=lambda: [
        "atol=", "rtol=", "threshold", "pytest.mark.skip", "pytest.mark.xfail",
        "pytest.skip(", "pytest.xfail("])
    test_globs: list[str] = field(default_factory=lambda: ["tests/**"])
    max_full_suite_runs: int = 1
    max_consecutive_failures: int = 3
    log_max_bytes: int = 5 * 1024 * 1024
    kill_grace_s: float = 5.0
    git_timeout_s: float = 60.0
    push_retries: int = 3
    poll_s: float = 5.0
    max_wait_s: float = 3600.0


def default_roles(memo: str, ledger: str, memory: str) -> dict[str, RoleSpec]:
    """Supervisor: the memo, plans, ledger and memory. Engineer: everything but the memo."""
    return {
        "supervisor": RoleSpec(
            "supervisor", writes=[memo, "plans/**", ledger, memory],
            contract=["memo_lints", "memory_recap", "ledger_with_plan"]),
        "engineer": RoleSpec(
            "engineer", writes=["**", f"!{memo}"], contract=["run_and_attempt"]),
    }


ROLE_KEYS = {"command", "timeout_s", "writes", "contract", "prompt"}


def parse_role(name: str, data: dict[str, Any], base: RoleSpec | None, where: str) -> RoleSpec:
    unknown = set(data) - ROLE_KEYS
    if unknown:
        raise LoopkitError(f"{where} [roles.{name}]: unknown setting {sorted(unknown)[0]!r}")
    role = RoleSpec(name) if base is None else RoleSpec(
        name, base.command, base.timeout_s, list(base.writes), list(base.contract), base.prompt)
    if "command" in data:
        role.command = _typed(data["command"], str, where, name, "command")
    if "timeout_s" in data:
        value = data["timeout_s"]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise LoopkitError(f"{where} [roles.{name}] timeout_s: a positive number of seconds")
        role.timeout_s = float(value)
    for key in ("writes", "contract"):
        if key in data:
            value = data[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise LoopkitError(f"{where} [roles.{name}] {key}: a list of strings")
            setattr(role, key, list(value))
    if "prompt" in data:
        role.prompt = _typed(data["prompt"], str, where, name, "prompt")
    return role


def _typed(value: Any, kind: type, where: str, name: str, key: str) -> Any:
    if not isinstance(value, kind):
        raise LoopkitError(f"{where} [roles.{name}] {key}: expected a {kind.__name__}")
    return value


def parse_loop(settings: LoopSettings, data: dict[str, Any], where: str) -> None:
    for key, value in data.items():
        if not hasattr(settings, key):
            raise LoopkitError(f"{where} [loop]: unknown setting {key!r}")
        current = getattr(settings, key)
        if current is not None and not isinstance(value, type(current)) and not (
                isinstance(current, float) and isinstance(value, int)):
            raise LoopkitError(f"{where} [loop] {key}: expected a {type(current).__name__}")
        setattr(settings, key, value)


def check_roles(roles: dict[str, RoleSpec], settings: LoopSettings, where: str) -> None:
    for name in settings.order:
        if name not in roles:
            raise LoopkitError(f"{where} [loop] order: no role {name!r} (roles: "
                               f"{', '.join(sorted(roles))})")
    if not settings.order:
        raise LoopkitError(f"{where} [loop] order: names no role")


def build_roles(paths: Any, settings: LoopSettings, data: dict[str, Any],
                where: str) -> dict[str, RoleSpec]:
    """The default roles overlaid with ``[roles.NAME]`` tables (new names are new roles)."""
    roles = default_roles(paths.memo, paths.ledger, paths.memory)
    for name, table in data.items():
        if not isinstance(table, dict):
            raise LoopkitError(f"{where} [roles.{name}]: expected a table")
        roles[name] = parse_role(name, table, roles.get(name), where)
    check_roles(roles, settings, where)
    return roles
