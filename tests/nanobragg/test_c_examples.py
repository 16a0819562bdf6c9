"""The C program's own usage examples (its header comment, example.com, its README) run through
nanobragg with the C program's meaning, verbatim.

``tests/golden/c_examples`` holds, per example, C's stdout and the sha256 of its float image
(``scripts/make_c_examples.py``). Offline: nanobragg's set-up block (every parameter C derived
from the flags: cell, misset, divergence and dispersion steps, sources, detector) equals C's
line for line; heavy: the rendered float64 image is C's bit for bit and the whole stdout
matches. Live (``NB_C_BIN``): the same against a fresh C run.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from golden_cases import DATA_DIR, GOLDEN_DIR

from nanobragg.cli.args import parse_args
from nanobragg.cli.main import main
from nanobragg.golden import GoldenCase
from nanobragg.simulator import Simulator

EXAMPLES_DIR = GOLDEN_DIR / "c_examples"
SPEC = yaml.safe_load((EXAMPLES_DIR / "examples.yaml").read_text())
EXAMPLES = SPEC["examples"]
IDS = [e["id"] for e in EXAMPLES]
#: the flags of these examples that C ignores (no C test matches them)
C_IGNORES = {"-dispstep", "-hdiv", "-vdiv"}


def _inputs(run_dir: Path) -> Path:
    run_dir.mkdir(exist_ok=True)
    for name, data_name in SPEC["inputs"].items():
        (run_dir / name).symlink_to(DATA_DIR / data_name)
    return run_dir


def _args(example: dict) -> list[str]:
    return shlex.split(example["args"])


def _comparable(stdout: str) -> list[str]:
    """stdout lines without C's progress meter (nanobragg's is on stderr) and without the lines
    that depend on the time-of-day seed. Blank lines are left out too: with its meter on, C
    ends the interpolation warning with the first ``0% done`` and prints the newline that
    would have ended it as a blank line after the meter."""
    lines = []
    for line in stdout.splitlines():
        line = re.sub(r"(?<=printed! )\d+% done$", "", line)
        if re.fullmatch(r"\d+% done|", line):
            continue
        if line.startswith("  seed: ") or " photons on noise image " in line:
            continue
        lines.append(line)
    return lines


def _setup_block(lines: list[str]) -> list[str]:
    end = next(i for i, line in enumerate(lines) if line.endswith("pixel oversample steps"))
    return lines[:end + 1]


def _our_setup(example: dict, run_dir: Path) -> tuple[list[str], list[str]]:
    parsed = parse_args(_args(example), cwd=run_dir, env={})
    lines: list[str] = []
    Simulator(parsed.simulation, cwd=run_dir, log=lines.append)
    return lines, parsed.notices


def _c_stdout(example_id: str) -> str:
    return (EXAMPLES_DIR / example_id / "stdout.log").read_text()


def test_every_example_is_recorded():
    assert sorted(IDS) == sorted(p.name for p in EXAMPLES_DIR.iterdir() if p.is_dir())
    for example_id in IDS:
        meta = GoldenCase.load(EXAMPLES_DIR / example_id).meta
        digest = hashlib.sha256((EXAMPLES_DIR / example_id / "stdout.log").read_bytes())
        assert meta["sha256"]["stdout.log"] == digest.hexdigest()


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_setup_equals_what_c_derived_from_the_flags(example, tmp_path):
    ours, notices = _our_setup(example, _inputs(tmp_path / "py"))
    assert ours == _setup_block(_comparable(_c_stdout(example["id"])))
    ignored = {t for t in _args(example) if t in C_IGNORES}
    assert {n.split("'")[1].split()[0] for n in notices} == ignored  # one notice per token
    assert all(n.startswith("ignored '") for n in notices)


@pytest.mark.heavy
@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_render_equals_c_image_and_stdout(example, tmp_path, monkeypatch, capsys):
    meta = GoldenCase.load(EXAMPLES_DIR / example["id"]).meta
    monkeypatch.chdir(_inputs(tmp_path / "py"))
    assert main(["-dtype", "float64", *_args(example)]) == 0
    assert _comparable(capsys.readouterr().out) == _comparable(_c_stdout(example["id"]))
    image = np.fromfile(tmp_path / "py" / "floatimage.bin", dtype="<f4")
    assert image.size == meta["shape"][0] * meta["shape"][1]
    assert hashlib.sha256(image.tobytes()).hexdigest() == meta["float_image"]["sha256"]


def _live_c(example: dict, run_dir: Path) -> str:
    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        pytest.skip("NB_C_BIN is not set: no C nanoBragg binary for the live check")
    done = subprocess.run([c_bin, *_args(example)], cwd=_inputs(run_dir), capture_output=True,
                          text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    return done.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_live_setup_equals_c(example, tmp_path):
    c_lines = _comparable(_live_c(example, tmp_path / "c"))
    assert c_lines == _comparable(_c_stdout(example["id"]))  # the vendored output is C's
    ours, _ = _our_setup(example, _inputs(tmp_path / "py"))
    assert ours == _setup_block(c_lines)


@pytest.mark.heavy
@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_live_render_equals_c(example, tmp_path, monkeypatch, capsys):
    c_stdout = _live_c(example, tmp_path / "c")
    monkeypatch.chdir(_inputs(tmp_path / "py"))
    assert main(["-dtype", "float64", *_args(example)]) == 0
    assert _comparable(capsys.readouterr().out) == _comparable(c_stdout)
    for name in ("floatimage.bin", "intimage.img", "image.pgm"):
        assert (tmp_path / "py" / name).read_bytes() == (tmp_path / "c" / name).read_bytes()
