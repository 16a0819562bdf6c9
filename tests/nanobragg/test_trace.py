"""TRACE_PY lines against the golden TRACE_C lines of every traced case (float64, 1e-9)."""

from __future__ import annotations

import os

import pytest
import torch
from golden_cases import DATA_DIR, all_cases

from nanobragg.cli.args import parse_args
from nanobragg.simulator import Simulator

TRACED = [c for c in all_cases() if c.has("trace")]


def _parse(lines: list[str], prefix: str) -> list[tuple[str, list[str]]]:
    out = []
    for line in lines:
        if line.startswith(f"{prefix}: "):
            name, *values = line[len(prefix) + 2 :].split()
            out.append((name, values))
        elif line.startswith(f"{prefix}_PHI "):
            fields = dict(kv.split("=") for kv in line.split()[1:])
            tic = fields.pop("phi_tic")
            out.extend((f"PHI[{tic}].{k}", [v]) for k, v in fields.items())
    return out


def _close(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    return abs(x - y) <= 1e-9 * max(abs(x), abs(y)) or abs(x - y) < 1e-12


@pytest.mark.parametrize("case", TRACED, ids=[c.id for c in TRACED])
def test_trace_matches_c(case, tmp_path):
    (tmp_path / "data").symlink_to(DATA_DIR, target_is_directory=True)
    config = parse_args(case.args, cwd=tmp_path).simulation
    config.dtype = torch.float64
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        sim = Simulator(config, cwd=tmp_path)
        sim.run(trace_pixel=tuple(case.meta["trace_pixel"]))
    finally:
        os.chdir(cwd)
    ours = _parse(sim.trace, "TRACE_PY")
    theirs = _parse(case.file("trace").read_text().splitlines(), "TRACE_C")
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    for (name, mine), (_, ref) in zip(ours, theirs, strict=True):
        assert len(mine) == len(ref), name
        assert all(_close(a, b) for a, b in zip(mine, ref, strict=True)), (name, mine, ref)
