"""Issue 11: loopkit installs on its own, without the simulator and torch.

The distribution in ``packaging/loopkit`` is built into a wheel here (no network, no build
isolation); its metadata must not require torch, it must hold loopkit and nothing else, and
the CLI run from the unpacked wheel must work without importing torch or nanobragg.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import sys
from click.testing import CliRunner
import loopkit
from loopkit.cli import cli
assert loopkit.__file__.startswith(sys.argv[1]), loopkit.__file__
root = sys.argv[2]
for args in (["--help"], ["init", "--item", "TOY-001"], ["memo", "lint"], ["run"]):
    result = CliRunner().invoke(cli, ["--root", root, *args], catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "nanobragg", "numpy"))
print("leaked:", leaked)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-q", str(REPO / "packaging/loopkit"),
                            "-w", str(out)], capture_output=True, text=True, timeout=300)
    if built.returncode != 0 and "No module named pip" in built.stderr:
        pytest.skip("pip is not installed in this interpreter: cannot build the wheel")
    assert built.returncode == 0, built.stderr
    return next(out.glob("loopkit-*.whl"))


def test_the_loopkit_distribution_does_not_require_torch(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines()
                if line.startswith("Requires-Dist:")]
    assert not any(r.lower().startswith(("torch", "numpy", "nanobragg")) for r in requires)
    assert 'matplotlib>=3.7; extra == "plot"' in requires
    packaged = {n for n in names if not n.split("/")[0].endswith(".dist-info")}
    source = {p.relative_to(REPO).as_posix() for p in (REPO / "loopkit").rglob("*.py")}
    assert packaged == source


def test_the_unpacked_wheel_runs_without_importing_torch(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    project = tmp_path / "toy"
    project.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=project, check=True)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(site), "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", PROBE, str(site), str(project)], env=env,
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "leaked: []" in out.stdout
