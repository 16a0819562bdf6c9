"""loopkit.toml / loopkit.yaml, env profiles, Do Now runs, kill -9 of a run, fixture copies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lk_helpers import FIXTURES, Invoke

from loopkit.config import load_config
from loopkit.errors import LoopkitError

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures"
REPO_CONFIG = Path(__file__).resolve().parents[2] / "loopkit.toml"


def test_defaults_without_config(tmp_path: Path) -> None:
    cfg = load_config(tmp_path)
    assert cfg.source is None
    assert cfg.paths.ledger == "docs/fix_plan.md"
    assert cfg.env_profiles["parity"].set == {"KMP_DUPLICATE_LIB_OK": "TRUE",
                                              "NB_RUN_PARALLEL": "1"}


def test_toml_and_yaml_config(tmp_path: Path) -> None:
    (tmp_path / "loopkit.toml").write_text(
        '[paths]\nledger = "ledger.md"\n[vocab]\nmode = ["Parity"]\n'
        '[env_profiles.fast]\nset = { NB_FAST = "1" }\nfail_on_skip = true\n')
    cfg = load_config(tmp_path)
    assert (cfg.paths.ledger, cfg.vocab.mode) == ("ledger.md", ["Parity"])
    assert cfg.env_profiles["fast"].fail_on_skip is True
    (tmp_path / "loopkit.toml").unlink()
    (tmp_path / "loopkit.yaml").write_text("budgets:\n  step_timeout_s: 5\n")
    assert load_config(tmp_path).budgets.step_timeout_s == 5
    (tmp_path / "loopkit.yaml").write_text("nonsense: 1\n")
    with pytest.raises(LoopkitError, match="unknown section 'nonsense'"):
        load_config(tmp_path)


MEMO = """Summary: s
Mode: Docs
Focus: CLI-FLAGS-003
Artifacts: reports/2025-10-loopkit/phase_p/
Do Now: CLI-FLAGS-003 — echo "profile=$NB_RUN_PARALLEL"
How-To Map:
- sleep 5
  Expect: rc=0
"""


def test_env_profile_and_do_now_only(repo: Path, lk: Invoke) -> None:
    (repo / "m.md").write_text(MEMO)
    result = lk("run", "m.md", "--do-now-only", "--env-profile", "parity")
    # the How-To step was left out, so the run is a subset: partial evidence (exit 3)
    assert result.exit_code == 3, result.output
    run_dir = repo / "reports/2025-10-loopkit/phase_p/20251006T172653Z"
    assert (run_dir / "steps/00.out").read_text() == "profile=1\n"
    run = json.loads((run_dir / "run.json").read_text())
    assert run["env"]["NB_RUN_PARALLEL"] == "1"
    assert run["selection"]["subset"] is True and run["verdict"] == "partial"
    assert "export NB_RUN_PARALLEL=1" in (run_dir / "commands.txt").read_text()
    assert lk("run", "m.md", "--env-profile", "nope").exit_code == 1


def test_kill_9_of_a_run_leaves_an_aborted_record(repo: Path) -> None:
    (repo / "m.md").write_text(MEMO.replace("sleep 5", "sleep 2"))
    proc = subprocess.Popen([sys.executable, "-m", "loopkit", "--root", str(repo), "run",
                             "m.md"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = repo / "reports/2025-10-loopkit/phase_p"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list(root.glob("*/steps/01.sh")):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    run = json.loads(next(root.glob("*/run.json")).read_text())
    assert run["verdict"] == "aborted" and run["complete"] is False
    assert run["steps"][0]["cmd"] == "sleep 2"


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/fixtures not present")
def test_fixture_copies_are_verbatim() -> None:
    copies = {p.name: p for p in FIXTURES.glob("*.md")}
    originals = {p.name: p for p in SHARED.rglob("*.md") if p.name != "README.md"}
    assert set(copies) == set(originals)
    assert all(copies[n].read_bytes() == originals[n].read_bytes() for n in copies)


@pytest.mark.parametrize(("prefix", "root"), [
    ("02", "reports/2025-10-cli-flags/phase_k/f_latt_fix"),
    ("03", "reports/2025-10-cli-flags/phase_l/scaling_validation"),
    ("04", "reports/2026-01-test-suite-refresh/phase_m"),
    ("01", "reports/loopkit"),
])
def test_run_root_from_memo_artifacts(prefix: str, root: str) -> None:
    from lk_helpers import MEMOS

    from loopkit.fsio import read_text
    from loopkit.parsers.memo import parse_memo
    from loopkit.run.plan import memo_run_root

    path = next(p for p in MEMOS if p.name.startswith(prefix))
    assert memo_run_root(parse_memo(read_text(path)), "reports/loopkit") == root


@pytest.mark.parametrize("bad", ["reports/x/reports/y", "reports/$STAMP", "/abs/reports",
                                 "reports/../../etc", "reports/<stamp>"])
def test_run_root_validation(bad: str) -> None:
    from loopkit.run.plan import validate_run_root

    with pytest.raises(LoopkitError):
        validate_run_root(bad)


def test_c_binary_and_versions_recorded(repo: Path, lk: Invoke,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """This repository's loopkit.toml records torch, its CUDA build and NB_C_BIN."""
    import hashlib
    import shutil

    shutil.copy(REPO_CONFIG, repo / "loopkit.toml")
    binary = repo / "golden_suite_generator" / "nanoBragg"
    binary.parent.mkdir()
    binary.write_bytes(b"\x7fELF fake C binary")
    monkeypatch.delenv("NB_C_BIN", raising=False)
    (repo / "m.md").write_text(MEMO)
    lk("run", "m.md", "--do-now-only")
    run = json.loads(next((repo / "reports").rglob("run.json")).read_text())
    c_bin = run["tools"]["binaries"]["NB_C_BIN"]
    assert c_bin["path"] == "./golden_suite_generator/nanoBragg"
    assert c_bin["sha256"] == hashlib.sha256(b"\x7fELF fake C binary").hexdigest()
    assert run["tools"]["python"] == sys.version.split()[0]
    from importlib.metadata import version
    assert run["tools"]["packages"]["torch"] == version("torch")
    assert "cuda" in run["tools"]


def test_a_new_project_records_what_its_config_names(repo: Path, lk: Invoke) -> None:
    """Without [records], a run notes python and the platform only; a project names its own
    binary (TOY_C_BIN) and commands."""
    (repo / "m.md").write_text(MEMO)
    lk("run", "m.md", "--do-now-only")
    tools = json.loads(next((repo / "reports").rglob("run.json")).read_text())["tools"]
    assert (tools["packages"], tools["binaries"], "cuda" in tools) == ({}, {}, False)
    toy = repo / "bin" / "toy"
    toy.parent.mkdir()
    toy.write_text("#!/bin/sh\necho toy 1.0\n")
    toy.chmod(0o755)
    (repo / "loopkit.toml").write_text(
        '[records]\nbinaries = { TOY_C_BIN = ["bin/toy"] }\ncommands = ["bin/toy --version"]\n')
    lk("run", "m.md", "--do-now-only")
    runs = sorted((repo / "reports").rglob("run.json"))
    tools = json.loads(runs[-1].read_text())["tools"]
    assert tools["binaries"]["TOY_C_BIN"]["path"] == "bin/toy"
    assert tools["commands"] == {"bin/toy --version": "toy 1.0"}
    assert "NB_C_BIN" not in tools["binaries"]
