"""The console process entry (``nanobragg.cli.launch``): it ends the process with ``os._exit``
right after the command returns, so nothing the command printed or wrote may be lost on the way."""

from __future__ import annotations

import gc
import io
import os
import subprocess
import sys

import pytest
from golden_cases import DATA_DIR, GOLDEN_DIR, GoldenCase

from nanobragg.cli import launch

MEMO = GoldenCase(GOLDEN_DIR / "memo_512")


def test_process_output_survives_the_fast_exit(tmp_path):
    """A real ``python -m nanobragg`` with stdout on a block-buffered pipe: C's stdout and files."""
    (tmp_path / "data").symlink_to(DATA_DIR, target_is_directory=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "NB_PYTORCH_DTYPE")}
    result = subprocess.run([sys.executable, "-m", "nanobragg", *MEMO.args, "-dtype", "float64"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.splitlines() == MEMO.file("stdout").read_text().splitlines()
    for kind in ("int", "noise", "pgm", "float"):
        name = MEMO.meta["outputs"][kind]
        assert (tmp_path / name).read_bytes() == MEMO.file(kind).read_bytes(), name


class _Exited(Exception):
    def __init__(self, status: int):
        self.status = status


def _launch_status(monkeypatch) -> int:
    """Run ``launch.main`` in this process; returns the status it would end the process with."""
    def fake_exit(status: int) -> None:
        raise _Exited(status)

    monkeypatch.setattr(launch.os, "_exit", fake_exit)
    monkeypatch.setattr(launch.atexit, "_run_exitfuncs", lambda: None)  # not pytest's own
    try:
        with pytest.raises(_Exited) as exited:
            launch.main()
    finally:
        gc.unfreeze()
    return exited.value.status


def _run_launch(monkeypatch, command_status: int = 0) -> int:
    monkeypatch.setattr("nanobragg.cli.main.main", lambda: command_status)
    return _launch_status(monkeypatch)


@pytest.mark.parametrize("status", [0, 2, 130])
def test_exit_status_is_the_commands_and_gc_is_back_on(monkeypatch, status):
    assert _run_launch(monkeypatch, status) == status
    assert gc.isenabled()


class _ClosedPipe(io.StringIO):
    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_stdout_that_cannot_be_flushed_makes_a_success_fail(monkeypatch):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert _run_launch(monkeypatch, 0) == 2
    assert _run_launch(monkeypatch, 130) == 130


_CHUNK_LOOP = """
import resource, numpy as np
from nanobragg.allocator import retain_freed_memory
if TUNED:
    assert retain_freed_memory()

def chunk():  # big temporaries of mixed sizes, allocated and freed as a kernel chunk does
    a, b = np.ones(3 << 20), np.ones(2 << 20)
    c = a[: 2 << 20] * b
    del a, b
    return float(c.sum() + np.ones(3 << 20).sum())

chunk()
start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    chunk()
pages = 20 * 10 * (1 << 20) * 8 / 4096
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / pages)
"""


def _faulted_fraction(tuned: bool) -> float:
    code = f"TUNED = {tuned}\n{_CHUNK_LOOP}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout)


def test_freed_chunk_memory_is_reused_not_faulted_in_again():
    try:
        os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        pytest.skip("malloc tuning applies to glibc only")
    assert _faulted_fraction(tuned=True) < 0.01
    assert _faulted_fraction(tuned=False) > 0.02  # the default gives pages back (the test bites)


def test_exit_handlers_still_run(tmp_path):
    """Coverage, profilers and logging save their data in exit handlers: they must run."""
    marker = tmp_path / "handler-ran"
    code = ("import atexit, sys\n"
            f"atexit.register(lambda: open({str(marker)!r}, 'w').write('yes'))\n"
            "sys.argv = ['nanobragg', '--help']\n"
            "from nanobragg.cli.launch import main\n"
            "main()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("usage: nanobragg")
    assert marker.read_text() == "yes"


def test_interrupt_while_loading_is_one_line(monkeypatch, capsys):
    import builtins

    real_import = builtins.__import__

    def interrupted_import(name, *args, **kwargs):
        if name == "nanobragg.cli.main":
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted_import)
    status = _launch_status(monkeypatch)
    assert status == 130
    assert capsys.readouterr().err == "\nnanobragg: interrupted\n"
    assert gc.isenabled()
