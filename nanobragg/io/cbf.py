"""CBF images with Pilatus miniCBF headers (``-cbf``, ``nanobragg-series --format cbf``),
and reading any CBF image through fabio (:func:`read_cbf`).

A miniCBF is one CIF data block: the ``PILATUS_1.2`` header text (the ``# Key value`` lines the
DIALS/dxtbx Pilatus reader, XDS and CrystFEL read: pixel size, sensor thickness, exposure time
and period, count cutoff, wavelength, distance, beam centre, start angle and increment,
two-theta), then one MIME binary section holding signed 32-bit pixels [slow, fast] with the
``x-CBF_BYTE_OFFSET`` compression: each pixel is stored as its difference from the previous one
(the first from 0) in 1 byte when it fits in [-127, 127], else a 0x80 escape and 2 bytes when
it fits in [-32767, 32767], else 0x80 0x00 0x80 and 4 bytes; little-endian throughout.

``Beam_xy`` is in pixels from the outer corner of the first pixel (fast, then slow), as
Pilatus writes it and dxtbx reads it. The compression is vectorised: no Python loop over
pixels.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass

import numpy as np

from nanobragg.io.format import FileFormat

#: what starts the binary data of a CBF binary section
BINARY_MAGIC = b"\x0c\x1a\x04\xd5"
#: zero bytes after the data, as the Pilatus detectors write them
BINARY_PADDING = 4095
_BOUNDARY = "--CIF-BINARY-FORMAT-SECTION--"
_INT32 = np.iinfo(np.int32)


@dataclass(frozen=True)
class CBFHeader:
    """The geometry and exposure values of one frame, in the units the header prints.

    Attributes:
        pixel_size_m: square pixel edge.
        distance_m: sample to detector along the detector normal.
        wavelength_A: wavelength.
        beam_x_px, beam_y_px: direct-beam position, pixels from the corner (fast, slow).
        start_angle_deg, angle_increment_deg: the frame's spindle start and oscillation.
        exposure_time_s: exposure time; ``Exposure_period`` equals it (no dead time).
        count_cutoff: the largest value a pixel can hold (65535 for 16-bit images).
        thickness_m: sensor thickness (0 = no parallax).
        two_theta_deg: detector two-theta.
        image: what the pixels are (e.g. ``noise image: Poisson photons + ADC offset 40``).
        detector: the ``# Detector:`` text.
    """

    pixel_size_m: float
    distance_m: float
    wavelength_A: float
    beam_x_px: float
    beam_y_px: float
    start_angle_deg: float
    angle_increment_deg: float
    exposure_time_s: float
    count_cutoff: int
    thickness_m: float = 0.0
    two_theta_deg: float = 0.0
    image: str = "image"
    detector: str = "PILATUS (simulated by nanobragg)"
    timestamp: str = "1970-01-01T00:00:00.000"


def header_lines(h: CBFHeader) -> list[str]:
    """The ``# ...`` lines of the PILATUS_1.2 header, in the order the detectors write them."""
    return [
        f"# Detector: {h.detector}",
        f"# {h.timestamp}",
        f"# Pixel_size {h.pixel_size_m:.6g} m x {h.pixel_size_m:.6g} m",
        f"# Silicon sensor, thickness {h.thickness_m:.6f} m",
        f"# Exposure_time {h.exposure_time_s:.7g} s",
        f"# Exposure_period {h.exposure_time_s:.7g} s",
        "# Tau = 0 s",
        f"# Count_cutoff {int(h.count_cutoff)} counts",
        f"# Image: {h.image}",
        f"# Wavelength {h.wavelength_A:.6f} A",
        f"# Detector_distance {h.distance_m:.6f} m",
        f"# Beam_xy ({h.beam_x_px:.4f}, {h.beam_y_px:.4f}) pixels",
        f"# Start_angle {h.start_angle_deg:.4f} deg.",
        f"# Angle_increment {h.angle_increment_deg:.4f} deg.",
        f"# Detector_2theta {h.two_theta_deg:.4f} deg.",
        "# Oscillation_axis X, CW",
        "# N_oscillations 1",
    ]


def byte_offset_compress(pixels: np.ndarray) -> bytes:
    """``x-CBF_BYTE_OFFSET`` bytes of integer ``pixels`` in memory order (values must fit int32)."""
    values = np.ascontiguousarray(pixels).reshape(-1).astype(np.int64)
    if values.size and (values.min() < _INT32.min or values.max() > _INT32.max):
        raise ValueError("CBF pixels must fit in a signed 32-bit integer")
    delta = np.diff(values, prepend=np.int64(0))
    one = np.abs(delta) < 128
    two = ~one & (np.abs(delta) < 32768)
    four = ~one & ~two
    sizes = np.where(one, 1, np.where(two, 3, 7))
    starts = np.cumsum(sizes) - sizes
    out = np.zeros(int(sizes.sum()), dtype=np.uint8)
    out[starts[one]] = delta[one].astype(np.int8).view(np.uint8)
    for mask, escape, dtype in ((two, (0x80,), "<i2"), (four, (0x80, 0x00, 0x80), "<i4")):
        at = starts[mask]
        for k, byte in enumerate(escape):
            out[at + k] = byte
        body = delta[mask].astype(dtype).view(np.uint8).reshape(-1, np.dtype(dtype).itemsize)
        for k in range(body.shape[1]):
            out[at + len(escape) + k] = body[:, k]
    return out.tobytes()


def cbf_bytes(header: CBFHeader, pixels: np.ndarray, name: str = "image") -> bytes:
    """A whole miniCBF file for integer ``pixels`` [slow, fast]."""
    data = np.asarray(pixels)
    if data.ndim != 2 or not np.issubdtype(data.dtype, np.integer):
        raise ValueError(f"CBF pixels must be a 2-D integer array, got {data.dtype} {data.shape}")
    slow, fast = data.shape
    packed = byte_offset_compress(data)
    md5 = base64.b64encode(hashlib.md5(packed).digest()).decode("ascii")
    text = [
        "###CBF: VERSION 1.5, nanobragg miniCBF (PILATUS_1.2 header convention)",
        "",
        f"data_{_block_name(name)}",
        "",
        '_array_data.header_convention "PILATUS_1.2"',
        "_array_data.header_contents",
        ";",
        *header_lines(header),
        ";",
        "",
        "_array_data.data",
        ";",
        _BOUNDARY,
        "Content-Type: application/octet-stream;",
        '     conversions="x-CBF_BYTE_OFFSET"',
        "Content-Transfer-Encoding: BINARY",
        f"X-Binary-Size: {len(packed)}",
        "X-Binary-ID: 1",
        'X-Binary-Element-Type: "signed 32-bit integer"',
        "X-Binary-Element-Byte-Order: LITTLE_ENDIAN",
        f"Content-MD5: {md5}",
        f"X-Binary-Number-of-Elements: {slow * fast}",
        f"X-Binary-Size-Fastest-Dimension: {fast}",
        f"X-Binary-Size-Second-Dimension: {slow}",
        f"X-Binary-Size-Padding: {BINARY_PADDING}",
        "",
        "",
    ]
    head = "\r\n".join(text).encode("ascii")
    tail = f"\r\n{_BOUNDARY}--\r\n;\r\n\r\n".encode("ascii")
    return head + BINARY_MAGIC + packed + bytes(BINARY_PADDING) + tail


def _block_name(name: str) -> str:
    """A CIF data block name: no white space."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return cleaned or "image"


def read_cbf(path: str | os.PathLike[str]) -> np.ndarray:
    """The pixels of a CBF file as a float64 [slow, fast] array.

    Raises:
        ImportError: fabio is not installed.
        ValueError: the file cannot be decoded as a 2-D CBF image.
    """
    import fabio

    try:
        data = fabio.open(str(path)).data
    except Exception as exc:  # noqa: BLE001 - fabio raises many types for undecodable files
        raise ValueError(f"{path}: not a readable CBF image ({exc})") from None
    if data is None or np.ndim(data) != 2:
        raise ValueError(f"{path}: CBF holds no 2-D image")
    return np.asarray(data, dtype=np.float64)


def cbf_pixels(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    return read_cbf(path)


FORMAT = FileFormat(
    name="cbf", what="-cbf: miniCBF, byte-offset compressed int32 counts (read through fabio)",
    suffixes=(".cbf",), understand=lambda head: head.startswith(b"###CBF"), read=read_cbf,
    write=cbf_bytes, pixels=cbf_pixels)
