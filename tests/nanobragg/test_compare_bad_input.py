"""Bad input to nb-compare and nb-trace-diff (issue 17): a golden case.yaml that is not valid YAML
or lacks its fields, images without pixels, an output directory that is a file or cannot be
written, and an unbalanced quote in --py-cmd. Each gives one stderr line, the documented exit
status, no traceback, and no file (the output directory is not left behind either).
"""

from __future__ import annotations

import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from golden_cases import GOLDEN_DIR

from nanobragg.compare.cli import main as compare_main
from nanobragg.compare.trace_cli import main as trace_main

GOOD_CASE = ('id: "bad"\nargs: ["-cell", "50", "-default_F", "1", "-detpixels", "4"]\n'
             'shape: [4, 4]\noutputs: {float: "float.bin"}\n')

#: (id, case.yaml text, float.bin bytes, words of the error line)
CASES: list[tuple[str, str, bytes, list[str]]] = [
    ("yaml_invalid", "args: [1, 2\n", b"", ["case.yaml:2", "not valid YAML"]),
    ("yaml_tab_indent", "args:\n\t- 1\n", b"", ["case.yaml", "not valid YAML"]),
    ("yaml_not_mapping", "- 1\n- 2\n", b"", ["case.yaml", "mapping", "list"]),
    ("yaml_empty", "", b"", ["case.yaml", "mapping", "NoneType"]),
    ("args_not_list", GOOD_CASE.replace('["-cell", "50", "-default_F", "1", "-detpixels", "4"]',
                                        '"-cell 50"'), b"", ["'args' must be a list", "str"]),
    ("args_missing", GOOD_CASE.split("\n", 2)[0] + "\n" + GOOD_CASE.split("\n", 2)[2], b"",
     ["'args'", "nothing"]),
    ("outputs_missing", GOOD_CASE.rsplit("outputs", 1)[0], b"", ["'outputs'", "nothing"]),
    ("outputs_not_mapping", GOOD_CASE.replace('{float: "float.bin"}', '"float.bin"'), b"",
     ["'outputs'", "str"]),
    ("shape_zero", GOOD_CASE.replace("[4, 4]", "[0, 0]"), b"", ["'shape'", "[0, 0]"]),
    ("shape_missing", GOOD_CASE.replace("shape: [4, 4]\n", ""), b"", ["'shape'", "None"]),
    ("shape_words", GOOD_CASE.replace("[4, 4]", "[four, 4]"), b"", ["'shape'"]),
    ("golden_image_empty", GOOD_CASE, b"", ["float.bin", "0 bytes"]),
    ("golden_image_short", GOOD_CASE, bytes(12), ["float.bin", "12 bytes"]),
]


def _error_lines(capsys) -> tuple[list[str], str]:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return captured.err.splitlines(), captured.out


@pytest.mark.parametrize(("text", "image", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_golden_case(text, image, words, tmp_path, capsys):
    case = tmp_path / "case"
    case.mkdir()
    (case / "case.yaml").write_text(text)
    (case / "float.bin").write_bytes(image)
    out = tmp_path / "out"
    status = compare_main(["--golden", str(case), "--outdir", str(out)])
    err, _ = _error_lines(capsys)
    assert status == 2
    assert len(err) == 1 and err[0].startswith("nb-compare: "), err
    for word in words:
        assert word in err[0], err[0]
    assert not out.exists()


def test_images_without_pixels(tmp_path, capsys):
    for name in ("a.bin", "b.bin"):
        (tmp_path / name).write_bytes(b"")
    np.save(tmp_path / "empty.npy", np.zeros((0, 5), dtype=np.float32))
    out = tmp_path / "out"
    for argv in (["--images", "a.bin", "b.bin", "--shape", "0", "0"],
                 ["--images", "empty.npy", "empty.npy"]):
        status = compare_main([*(str(tmp_path / a) if a.endswith((".bin", ".npy")) else a
                                 for a in argv), "--outdir", str(out)])
        err, stdout = _error_lines(capsys)
        assert status == 5  # documented: an image cannot be read
        assert len(err) == 1 and "has no pixels" in err[0], err
        assert stdout.startswith("nb-compare: ERROR (exit 5)")


def _writable(directory: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=directory):
            return True
    except OSError:
        return False


def _readonly_dir(tmp_path: Path) -> Path:
    """A directory this process cannot write in (as root, chmod is not enough: /sys then)."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    for candidate in (locked, Path("/sys")):
        if candidate.is_dir() and not _writable(candidate):
            return candidate
    pytest.skip("no directory that this user cannot write in (root, and /sys is writable)")


@pytest.mark.parametrize("kind", ["file", "readonly"])
def test_unusable_outdir(kind, tmp_path, capsys):
    if kind == "file":
        target = tmp_path / "taken"
        target.write_text("not a directory")
        words = ["--outdir", "not a directory"]
    else:
        target = _readonly_dir(tmp_path) / "out"
        words = ["--outdir", "cannot write there"]
    status = compare_main(["--golden", str(GOLDEN_DIR / "memo_512"), "--outdir", str(target)])
    err, stdout = _error_lines(capsys)
    assert status == 2 and len(err) == 1, err
    assert all(word in err[0] for word in words), err[0]
    assert stdout == ""
    trace = tmp_path / "c.log"
    trace.write_text("TRACE_C: F_cell 300\n")
    (tmp_path / "p.log").write_text("TRACE_PY: F_cell 300\n")
    status = trace_main([str(trace), str(tmp_path / "p.log"), "--outdir", str(target)])
    err, stdout = _error_lines(capsys)
    assert status == 2 and len(err) == 1 and err[0].startswith("nb-trace-diff: --outdir"), err
    assert stdout == ""  # refused before the report is printed


def test_unbalanced_quote_in_py_cmd(tmp_path, capsys):
    out = tmp_path / "out"
    status = compare_main(["--golden", str(GOLDEN_DIR / "memo_512"), "--outdir", str(out),
                           "--py-cmd", "python -m 'nanobragg"])
    err, _ = _error_lines(capsys)
    assert status == 2 and len(err) == 1, err
    assert "--py-cmd" in err[0] and "no closing quotation" in err[0]
    assert not out.exists()


def test_real_process_bad_case_has_no_traceback(tmp_path):
    case = tmp_path / "case"
    case.mkdir()
    (case / "case.yaml").write_text("args: [1, 2\n")
    result = subprocess.run([sys.executable, "-m", "nanobragg.compare.cli", "--golden",
                             str(case), "--outdir", str(tmp_path / "out")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["case"]
