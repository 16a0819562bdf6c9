"""The whole-file HKL reader (one regex over the text) against the line-by-line reader.

``read_hkl`` takes the whole-file path when every line is valid and the line-by-line path
otherwise; both must give the same reflections, or the same error, for any file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from golden_cases import DATA_DIR
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nanobragg.errors import InputFileError
from nanobragg.io import hkl as sf

_TOKENS = ["0", "7", "+2", "-0", "-13", "007", "1.0", "1.", ".5", "-2.5e3", "1E-2", "inf",
           "NaN", "1_0", "x", "99999999999999999999"]
# latin-1 white space and line breaks: str.split and str.splitlines treat some differently
_SEPARATORS = [" ", "\t", "\xa0", "\x1f", "\n", "\r\n", "\x0c", "\x1c", "\x85", "\n\n"]


def _read(path: Path, whole_file: bool, monkeypatch: pytest.MonkeyPatch):
    with monkeypatch.context() as m:
        if not whole_file:
            m.setattr(sf, "_parse_valid_hkl", lambda lines: None)
        try:
            data = sf.read_hkl(path, "t.hkl")
        except (InputFileError, OverflowError) as exc:
            return type(exc).__name__, str(exc)
    return data.indices.dtype, data.indices.tolist(), data.amplitudes.view(np.int64).tolist()


def _same(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _read(path, True, monkeypatch) == _read(path, False, monkeypatch)


def test_scaled_hkl_same_reflections_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """The 64 333-line file of the Pilatus case: every index and every F bit equal."""
    path = DATA_DIR / "scaled.hkl"
    fast = _read(path, True, monkeypatch)
    assert len(fast[1]) == 64333
    assert fast == _read(path, False, monkeypatch)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(st.sampled_from(_TOKENS), min_size=3, max_size=5),
                          st.sampled_from(_SEPARATORS)), min_size=0, max_size=6))
@example([(["1", "2", "3", "4"], "\n"), (["5", "6", "7", "1E-2"], "\x0c")])
@example([(["1", "2", "3", "-1"], "\n")])  # negative F: the line-by-line message
@example([(["1", "2", "3", "NaN"], "\n")])
@example([(["1", "2", "3"], "\x1c")])
def test_whole_file_reader_agrees_with_line_by_line(tmp_path_factory, lines) -> None:
    text = "".join(" ".join(tokens) + end for tokens, end in lines)
    path = tmp_path_factory.mktemp("hkl") / "t.hkl"
    path.write_bytes(text.encode("latin-1"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        _same(path, monkeypatch)
