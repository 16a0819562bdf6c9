"""The file-format registry: every format recognises the files C wrote and its own, and what it
writes reads back (nanobragg/io/registry.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from golden_cases import DATA_DIR, case

from nanobragg.io import registry
from nanobragg.io.hkl import HKLData
from nanobragg.io.smv import SMVHeaderValues

MEMO = case("memo_512")

#: files written by the C program (or given to it), and the format each is
C_FILES = {
    "smv": MEMO.file("int"),
    "raw": MEMO.file("float"),
    "pgm": MEMO.path / "image.pgm",
    "hkl": DATA_DIR / "small_P1.hkl",
    "matrix": DATA_DIR / "A.mat",
    "sources": DATA_DIR / "sources5.txt",
}


def _samples() -> dict[str, tuple[tuple, object]]:
    """format name -> (arguments of its writer, what its reader must give back)."""
    ramp = (np.arange(12, dtype=np.uint16) * 1000).reshape(3, 4)
    header = replace(SMVHeaderValues.from_header(MEMO.smv("int")[0]), size1=4, size2=3)
    grid = np.arange(3 * 4 * 2, dtype=np.float64).reshape(3, 4, 2)
    hkl = HKLData(np.array([[0, 0, 1], [-1, 2, 3]]), np.array([10.5, 1e-3]), "x.hkl")
    return {
        "smv": ((header, ramp), ramp),
        "raw": ((ramp / 7.0,), (ramp / 7.0).astype(np.float32)),
        "npy": ((ramp / 7.0,), ramp / 7.0),
        "pgm": ((ramp.astype(np.uint8), 2.5), ramp.astype(np.uint8)),
        "hkl": ((hkl,), hkl),
        "fdump": ((grid, (0, 1, -1, 1, 5, 5)), grid),
        "matrix": ((np.eye(3) / 50.0,), np.eye(3) / 50.0),
        "sources": ((np.array([[-10, 0, 0, 1, 1e-10], [-10, 0.5, 0, 2, 1.1e-10]]),),
                    np.array([[-10, 0, 0, 1, 1e-10], [-10, 0.5, 0, 2, 1.1e-10]])),
    }


def _read(name: str, path: Path):
    fmt = registry.by_name(name)
    if name in ("raw",):
        return fmt.read(path, (3, 4))
    if name in ("smv",):
        return fmt.read(path).data
    if name == "pgm":
        return fmt.read(path)[0]
    if name == "fdump":
        return fmt.read(path)[0][:3, :4, :2]
    if name in ("matrix", "sources"):
        return np.asarray(fmt.read(path, path.name))
    return fmt.read(path)


def test_registry_names_are_unique_and_every_format_reads_or_writes():
    names = [f.name for f in registry.ALL_FORMATS]
    assert len(names) == len(set(names))
    for fmt in registry.ALL_FORMATS:
        assert fmt.read is not None or fmt.write is not None, fmt.name
        assert "\n" not in fmt.what and fmt.what
    assert [f.name for f in registry.IMAGE_FORMATS] == ["smv", "hdf5", "cbf", "npy", "raw"]


@pytest.mark.parametrize("name", sorted(C_FILES))
def test_files_of_the_c_program_are_recognised_and_read(name):
    path = C_FILES[name]
    fmt = registry.by_name(name)
    if fmt.understand is not None:
        assert registry.recognise(path) is fmt
    else:  # no signature: no other format may claim it
        assert registry.recognise(path) in (None, fmt)
    assert fmt.read is not None


@pytest.mark.parametrize("name", sorted(_samples()))
def test_what_a_format_writes_it_reads_back_and_recognises(name, tmp_path):
    args, expected = _samples()[name]
    fmt = registry.by_name(name)
    path = tmp_path / f"sample{fmt.suffixes[0] if fmt.suffixes else '.bin'}"
    path.write_bytes(fmt.write(*args))
    got = _read(name, path)
    if isinstance(expected, HKLData):
        assert np.array_equal(got.indices, expected.indices)
        assert np.array_equal(got.amplitudes, expected.amplitudes)
    else:
        assert np.array_equal(got, expected) and got.shape == expected.shape
    claimed = registry.recognise(path)
    assert claimed is fmt or (fmt.understand is None and claimed is None), (name, claimed)


def test_image_formats_give_float64_pixels(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(registry.by_name("raw").write(np.ones((3, 4))))
    for image in (MEMO.file("int"), MEMO.file("float"), path):
        fmt = registry.image_format(image)
        shape = (3, 4) if image == path else MEMO.shape
        pixels = fmt.pixels(image, shape)
        assert pixels.dtype == np.float64 and pixels.shape == shape
    assert np.array_equal(registry.image_format(MEMO.file("int")).pixels(MEMO.file("int"), None),
                          MEMO.smv("int")[1])
