"""The command line against every golden case: same files and same stdout as the C program.

``nanobragg <case args> -dtype float64`` runs in a clean directory; int.img, noise.img and
image.pgm must be byte-identical to C's, float.bin within one float32 ulp of C's double, and
stdout line-for-line equal (except C's ``mmap(...) = 0x...`` heap addresses).
"""

from __future__ import annotations

import numpy as np
import pytest
from golden_cases import DATA_DIR, all_cases

from nanobragg.cli.main import main

CASES = all_cases()


def _stdout_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("mmap(")]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_reproduces_c_files_and_stdout(case, tmp_path, monkeypatch, capsys):
    (tmp_path / "data").symlink_to(DATA_DIR, target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    assert main([*case.args, "-dtype", "float64"]) == 0
    stdout = capsys.readouterr().out
    assert _stdout_lines(stdout) == _stdout_lines(case.file("stdout").read_text())
    for kind in ("int", "noise", "pgm"):
        if case.has(kind):
            ours = (tmp_path / case.meta["outputs"][kind]).read_bytes()
            assert ours == case.file(kind).read_bytes(), f"{kind} differs"
    if case.has("float"):
        gold = case.float_image()
        ours = np.fromfile(tmp_path / case.meta["outputs"]["float"], dtype="<f4")
        diff = np.abs(ours.reshape(gold.shape).astype(np.float64) - gold).max()
        assert diff <= 1e-6 * np.abs(gold).max()
