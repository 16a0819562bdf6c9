"""Error corpus: bad command lines and bad input files.

Every case must give exit status 2, exactly one stderr line starting ``nanobragg: error:``, no
traceback, and no file created in the working directory.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from golden_cases import DATA_DIR
from refusal_harness import assert_refused

from nanobragg.cli.main import main

#: a valid, tiny command line the bad parts are added to
BASE = ["-cell", "50", "50", "50", "90", "90", "90", "-default_F", "10", "-detpixels", "8",
        "-distance", "100", "-noprogress", "-seed", "1"]
NO_SF = ["-cell", "50", "50", "50", "90", "90", "90", "-detpixels", "8", "-noprogress"]


def smv_file(width: int, height: int, extra: str = "", data_bytes: int | None = None) -> bytes:
    header = (
        "{\nHEADER_BYTES=512;\nDIM=2;\nBYTE_ORDER=little_endian;\nTYPE=unsigned_short;\n"
        f"SIZE1={width};\nSIZE2={height};\nPIXEL_SIZE=0.1;\n{extra}}}\f"
    ).encode().ljust(512, b" ")
    n = 2 * width * height if data_bytes is None else data_bytes
    return header + np.ones(n // 2, dtype="<u2").tobytes()


#: (id, argv, {file name: content}, words the message must contain)
CASES: list[tuple[str, list[str], dict[str, bytes | str], list[str]]] = [
    # unknown flags and stray words: refused with exact matching (-strict_flags or
    # -quirks corrected); by default they are ignored as C ignores them (test_cli_cmatch.py)
    ("unknown_flag_suggests", BASE + ["-strict_flags", "-distanse", "100"], {},
     ["-distanse", "did you mean -distance"]),
    ("double_dash", BASE + ["-strict_flags", "--detpixels", "8"], {}, ["did you mean -detpixels"]),
    ("c_example_dispstep", BASE + ["-quirks", "corrected", "-dispstep", "3"], {},
     ["did you mean -dispsteps"]),
    ("unknown_flag_no_match", BASE + ["-zzzzqqqq", "-strict_flags"], {},
     ["unknown flag", "nanobragg -h"]),
    ("stray_word", BASE + ["-strict_flags", "banana"], {}, ["unexpected argument", "banana"]),
    ("extra_cell_value", ["-cell", "1", "2", "3", "90", "90", "90", "7", "-strict_flags"]
     + BASE[7:], {}, ["unexpected argument '7'"]),
    # missing and garbled values
    ("missing_value_at_end", BASE + ["-distance"], {}, ["-distance", "missing value", "end"]),
    ("missing_value_before_flag", BASE + ["-lambda", "-N", "3"], {}, ["-lambda", "missing value"]),
    ("missing_file_name", BASE + ["-floatfile", "-nonoise"], {}, ["-floatfile", "missing"]),
    ("garbled_number", BASE + ["-distance", "abc"], {}, ["-distance", "number", "'abc'"]),
    ("garbled_exponent", BASE + ["-pixel", "1e"], {}, ["-pixel", "'1e'"]),
    ("float_for_integer", BASE + ["-N", "2.5"], {}, ["-N", "integer"]),
    ("exponent_for_integer", BASE + ["-detpixels", "1e3"], {}, ["-detpixels", "integer"]),
    ("garbled_seed", BASE + ["-seed", "x"], {}, ["-seed"]),
    ("seed_too_large", BASE + ["-seed", "99999999999999999999"], {}, ["-seed", "32-bit"]),
    ("misset_two_angles", BASE + ["-misset", "10", "20"], {}, ["-misset", "missing"]),
    ("misset_garbled", BASE + ["-misset", "rnd", "1", "2"], {}, ["-misset", "'rnd'"]),
    ("vector_two_values", BASE + ["-fdet_vector", "0", "0"], {}, ["-fdet_vector", "missing"]),
    ("vector_garbled", BASE + ["-fdet_vector", "0", "0", "x"], {}, ["-fdet_vector", "'x'"]),
    ("roi_three_values", BASE + ["-roi", "1", "2", "3"], {}, ["-roi", "missing"]),
    ("roi_garbled", BASE + ["-roi", "a", "b", "c", "d"], {}, ["-roi", "integer"]),
    ("roi_empty", BASE + ["-roi", "10", "5", "0", "3"], {}, ["-roi", "empty"]),
    ("trace_negative", BASE + ["-trace_pixel", "-1", "5"], {}, ["-trace_pixel"]),
    ("cell_without_values", ["-cell", "-default_F", "10"], {}, ["-cell", "missing"]),
    ("cell_garbled", ["-cell", "100", "abc"] + BASE[7:], {}, ["-cell", "'abc'"]),
    ("cell_bad_angle", ["-cell", "100", "100", "100", "0", "90", "90"] + BASE[7:], {},
     ["-cell", "angles"]),
    ("pivot_word", BASE + ["-pivot", "middle"], {}, ["-pivot", "'middle'"]),
    ("detector_abs_negative", BASE + ["-detector_abs", "-5"], {}, ["-detector_abs"]),
    ("dtype_bad", BASE + ["-dtype", "float16"], {}, ["-dtype", "float16"]),
    ("dtype_missing", BASE + ["-dtype"], {}, ["-dtype", "missing"]),
    ("device_bad", BASE + ["-device", "tpu"], {}, ["-device", "'tpu'"]),
    ("quirks_bad", BASE + ["-quirks", "none"], {}, ["-quirks"]),
    ("mtz_not_mtz", BASE + ["-mtz", "f.hkl"], {}, ["-mtz", ".mtz"]),
    # physically meaningless values (config validation)
    ("zero_cell_volume", ["-cell", "100", "100", "100", "90", "90", "179.9999999"] + BASE[7:], {},
     ["volume"]),
    ("negative_cell_length", ["-cell", "-100", "100", "100"] + BASE[7:], {}, ["-cell"]),
    ("negative_pixel", BASE + ["-pixel", "-0.1"], {}, ["pixel size"]),
    ("dispersion_200_percent", BASE + ["-dispersion", "200"], {},
     ["-dispersion 200", "below 200%"]),
    ("zero_pixel", BASE + ["-pixel", "0"], {}, ["pixel size"]),
    ("zero_lambda", BASE + ["-lambda", "0"], {}, ["-lambda", "positive"]),
    ("zero_energy", BASE + ["-energy", "0"], {}, ["-energy", "positive"]),
    ("negative_distance", BASE + ["-distance", "-100"], {}, ["distance"]),
    ("zero_close_distance", BASE + ["-close_distance", "0"], {}, ["-close_distance", "positive"]),
    ("beam_in_detector_plane", BASE + ["-beam_vector", "0", "0", "1"], {},
     ["beam is parallel to the detector plane"]),
    ("absurd_auto_oversample", BASE + ["-lambda", "1e-30"], {},
     ["automatic oversampling", "-oversample"]),
    ("flux_without_beamsize", BASE + ["-flux", "1e12", "-beamsize", "0"], {},
     ["-flux", "-beamsize"]),
    ("negative_detpixels", BASE + ["-detpixels", "-5"], {}, ["-detpixels -5", "at least 1"]),
    ("negative_N", BASE + ["-Na", "-3"], {}, ["-Na"]),
    ("negative_oversample", BASE + ["-oversample", "-2"], {}, ["-oversample"]),
    ("non_unit_vector", BASE + ["-fdet_vector", "0", "0", "2"], {}, ["-fdet_vector", "unit"]),
    ("zero_vector", BASE + ["-beam_vector", "0", "0", "0"], {}, ["-beam_vector", "zero"]),
    ("parallel_vectors", BASE + ["-fdet_vector", "0", "0", "1", "-sdet_vector", "0", "0", "1"],
     {}, ["parallel"]),
    ("non_unit_spindle", BASE + ["-spindle_axis", "1", "1", "0"], {}, ["-spindle_axis"]),
    ("no_crystal", BASE[7:], {}, ["-cell", "-mat"]),
    ("no_structure_factors", NO_SF, {}, ["-hkl", "-default_F"]),
    # bad or missing input files
    ("mat_missing", BASE[7:] + ["-mat", "nope.mat"], {}, ["nope.mat", "no such file"]),
    ("mat_too_few_numbers", BASE[7:] + ["-mat", "short.mat"], {"short.mat": "1 2 3\n4 5\n"},
     ["short.mat", "9 numbers", "5"]),
    ("mat_words", BASE[7:] + ["-mat", "words.mat"], {"words.mat": "0.1 0.2 zero\n"},
     ["words.mat", "'zero'"]),
    ("mat_singular", BASE[7:] + ["-mat", "zero.mat"], {"zero.mat": "0 0 0\n0 0 0\n0 0 0\n"},
     ["singular"]),
    ("mat_is_directory", BASE[7:] + ["-mat", "adir"], {"adir/": ""}, ["adir", "directory"]),
    ("hkl_missing", BASE + ["-hkl", "nope.hkl"], {}, ["nope.hkl"]),
    ("hkl_three_numbers", BASE + ["-hkl", "bad.hkl"], {"bad.hkl": "1 2 3 10\n1 2 3\n"},
     ["bad.hkl"]),
    ("hkl_not_numbers", BASE + ["-hkl", "bad.hkl"], {"bad.hkl": "1 2 x 10\n"}, ["bad.hkl"]),
    ("hkl_empty", BASE + ["-hkl", "empty.hkl"], {"empty.hkl": "\n\n"}, ["empty.hkl"]),
    ("sourcefile_missing", BASE + ["-sourcefile", "nope.txt"], {}, ["nope.txt", "no such file"]),
    ("sourcefile_empty", BASE + ["-sourcefile", "blank.txt"], {"blank.txt": "\n \t\n"},
     ["blank.txt", "no sources"]),
    ("stol_missing", BASE + ["-stol", "nope.stol"], {}, ["nope.stol", "no such file"]),
    ("stol_empty", BASE + ["-Q", "q.txt"], {"q.txt": "\n"}, ["q.txt", "empty"]),
    ("img_missing", BASE + ["-img", "nope.img"], {}, ["nope.img", "no such file"]),
    ("img_not_smv", BASE + ["-img", "text.img"], {"text.img": "hello world\n" * 50},
     ["text.img", "ADSC"]),
    ("mask_truncated", BASE + ["-mask", "short.img"],
     {"short.img": smv_file(16, 16, data_bytes=100)}, ["short.img", "truncated"]),
    ("mask_size_mismatch", BASE + ["-mask", "m.img", "-detpixels", "8"],
     {"m.img": smv_file(16, 16)}, ["-mask", "16x16", "8x8"]),
    ("mask_not_smv", BASE + ["-mask", "m.pgm"], {"m.pgm": b"P5\n4 4\n255\n" + bytes(16)},
     ["m.pgm"]),
    # outputs that cannot be written
    ("output_dir_missing", BASE + ["-floatfile", "nodir/f.bin"], {}, ["-floatfile", "nodir"]),
    ("output_is_directory", BASE + ["-intfile", "adir"], {"adir/": ""},
     ["-intfile", "directory"]),
    ("noise_dir_missing", BASE + ["-noisefile", "nodir/n.img"], {}, ["-noisefile"]),
]


def test_corpus_is_large_enough():
    assert len(CASES) >= 40
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("argv", "files", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_command_line(argv, files, words, tmp_path, monkeypatch, capsys):
    assert_refused(argv, files, words, tmp_path, monkeypatch, capsys)


def test_bad_dtype_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NB_PYTORCH_DTYPE", "half")
    assert main(BASE) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "NB_PYTORCH_DTYPE" in err[0]
    assert not list(tmp_path.iterdir())


def test_no_arguments_prints_usage_and_one_error_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "usage: nanobragg" in captured.out and "-detpixels" in captured.out
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith("nanobragg: error: no arguments")


def test_help_exits_zero(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["-distance", "100", "--help"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("usage: nanobragg") and captured.err == ""
    assert not list(tmp_path.iterdir())


def _subprocess(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NB_PYTORCH_DTYPE"}
    return subprocess.run([sys.executable, "-m", "nanobragg", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        BASE + ["-strict_flags", "-distanse", "100"],
        BASE + ["-img", str(DATA_DIR / "small_P1.hkl")],
    ],
    ids=["unknown_flag", "bad_input_file"],
)
def test_real_process_exit_code_and_no_traceback(args, tmp_path):
    result = _subprocess(args, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("nanobragg: error: ")
    assert "Traceback" not in result.stderr + result.stdout
    assert not list(tmp_path.iterdir())


def test_out_of_memory_is_one_line(tmp_path, monkeypatch, capsys):
    from nanobragg.simulator import Simulator

    def no_memory(self, progress=None, **options):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 1e12")

    monkeypatch.setattr(Simulator, "run", no_memory)
    monkeypatch.chdir(tmp_path)
    assert main(BASE) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("nanobragg: error: out of memory")
    assert not list(tmp_path.iterdir())


def test_internal_errors_are_not_disguised(tmp_path, monkeypatch):
    from nanobragg.simulator import Simulator

    def bug(self, progress=None, **options):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(Simulator, "run", bug)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        main(BASE)
    assert not list(tmp_path.iterdir())


def _mtz(path, columns: dict[str, str], rows: list[list[float]]) -> None:
    """A P1 MTZ file with the given (label: MTZ type) columns after H K L."""
    import gemmi  # installed by the test extra
    mtz = gemmi.Mtz(with_base=True)
    mtz.spacegroup = gemmi.SpaceGroup("P 1")
    mtz.set_cell_for_all(gemmi.UnitCell(100, 100, 100, 90, 90, 90))
    mtz.add_dataset("d")
    for label, kind in columns.items():
        mtz.add_column(label, kind)
    mtz.set_data(np.array(rows, dtype=np.float32))
    mtz.write_to_file(str(path))


def _two_column_mtz(path) -> None:
    _mtz(path, {"FP": "F", "FC": "F"}, [[1, 0, 0, 10.0, 20.0], [0, 1, 0, 30.0, 40.0]])


def test_mtz_column_selects_the_amplitudes(tmp_path, monkeypatch, capsys):
    _two_column_mtz(tmp_path / "f.mtz")
    monkeypatch.chdir(tmp_path)
    args = ["-cell", "100", "100", "100", "90", "90", "90", "-mtz", "f.mtz", "-detpixels", "8",
            "-nonoise", "-nopgm", "-noprogress", "-floatfile", "f.bin"]
    assert main(args + ["-mtz_column", "FC"]) == 0
    assert main(args + ["-mtz_column", "FOO"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "FOO" in err[0]


def test_mtz_column_refuses_a_phase_column(tmp_path, monkeypatch, capsys):
    _mtz(tmp_path / "f.mtz", {"FC": "F", "PHIC": "P", "IMEAN": "J"}, [[1, 0, 0, 10.0, 90.0, 100.0]])
    monkeypatch.chdir(tmp_path)
    args = ["-cell", "100", "100", "100", "90", "90", "90", "-mtz", "f.mtz", "-detpixels", "8",
            "-nonoise", "-nopgm", "-noprogress", "-floatfile", "f.bin"]
    for label, what in (("PHIC", "type P (phase)"), ("IMEAN", "type J (intensity)")):
        assert main([*args, "-mtz_column", label]) == 2
        err = capsys.readouterr().err.splitlines()
        assert err == [f"nanobragg: error: -mtz_column {label}: f.mtz column of MTZ {what}, not "
                       "amplitudes; amplitude columns are ['FC']"]
    assert not (tmp_path / "f.bin").exists()
