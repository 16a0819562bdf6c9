"""What a run records about its tools, as ``[records]`` in loopkit.toml asks.

Always: python (the steps' own ``python``, found on their PATH, and loopkit's) and the platform.
Configured: package versions (read with ``importlib.metadata`` in the steps' python, never by
importing them; ``torch`` also gives its CUDA build), programs named by variables with their
path and sha256 (``NB_C_BIN`` with fallback paths), and the first output line of commands.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from loopkit.config import Config
from loopkit.fsio import sha256_file

PROBE_TIMEOUT_S = 30.0
#: run by the steps' python: versions without importing anything
PROBE = r"""
import importlib.metadata as md, importlib.util, json, pathlib, re, sys
out = {"python": sys.version.split()[0], "executable": sys.executable, "packages": {}}
for name in sys.argv[1:]:
    try:
        out["packages"][name] = md.version(name)
    except md.PackageNotFoundError:
        out["packages"][name] = None
    if name == "torch":
        spec = importlib.util.find_spec("torch")
        cuda = None
        if spec is not None and spec.submodule_search_locations:
            version_py = pathlib.Path(list(spec.submodule_search_locations)[0], "version.py")
            try:
                found = re.search(r"^cuda\s*(?::[^=]*)?=\s*['\"]([^'\"]*)", version_py.read_text(),
                                  re.M)
                cuda = found.group(1) if found else None
            except OSError:
                pass
        out["cuda"] = cuda
print(json.dumps(out))
"""


def steps_python(env: dict[str, str]) -> str | None:
    """The ``python`` a step would run (``python3`` when there is no ``python``)."""
    path = env.get("PATH", "")
    return shutil.which("python", path=path) or shutil.which("python3", path=path)


def probe_python(root: Path, env: dict[str, str], packages: list[str]) -> dict[str, Any]:
    python = steps_python(env)
    if python is not None:
        try:
            out = subprocess.run([python, "-c", PROBE, *packages], cwd=root, env=env,
                                 capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
                                 check=False)
            if out.returncode == 0:
                return json.loads(out.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.TimeoutExpired, ValueError, IndexError):
            pass
    return {"python": None, "executable": python, "packages": {p: None for p in packages},
            "probe": "the steps' python could not be run"}


def resolve_binary(root: Path, env: dict[str, str], name: str,
                   fallbacks: list[str]) -> dict[str, Any]:
    """``$NAME`` first, then the fallbacks (relative to the root): path and sha256."""
    candidates = ([env[name]] if env.get(name) else []) + fallbacks
    for cand in candidates:
        path = Path(cand) if os.path.isabs(cand) else root / cand
        if "/" not in cand and not path.is_file():
            found = shutil.which(cand, path=env.get("PATH", ""))
            path = Path(found) if found else path
        if path.is_file():
            return {"path": cand, "sha256": sha256_file(path),
                    "source": name if env.get(name) == cand else "default"}
    return {"path": None, "sha256": None, "searched": candidates}


def first_line(root: Path, env: dict[str, str], command: str) -> str | None:
    try:
        out = subprocess.run(["bash", "-c", command], cwd=root, env=env, capture_output=True,
                             text=True, timeout=PROBE_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0] if text else None


def tool_versions(root: Path, env: dict[str, str], cfg: Config) -> dict[str, Any]:
    wanted = cfg.records
    probe = probe_python(root, env, wanted.packages)
    tools: dict[str, Any] = {
        "python": probe.get("python"),
        "python_executable": probe.get("executable"),
        "loopkit_python": sys.executable,
        "platform": platform.platform(),
        "packages": probe.get("packages", {}),
    }
    if "torch" in wanted.packages:
        tools["cuda"] = probe.get("cuda")
    tools["binaries"] = {name: resolve_binary(root, env, name, fallbacks)
                         for name, fallbacks in wanted.binaries.items()}
    if wanted.commands:
        tools["commands"] = {cmd: first_line(root, env, cmd) for cmd in wanted.commands}
    return tools
