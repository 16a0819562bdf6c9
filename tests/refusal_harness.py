"""One harness for the corpora of refused command lines (tests/nanobragg/test_cli_errors.py,
tests/nanobragg/test_cli_bad_values.py): build the case's files, run the console entry in
process, and hold it to the contract: exit 2, one ``nanobragg: error:`` line naming what is
wrong, no traceback, nothing created, changed or removed."""

from __future__ import annotations

import os
from pathlib import Path

from nanobragg.cli.main import main

FIFO = object()  # marker: make a FIFO with no writer
#: a minimal valid SMV file (8x8 unsigned shorts)
SMV = "SMV"


def make_files(root: Path, files: dict) -> None:
    """``{name: content}``: text, bytes, :data:`FIFO`, :data:`SMV`, ``("link", target)``;
    a name ending in ``/`` is a directory."""
    for name, content in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir()
        elif content is FIFO:
            os.mkfifo(path)
        elif isinstance(content, tuple):
            path.symlink_to(content[1])
        elif content == SMV:
            header = (b"{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\n"
                      b"TYPE=unsigned_short;\nSIZE1=8;\nSIZE2=8;\nPIXEL_SIZE=0.1;\n}\f")
            path.write_bytes(header.ljust(512, b" ") + bytes(128))
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry below ``root`` with its content (FIFOs and links by kind, never read)."""
    state: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            state[name] = f"link -> {os.readlink(path)}"
        elif path.is_fifo():
            state[name] = "fifo"
        elif path.is_file():
            state[name] = path.read_bytes()
        else:
            state[name] = "dir"
    return state


def assert_refused(argv: list[str], files: dict, words: list[str], tmp_path: Path,
                   monkeypatch, capsys) -> None:
    """Run ``nanobragg argv`` among ``files`` and check the refusal contract."""
    make_files(tmp_path, files)
    before = snapshot(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NB_PYTORCH_DTYPE", raising=False)
    monkeypatch.delenv("NB_MAX_TERMS", raising=False)
    status = main(argv)
    captured = capsys.readouterr()
    assert status == 2, captured
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("nanobragg: error: ")
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in captured.err + captured.out
    assert snapshot(tmp_path) == before
