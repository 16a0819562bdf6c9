"""CBF and NXmx files read back with the readers processing programs use (fabio, pycbf, nxmx),
with the configured geometry; -cbf and -h5 of the single-image command hold the noise image."""

from __future__ import annotations

import re

import h5py
import hdf5plugin  # noqa: F401 - registers the bitshuffle filter for reading
import numpy as np
import pytest
from series_helpers import BEAM_CENTRE_PX, SMALL, run_nanobragg, run_series

from nanobragg.io.cbf import CBFHeader, byte_offset_compress, cbf_bytes

PHI0, OSC, FRAMES = 10.0, 0.5, 3


def _header_values(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"# (\w+)[ :]+(.*)", text)}


def _pycbf_read(path):
    import pycbf

    handle = pycbf.cbf_handle_struct()
    handle.read_widefile(str(path).encode(), pycbf.MSG_DIGEST)  # checks Content-MD5 too
    handle.find_category(b"array_data")
    handle.find_column(b"header_contents")
    header = handle.get_value().decode()
    handle.find_column(b"data")
    params = handle.get_integerarrayparameters_wdims_fs()
    fast, slow = params[9], params[10]
    pixels = np.frombuffer(handle.get_integerarray_as_string(), "<i4").reshape(slow, fast)
    return header, pixels


@pytest.mark.parametrize("delta", [0, 127, -127, 128, -128, 32767, -32767, 32768, -32768,
                                   2**31 - 1])
def test_byte_offset_edges_read_back_with_fabio_and_pycbf(tmp_path, delta):
    """Each escape boundary of x-CBF_BYTE_OFFSET, decoded by both independent readers."""
    import fabio

    base = 0 if delta >= 0 else 2**31 - 1
    pixels = np.array([[base, base + delta, base, 7]], dtype=np.int64).clip(-2**31, 2**31 - 1)
    pixels = pixels.astype(np.int32)
    header = CBFHeader(1.72e-4, 0.2, 1.0, 1.5, 0.5, 0.0, 0.1, 1.0, 65535)
    path = tmp_path / "edge.cbf"
    path.write_bytes(cbf_bytes(header, pixels))
    np.testing.assert_array_equal(fabio.open(str(path)).data, pixels)
    np.testing.assert_array_equal(_pycbf_read(path)[1], pixels)
    sizes = {0: 1, 127: 1, 128: 3, 32767: 3, 32768: 7}
    assert len(byte_offset_compress(np.array([0, delta]))) == 1 + sizes.get(abs(delta), 7)


def test_cbf_frames_open_with_fabio_and_pycbf(tmp_path, monkeypatch, capsys):
    import fabio

    status, _, err = run_series(["--frames", str(FRAMES), "--osc", str(OSC), "--phi0", str(PHI0),
                                 "--format", "cbf", "--out", "cbf", "--quiet", "--", *SMALL],
                                tmp_path, monkeypatch, capsys)
    assert status == 0, err
    status, _, err = run_series(["--frames", str(FRAMES), "--osc", str(OSC), "--phi0", str(PHI0),
                                 "--out", "smv", "--quiet", "--", *SMALL],
                                tmp_path, monkeypatch, capsys)
    assert status == 0, err
    for i in range(FRAMES):
        path = tmp_path / "cbf" / f"frame_{i + 1:05d}.cbf"
        by_fabio = fabio.open(str(path))
        header_text, by_pycbf = _pycbf_read(path)
        noise = fabio.open(str(tmp_path / "smv" / f"frame_{i + 1:05d}.img")).data
        np.testing.assert_array_equal(by_fabio.data, noise)
        np.testing.assert_array_equal(by_pycbf, noise)
        fabio_text = by_fabio.header["_array_data.header_contents"]
        assert fabio_text.strip().splitlines() == header_text.strip().splitlines()
        values = _header_values(header_text)
        assert values["Pixel_size"] == "0.0016 m x 0.0016 m"
        assert values["Wavelength"] == "1.000000 A"
        assert values["Detector_distance"] == "0.100000 m"
        assert values["Beam_xy"] == f"({BEAM_CENTRE_PX[0]:.4f}, {BEAM_CENTRE_PX[1]:.4f}) pixels"
        assert float(values["Start_angle"].split()[0]) == pytest.approx(PHI0 + i * OSC)
        assert float(values["Angle_increment"].split()[0]) == pytest.approx(OSC)
        assert values["Exposure_time"] == values["Exposure_period"] == "0.5 s"
        assert values["Count_cutoff"] == "65535 counts"
        assert values["Image"].startswith("noise image: Poisson photons + ADC offset 40")


def _nexus_point_of_pixel(module, nxmx, fast: float, slow: float) -> np.ndarray:
    """Lab (NeXus, mm) position of a continuous pixel coordinate, from the depends_on chain."""
    origin = nxmx.get_cumulative_transformation(
        nxmx.get_dependency_chain(module.module_offset))[0][:3, 3]
    f = module.fast_pixel_direction
    s = module.slow_pixel_direction
    f_mm = f[()].to("mm").magnitude[0] * np.asarray(f.vector)
    s_mm = s[()].to("mm").magnitude[0] * np.asarray(s.vector)
    return origin + fast * f_mm + slow * s_mm


def test_nxmx_file_reports_the_configured_geometry(tmp_path, monkeypatch, capsys):
    import nxmx

    status, _, err = run_series(["--frames", str(FRAMES), "--osc", str(OSC), "--phi0", str(PHI0),
                                 "--format", "h5", "--out", "h5", "--quiet", "--", *SMALL],
                                tmp_path, monkeypatch, capsys)
    assert status == 0, err
    status, _, err = run_series(["--frames", str(FRAMES), "--osc", str(OSC), "--phi0", str(PHI0),
                                 "--out", "smv", "--quiet", "--", *SMALL],
                                tmp_path, monkeypatch, capsys)
    assert status == 0, err
    import fabio

    with h5py.File(tmp_path / "h5" / "series.h5") as h5:
        entry = nxmx.NXmx(h5).entries[0]
        assert entry.definition == "NXmx"
        det = entry.instruments[0].detectors[0]
        centre = (det.beam_center_x.to("pixel").magnitude, det.beam_center_y.to("pixel").magnitude)
        assert centre == pytest.approx(BEAM_CENTRE_PX, rel=1e-12)
        assert det.distance.to("mm").magnitude == pytest.approx(100.0, rel=1e-12)
        assert h5["entry/instrument/detector/x_pixel_size"][()] == pytest.approx(0.0016)
        wavelength = entry.instruments[0].beams[0].incident_wavelength
        assert wavelength.to("angstrom").magnitude == pytest.approx(1.0, rel=1e-12)
        # the chain places the direct beam (0, 0, z) at the beam centre, 100 mm away
        module = det.modules[0]
        hit = _nexus_point_of_pixel(module, nxmx, *BEAM_CENTRE_PX)
        np.testing.assert_allclose(hit, [0.0, 0.0, 100.0], atol=1e-9)
        assert list(module.data_size) == [32, 32]
        for axis in (module.fast_pixel_direction, module.slow_pixel_direction):  # pixel size
            assert axis[()].to("mm").magnitude == pytest.approx([1.6], rel=1e-12)
        # MOSFLM spindle = lab +z = NeXus -x (the usual omega axis)
        sample = entry.samples[0]
        axes = nxmx.get_rotation_axes(nxmx.get_dependency_chain(sample.depends_on))
        np.testing.assert_allclose(axes.axes, [[-1.0, 0.0, 0.0]], atol=1e-15)
        assert list(axes.is_scan_axis) == [True]
        angles = sample.depends_on[()].to("degree").magnitude
        np.testing.assert_allclose(angles, [PHI0 + i * OSC for i in range(FRAMES)], rtol=1e-12)
        assert sample.depends_on.increment_set.to("degree").magnitude == pytest.approx(OSC)
        data = h5["entry/data/data"]
        assert data.shape == (FRAMES, 32, 32) and data.chunks == (1, 32, 32)
        assert data._filters  # compressed (bitshuffle/LZ4)
        for i in range(FRAMES):
            smv = fabio.open(str(tmp_path / "smv" / f"frame_{i + 1:05d}.img")).data
            np.testing.assert_array_equal(data[i], smv)


def test_single_image_cbf_and_h5_hold_the_noise_image_or_say_otherwise(
        tmp_path, monkeypatch, capsys):
    import fabio

    args = [*SMALL, "-seed", "7", "-noprogress", "-cbf", "x.cbf", "-h5", "x.h5"]
    assert run_nanobragg(args, tmp_path, monkeypatch, capsys) == 0
    noise = fabio.open(str(tmp_path / "noiseimage.img")).data
    cbf = fabio.open(str(tmp_path / "x.cbf"))
    np.testing.assert_array_equal(cbf.data, noise)
    assert "Count_cutoff 65535" in cbf.header["_array_data.header_contents"]
    with h5py.File(tmp_path / "x.h5") as h5:
        np.testing.assert_array_equal(h5["entry/data/data"][0], noise)
        assert h5["entry/definition"][()] == b"NXmx"
        assert "noise image" in h5["entry/data/data"].attrs["image"]
    assert run_nanobragg([*SMALL, "-nonoise", "-noprogress", "-cbf", "y.cbf", "-h5", "y.h5"],
                         tmp_path, monkeypatch, capsys) == 0
    ints = fabio.open(str(tmp_path / "intimage.img")).data
    cbf = fabio.open(str(tmp_path / "y.cbf"))
    np.testing.assert_array_equal(cbf.data, ints)
    assert "# Image: int image" in cbf.header["_array_data.header_contents"]
    floats = np.fromfile(tmp_path / "floatimage.bin", "<f4").reshape(32, 32)
    with h5py.File(tmp_path / "y.h5") as h5:
        np.testing.assert_array_equal(h5["entry/data/data"][0], floats)
        assert h5["entry/data/data"].attrs["image"].startswith("float image")
