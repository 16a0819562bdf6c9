"""nanobragg-series end to end in this process: frames equal single nanobragg runs of the
manifest's flags, resuming, refusing a changed command, and bad input."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest
import torch
from series_helpers import SMALL, manifest, run_nanobragg, run_series, tree

from nanobragg.geometry3d import rotate_xyz
from nanobragg.series.plan import frame_seed, misset_angles, quaternion_matrix
from nanobragg.units import RTD

ROTATION = ["--frames", "3", "--osc", "0.4", "--phi0", "5", "--quiet"]
STILLS = ["--stills", "3", "--N", "3", "8", "--mosaic", "0.1", "0.4", "--fluence-sigma", "0.3",
          "--beam-jitter", "0.5", "--quiet"]


def test_frame_seed_is_the_documented_formula():
    for base, index in ((1, 0), (1, 89), (123456, 7)):
        digest = hashlib.sha256(f"nanobragg-series/{base}/{index}".encode()).digest()
        assert frame_seed(base, index) == 1 + int.from_bytes(digest[:8], "big") % (2**31 - 2)
    assert len({frame_seed(1, i) for i in range(1000)}) == 1000


def test_misset_angles_reproduce_the_drawn_rotation():
    """C's -misset rotates about x, then y, then z: those angles must give back R."""
    rng = np.random.default_rng(5)
    for _ in range(20):
        q = rng.standard_normal(4)
        q /= np.linalg.norm(q)
        matrix = quaternion_matrix(tuple(q))
        angles = [a / RTD for a in misset_angles(matrix)]
        columns = rotate_xyz(torch.eye(3, dtype=torch.float64), *angles).numpy().T
        np.testing.assert_allclose(columns, matrix, atol=1e-12)


@pytest.mark.parametrize("mode", ["rotation", "stills"])
def test_each_frame_is_the_nanobragg_run_of_its_manifest_flags(tmp_path, monkeypatch, capsys,
                                                               mode):
    series = ROTATION if mode == "rotation" else STILLS
    status, out, err = run_series([*series, "--seed", "3", "--out", "s", "--", *SMALL],
                                  tmp_path, monkeypatch, capsys)
    assert status == 0, err
    assert "3/3 frames in s" in out
    entries = manifest(tmp_path / "s")
    assert [e["index"] for e in entries] == [0, 1, 2]
    for entry in entries:
        assert entry["seed"] == frame_seed(3, entry["index"])
        if mode == "rotation":
            assert entry["phi_start"] == pytest.approx(5 + 0.4 * entry["index"])
            assert entry["osc"] == 0.4
        else:
            assert 3 <= entry["N"] <= 8 and 0.1 <= entry["mosaic_deg"] <= 0.4
            assert len(entry["orientation"]["quaternion_wxyz"]) == 4
            assert {"fluence_factor", "beam_center_mm"} <= set(entry)
        frame = (tmp_path / "s" / entry["path"]).read_bytes()
        assert hashlib.sha256(frame).hexdigest() == entry["sha256"]
        single = tmp_path / f"single_{entry['index']}.img"
        argv = [*SMALL, *entry["nanobragg_flags"], "-noisefile", single.name, "-noprogress"]
        assert run_nanobragg(argv, tmp_path, monkeypatch, capsys) == 0
        assert single.read_bytes() == frame, entry["index"]
    if mode == "stills":
        assert len({e["seed"] for e in entries}) == 3
        assert len({tuple(e["orientation"]["misset_deg"]) for e in entries}) == 3


def test_rerun_keeps_done_frames_and_redoes_missing_or_damaged_ones(tmp_path, monkeypatch,
                                                                    capsys):
    argv = [*ROTATION, "--out", "s", "--", *SMALL]
    assert run_series(argv, tmp_path, monkeypatch, capsys)[0] == 0
    first = tree(tmp_path / "s")
    status, out, _ = run_series(argv, tmp_path, monkeypatch, capsys)
    assert status == 0 and "(3 kept from an earlier run): 0 rendered" in out
    assert tree(tmp_path / "s") == first
    (tmp_path / "s" / "frame_00002.img").unlink()
    damaged = tmp_path / "s" / "frame_00003.img"
    damaged.write_bytes(damaged.read_bytes()[:-10] + b"0123456789")
    (tmp_path / "s" / ".frame_00001.img.abc.part").write_bytes(b"half")  # a kill's leftover
    status, out, _ = run_series(argv, tmp_path, monkeypatch, capsys)
    assert status == 0 and "(1 kept from an earlier run): 2 rendered" in out
    assert tree(tmp_path / "s") == first


def test_changed_command_is_refused_unless_overwrite(tmp_path, monkeypatch, capsys):
    assert run_series([*ROTATION, "--out", "s", "--", *SMALL], tmp_path, monkeypatch,
                      capsys)[0] == 0
    before = tree(tmp_path / "s")
    changed = ["--frames", "3", "--osc", "0.5", "--quiet", "--out", "s", "--", *SMALL]
    status, _, err = run_series(changed, tmp_path, monkeypatch, capsys)
    assert status == 2
    assert err.count("\n") == 1 and "different command" in err and "--overwrite" in err
    assert tree(tmp_path / "s") == before
    status, _, err = run_series([*changed[:-len(SMALL) - 1], "--overwrite", "--", *SMALL],
                                tmp_path, monkeypatch, capsys)
    assert status == 0, err
    assert [e["osc"] for e in manifest(tmp_path / "s")] == [0.5, 0.5, 0.5]
    assert json.loads((tmp_path / "s" / "series.json").read_text())["command"]["osc"] == 0.5


def test_h5_series_resumes_from_staged_frames(tmp_path, monkeypatch, capsys):
    import h5py
    import hdf5plugin  # noqa: F401

    argv = [*ROTATION, "--format", "h5", "--out", "s", "--", *SMALL]
    assert run_series(argv, tmp_path, monkeypatch, capsys)[0] == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [
        "manifest.jsonl", "series.h5", "series.json"]
    entries = manifest(tmp_path / "s")
    with h5py.File(tmp_path / "s" / "series.h5") as h5:
        for entry in entries:
            pixels = h5["entry/data/data"][entry["index"]].astype("<u2").tobytes()
            assert hashlib.sha256(pixels).hexdigest() == entry["sha256"]
            assert entry["path"] == "series.h5"
    status, out, _ = run_series(argv, tmp_path, monkeypatch, capsys)
    assert status == 0 and "(3 kept" in out


BAD = [
    (["--frames", "0", "--osc", "0.1"], "--frames: need at least 1 frame, got 0"),
    (["--stills", "0"], "--stills: need at least 1 frame, got 0"),
    (["--frames", "3", "--osc", "-0.1"], "--osc: the oscillation must be positive"),
    (["--frames", "3"], "--frames needs --osc"),
    (["--frames", "3", "--osc", "0.1", "--workers", "0"], "--workers: need at least 1"),
    (["--frames", "3", "--osc", "0.1", "--format", "tiff"], "invalid choice: 'tiff'"),
    (["--stills", "2", "--N", "5", "2"], "--N: need 1 <= LO <= HI"),
    (["--frames", "2", "--osc", "0.1", "--N", "2", "5"], "are for --stills"),
    (["--frames", "2", "--osc", "0.1", "--dask", "local:0"], "local:K needs a positive"),
]


@pytest.mark.parametrize(("flags", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_series_flags_fail_in_one_line_writing_nothing(tmp_path, monkeypatch, capsys,
                                                           flags, message):
    status, out, err = run_series([*flags, "--out", "s", "--", *SMALL], tmp_path, monkeypatch,
                                  capsys)
    assert status == 2
    assert err.startswith("nanobragg-series: error: ") and err.count("\n") == 1
    assert message in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("frame_args", "message"), [
    ([*SMALL, "-phi", "3"], "frame argument -phi: set by the series, use --phi0"),
    ([*SMALL, "-noisefile", "x.img"], "frame argument -noisefile: set by the series"),
    ([*SMALL, "-seed", "4"], "use --seed"),
    ([*SMALL, "-strict_flags", "-no_such_flag"], "frame arguments: "),
    # refused by the library's rules (nanobragg.validation), named by the flags
    ([*SMALL, "-lambda", "0"], "-lambda must be positive, got 0 A"),
    ([*SMALL, "-flux", "1e12", "-beamsize", "0"], "-flux needs a non-zero -beamsize"),
    ([], "no frame arguments"),
])
def test_bad_frame_arguments_fail_in_one_line_writing_nothing(tmp_path, monkeypatch, capsys,
                                                              frame_args, message):
    status, _, err = run_series([*ROTATION, "--out", "s", "--", *frame_args], tmp_path,
                                monkeypatch, capsys)
    assert status == 2 and err.count("\n") == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_output_directory_that_is_a_file_is_refused(tmp_path, monkeypatch, capsys):
    (tmp_path / "s").write_text("not a directory")
    status, _, err = run_series([*ROTATION, "--out", "s", "--", *SMALL], tmp_path, monkeypatch,
                                capsys)
    assert status == 2 and err.count("\n") == 1
    assert "--out" in err and "not a directory" in err
    assert [p.name for p in tmp_path.iterdir()] == ["s"]
    assert (tmp_path / "s").read_text() == "not a directory"


def test_dask_address_that_does_not_answer_is_refused(tmp_path, monkeypatch, capsys):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr("nanobragg.series.executors.DASK_CONNECT_TIMEOUT_S", 2)
    status, _, err = run_series([*ROTATION, "--dask", f"tcp://127.0.0.1:{port}", "--out", "s",
                                 "--", *SMALL], tmp_path, monkeypatch, capsys)
    assert status == 2 and err.count("\n") == 1
    assert f"--dask tcp://127.0.0.1:{port}: no Dask scheduler answers" in err
    assert list(tmp_path.iterdir()) == []


def test_progress_line_shows_rate_and_eta(tmp_path, monkeypatch, capsys):
    status, _, err = run_series([*ROTATION[:-1], "--out", "s", "--", *SMALL], tmp_path,
                                monkeypatch, capsys)
    assert status == 0
    last = err.split("\r")[-1]
    assert "3/3 frames" in last and "frames/s" in last and "ETA 0:00:00" in last
    assert math.isfinite(float(last.split("frames/s")[0].split()[-1]))
