"""SMV (ADSC) images as the C program writes (``-intfile``, ``-noisefile``) and reads them
(``-img``, ``-mask``).

Written file: an ASCII header ``{\\n KEY=value;\\n ... }\\f`` with C's fixed key order and ``%g``
values, padded with spaces to 512 bytes -- and *not* padded (nor truncated) when the text is
longer than 512 bytes, although it still says ``HEADER_BYTES=512`` (quirk
``smv_header_overflow``) -- followed by ``uint16`` pixels [slow, fast] in the host byte order.
``DIALS_ORIGIN`` has no trailing ``;``.

Reading: the pixel data are taken as the *last* 2*slow*fast bytes, so overflowing headers are
handled.  Header values are looked up like C's ``ValueOf``: the *last* occurrence of the keyword
as a substring anywhere in the header, then ``atof`` of the text after the next ``=``.  This
means, e.g., that ``DISTANCE`` is read from ``CLOSE_DISTANCE`` (which comes later in C's own
headers) and ``ORGX`` from ``XDS_ORGX``.
"""

from __future__ import annotations

import math
import os
import re
import sys
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nanobragg.errors import InputFileError
from nanobragg.io.atomic import atomic_write_bytes
from nanobragg.io.format import FileFormat
from nanobragg.io.inputfile import read_input_bytes
from nanobragg.units import RTD

#: The header size C declares (and pads to when the text is shorter).
SMV_HEADER_BYTES = 512
#: The host byte order as C's header names it.
NATIVE_BYTE_ORDER = "little_endian" if sys.byteorder == "little" else "big_endian"
#: What C's reader checks at the top of a file (first 12 bytes of this prefix).
_SMV_MAGIC = b"{\nHEADER_BYT"

_ATOF_RE = re.compile(
    r"[ \t\n\v\f\r]*("
    r"[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?\d+)?"
    r"|[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
    r"|[+-]?(?:inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)"
    r")",
    re.IGNORECASE,
)
_HEADER_ITEM_RE = re.compile(r"(\w+)=([^;\n]*)")


# ----------------------------------------------------------------------------------------------
# C-compatible number formatting and parsing
# ----------------------------------------------------------------------------------------------


def c_format_g(value: float) -> str:
    """C's ``printf("%g", value)`` (6 significant digits, ``-nan`` for negative NaN)."""
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    return f"{value:g}"


def c_atof(text: str) -> float:
    """C's ``atof``: the longest leading number of ``text`` after white space, else 0.0."""
    match = _ATOF_RE.match(text)
    if match is None:
        return 0.0
    token = match.group(1)
    lowered = token.lower()
    if "x" in lowered and "n" not in lowered:
        sign = -1.0 if token.startswith("-") else 1.0
        body = token.lstrip("+-")
        if "p" not in body.lower():
            body += "p0"
        return sign * float.fromhex(body)
    if "nan" in lowered:
        return math.copysign(math.nan, -1.0 if token.startswith("-") else 1.0)
    return float(token)


def header_value(keyword: str, header_text: str) -> float:
    """C's ``ValueOf(keyword, header)``.

    Finds the last occurrence of ``keyword`` as a substring of ``header_text`` (the search
    resumes after each match), then parses the text after the next ``=`` with ``atof``.

    Returns:
        NaN when the keyword does not occur; 0.0 when no ``=`` follows it.
    """
    end = -1
    start = 0
    while keyword:
        found = header_text.find(keyword, start)
        if found < 0:
            break
        end = found + len(keyword)
        start = end
    if end < 0:
        return math.nan
    equals = header_text.find("=", end)
    if equals < 0:
        return 0.0
    return c_atof(header_text[equals + 1 :])


# ----------------------------------------------------------------------------------------------
# Header values record
# ----------------------------------------------------------------------------------------------


class HeaderFrame(Protocol):
    """What the header needs of a detector (SI units; numbers may be 0-d tensors): its pixel
    grid and the values it derives from its frame (see ``nanobragg.detector``)."""

    fpixels: int
    spixels: int
    pixel_size: float
    detsize_s: float
    distance: Any
    close_distance: Any
    beam_x: Any
    beam_y: Any
    fbeam: Any
    sbeam: Any
    orgx: Any
    orgy: Any
    dials_origin_mm: Any
    twotheta: Any


@dataclass(frozen=True)
class SMVHeaderValues:
    """The numbers C writes into an SMV header, in header units, in C's order.

    Attributes:
        size1: fast pixels (``SIZE1``).
        size2: slow pixels (``SIZE2``).
        pixel_size_mm: ``PIXEL_SIZE`` [mm].
        distance_mm: ``DISTANCE`` [mm].
        wavelength_A: ``WAVELENGTH`` [Angstrom].
        beam_center_x, beam_center_y: ``BEAM_CENTER_X/Y`` = Xbeam, Ybeam [mm].
        adxv_center_x, adxv_center_y: ``ADXV_CENTER_X/Y`` = Fbeam, detsize_s - Sbeam [mm].
        mosflm_center_x, mosflm_center_y: ``MOSFLM_CENTER_X/Y`` = Sbeam - px/2, Fbeam - px/2
            [mm].
        denzo_x_beam, denzo_y_beam: ``DENZO_X_BEAM/DENZO_Y_BEAM`` = Sbeam, Fbeam [mm].
        dials_origin: ``DIALS_ORIGIN`` (x, y, z) [mm].
        xds_orgx, xds_orgy: ``XDS_ORGX/Y`` [pixels].
        close_distance_mm: ``CLOSE_DISTANCE`` [mm].
        phi_deg, osc_start_deg, osc_range_deg: ``PHI``, ``OSC_START``, ``OSC_RANGE`` [deg].
        twotheta_deg: ``TWOTHETA`` [deg] (C writes the *detector* two-theta).
        byte_order: ``BYTE_ORDER`` text (the host's, as C).
    """

    size1: int
    size2: int
    pixel_size_mm: float
    distance_mm: float
    wavelength_A: float
    beam_center_x: float
    beam_center_y: float
    adxv_center_x: float
    adxv_center_y: float
    mosflm_center_x: float
    mosflm_center_y: float
    denzo_x_beam: float
    denzo_y_beam: float
    dials_origin: tuple[float, float, float]
    xds_orgx: float
    xds_orgy: float
    close_distance_mm: float
    phi_deg: float
    osc_start_deg: float
    osc_range_deg: float
    twotheta_deg: float
    byte_order: str = NATIVE_BYTE_ORDER

    def for_noise_image(self) -> SMVHeaderValues:
        """The noise image's header: C writes its DENZO centre as ``(beam + 0.0*px)*1000``
        where the int image has ``(beam - 0.0*px)*1000``; only a beam at -0.0 tells them
        apart (``-0`` in the int image, ``0`` in the noise image)."""
        return replace(self, denzo_x_beam=self.denzo_x_beam + 0.0,
                       denzo_y_beam=self.denzo_y_beam + 0.0)

    @classmethod
    def from_detector(
        cls, detector: HeaderFrame, *, wavelength_m: float, phi0_rad: float, osc_rad: float
    ) -> SMVHeaderValues:
        """Header values from a resolved detector (``nanobragg.detector.DetectorGeometry``:
        SI units, radians; its numbers may be 0-d tensors) and the beam and spindle values.

        Evaluates exactly C's expressions (e.g. ``(Sbeam - 0.5*pixel_size)*1000``,
        ``phi0*RTD``) in double, so the printed ``%g`` values match. These are the int
        image's values; :meth:`for_noise_image` gives the noise image's.
        """
        d = detector
        px, fbeam, sbeam = float(d.pixel_size), float(d.fbeam), float(d.sbeam)
        dials = [float(v) for v in d.dials_origin_mm]
        return cls(
            size1=int(d.fpixels),
            size2=int(d.spixels),
            pixel_size_mm=px * 1000.0,
            distance_mm=float(d.distance) * 1000.0,
            wavelength_A=float(wavelength_m) * 1e10,
            beam_center_x=float(d.beam_x) * 1000.0,
            beam_center_y=float(d.beam_y) * 1000.0,
            adxv_center_x=fbeam * 1000.0,
            adxv_center_y=(float(d.detsize_s) - sbeam) * 1000.0,
            mosflm_center_x=(sbeam - 0.5 * px) * 1000.0,
            mosflm_center_y=(fbeam - 0.5 * px) * 1000.0,
            denzo_x_beam=(sbeam - 0.0 * px) * 1000.0,
            denzo_y_beam=(fbeam - 0.0 * px) * 1000.0,
            dials_origin=(dials[0], dials[1], dials[2]),
            xds_orgx=float(d.orgx),
            xds_orgy=float(d.orgy),
            close_distance_mm=float(d.close_distance) * 1000.0,
            phi_deg=float(phi0_rad) * RTD,
            osc_start_deg=float(phi0_rad) * RTD,
            osc_range_deg=float(osc_rad) * RTD,
            twotheta_deg=float(d.twotheta) * RTD,
        )

    @classmethod
    def from_header(cls, header: dict[str, str]) -> SMVHeaderValues:
        """Values parsed back from a header dict as returned by :func:`read_smv` (exact keys)."""

        def num(key: str) -> float:
            return c_atof(header[key])

        dials = tuple(c_atof(v) for v in header["DIALS_ORIGIN"].split(","))
        if len(dials) != 3:
            raise ValueError(f"DIALS_ORIGIN needs 3 values, got {header['DIALS_ORIGIN']!r}")
        return cls(
            size1=int(num("SIZE1")),
            size2=int(num("SIZE2")),
            pixel_size_mm=num("PIXEL_SIZE"),
            distance_mm=num("DISTANCE"),
            wavelength_A=num("WAVELENGTH"),
            beam_center_x=num("BEAM_CENTER_X"),
            beam_center_y=num("BEAM_CENTER_Y"),
            adxv_center_x=num("ADXV_CENTER_X"),
            adxv_center_y=num("ADXV_CENTER_Y"),
            mosflm_center_x=num("MOSFLM_CENTER_X"),
            mosflm_center_y=num("MOSFLM_CENTER_Y"),
            denzo_x_beam=num("DENZO_X_BEAM"),
            denzo_y_beam=num("DENZO_Y_BEAM"),
            dials_origin=(dials[0], dials[1], dials[2]),
            xds_orgx=num("XDS_ORGX"),
            xds_orgy=num("XDS_ORGY"),
            close_distance_mm=num("CLOSE_DISTANCE"),
            phi_deg=num("PHI"),
            osc_start_deg=num("OSC_START"),
            osc_range_deg=num("OSC_RANGE"),
            twotheta_deg=num("TWOTHETA"),
            byte_order=header.get("BYTE_ORDER", NATIVE_BYTE_ORDER),
        )

    def as_dict(self) -> dict[str, object]:
        """Field name -> value."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


# ----------------------------------------------------------------------------------------------
# Writing
# ----------------------------------------------------------------------------------------------


def smv_header_text(values: SMVHeaderValues) -> str:
    """The header text C prints, from ``{`` to the closing ``}\\f`` (no padding)."""
    g = c_format_g
    ox, oy, oz = values.dials_origin
    lines = [
        "{",
        f"HEADER_BYTES={SMV_HEADER_BYTES};",
        "DIM=2;",
        f"BYTE_ORDER={values.byte_order};",
        "TYPE=unsigned_short;",
        f"SIZE1={int(values.size1)};",
        f"SIZE2={int(values.size2)};",
        f"PIXEL_SIZE={g(values.pixel_size_mm)};",
        f"DISTANCE={g(values.distance_mm)};",
        f"WAVELENGTH={g(values.wavelength_A)};",
        f"BEAM_CENTER_X={g(values.beam_center_x)};",
        f"BEAM_CENTER_Y={g(values.beam_center_y)};",
        f"ADXV_CENTER_X={g(values.adxv_center_x)};",
        f"ADXV_CENTER_Y={g(values.adxv_center_y)};",
        f"MOSFLM_CENTER_X={g(values.mosflm_center_x)};",
        f"MOSFLM_CENTER_Y={g(values.mosflm_center_y)};",
        f"DENZO_X_BEAM={g(values.denzo_x_beam)};",
        f"DENZO_Y_BEAM={g(values.denzo_y_beam)};",
        f"DIALS_ORIGIN={g(ox)},{g(oy)},{g(oz)}",
        f"XDS_ORGX={g(values.xds_orgx)};",
        f"XDS_ORGY={g(values.xds_orgy)};",
        f"CLOSE_DISTANCE={g(values.close_distance_mm)};",
        f"PHI={g(values.phi_deg)};",
        f"OSC_START={g(values.osc_start_deg)};",
        f"OSC_RANGE={g(values.osc_range_deg)};",
        f"TWOTHETA={g(values.twotheta_deg)};",
        "DETECTOR_SN=000;",
        "BEAMLINE=fake;",
    ]
    return "\n".join(lines) + "\n}\f"


def smv_header_bytes(values: SMVHeaderValues) -> bytes:
    """The header bytes: text padded with spaces to 512 bytes, unpadded when longer."""
    text = smv_header_text(values).encode("ascii")
    return text.ljust(SMV_HEADER_BYTES, b" ")


def smv_bytes(values: SMVHeaderValues, data: np.ndarray) -> bytes:
    """Whole SMV file content for uint16 ``data`` [slow, fast] (host byte order)."""
    pixels = np.asarray(data)
    if pixels.shape != (values.size2, values.size1):
        raise ValueError(
            f"data shape {pixels.shape} != (SIZE2, SIZE1) = ({values.size2}, {values.size1})"
        )
    if pixels.dtype != np.uint16:
        raise TypeError(f"SMV data must be uint16, got {pixels.dtype}")
    return smv_header_bytes(values) + np.ascontiguousarray(pixels, dtype="=u2").tobytes()


def write_smv(path: str | os.PathLike[str], values: SMVHeaderValues, data: np.ndarray) -> None:
    """Write an SMV file exactly as C's int/noise output (atomically)."""
    atomic_write_bytes(path, smv_bytes(values, data))


# ----------------------------------------------------------------------------------------------
# Reading
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SMVImage:
    """An SMV file read back.

    Attributes:
        header_text: everything before the pixel data, decoded as latin-1.
        c_header: the part C's reader searches (first HEADER_BYTES bytes, up to the first NUL).
        header: key -> raw value text of every ``KEY=value`` item (last occurrence wins).
        data: uint16 [slow, fast] pixels, host byte order (C ignores BYTE_ORDER when reading).
        raw: the whole file content.
    """

    header_text: str
    c_header: str
    header: dict[str, str]
    data: np.ndarray

    raw: bytes = field(default=b"", repr=False)

    def value(self, keyword: str) -> float:
        """C's ``ValueOf(keyword)`` on this header (NaN if absent)."""
        return header_value(keyword, self.c_header)

    def data_as_c_reads(self) -> np.ndarray:
        """uint16 [slow, fast] pixels as C's GetFrame + copy loop see them.

        C takes the pixels from byte offset ``HEADER_BYTES`` (not from the end of the file) and
        zero-fills what the file lacks.  This equals :attr:`data` unless the header overflows
        its declared size.
        """
        slow, fast = self.shape
        offset = _c_int(self.value("HEADER_BYTES"), "HEADER_BYTES") // 2 * 2
        chunk = self.raw[offset : offset + 2 * slow * fast]
        padded = chunk + b"\0" * (2 * slow * fast - len(chunk))
        return np.frombuffer(padded, dtype="=u2").reshape(slow, fast)

    @property
    def shape(self) -> tuple[int, int]:
        """(slow, fast) = (SIZE2, SIZE1)."""
        return int(self.data.shape[0]), int(self.data.shape[1])

    def pixels(self) -> np.ndarray:
        """float64 [slow, fast] pixels in the header's BYTE_ORDER (C's reader ignores it; a
        viewer of the image, as nb-compare and the refiner are, should not)."""
        stated = self.header.get("BYTE_ORDER", "").strip()
        swap = stated in ("little_endian", "big_endian") and stated != NATIVE_BYTE_ORDER
        data = self.data.byteswap() if swap else self.data
        return data.astype(np.float64)


def _c_visible_header(raw: bytes, size: int) -> str:
    """The first ``size`` bytes as a C string (cut at the first NUL), latin-1."""
    head = raw[:size]
    nul = head.find(b"\0")
    if nul >= 0:
        head = head[:nul]
    return head.decode("latin-1")


def _c_int(value: float, what: str) -> int:
    if not math.isfinite(value):
        raise ValueError(f"SMV header has no usable {what}")
    return int(value)


def parse_smv_bytes(raw: bytes, name: str = "<bytes>") -> SMVImage:
    """Parse SMV file content (see :func:`read_smv`)."""
    if not raw.startswith(_SMV_MAGIC):
        raise ValueError(f"{name} does not look like an ADSC frame!")
    c_header = _c_visible_header(raw, SMV_HEADER_BYTES)
    header_bytes = _c_int(header_value("HEADER_BYTES", c_header), "HEADER_BYTES")
    if header_bytes != SMV_HEADER_BYTES:
        c_header = _c_visible_header(raw, header_bytes)
    fast = _c_int(header_value("SIZE1", c_header), "SIZE1")
    slow = _c_int(header_value("SIZE2", c_header), "SIZE2")
    if fast == 0:
        fast = slow = _c_int(header_value("DETECTOR_DIMENSIONS", c_header), "SIZE1")
    nbytes = 2 * slow * fast
    if fast <= 0 or slow <= 0 or nbytes > len(raw):
        raise ValueError(f"{name}: {len(raw)} bytes cannot hold {slow}x{fast} uint16 pixels")
    header_text = raw[: len(raw) - nbytes].decode("latin-1")
    data = np.frombuffer(raw, dtype="=u2", count=slow * fast, offset=len(raw) - nbytes)
    header = dict(_HEADER_ITEM_RE.findall(header_text))
    return SMVImage(header_text, c_header, header, data.reshape(slow, fast), raw)


def read_smv(path: str | os.PathLike[str]) -> SMVImage:
    """Read an SMV file as C's ``-img``/``-mask`` reader does.

    The size comes from ``SIZE1``/``SIZE2`` (``DETECTOR_DIMENSIONS`` if SIZE1 is 0) looked up
    with :func:`header_value`; the pixels are the last 2*slow*fast bytes of the file.

    Raises:
        ValueError: not an SMV file (C's check on the first 12 bytes), or sizes inconsistent.
    """
    return parse_smv_bytes(Path(path).read_bytes(), str(path))


def header_geometry(
    smv: SMVImage, *, is_mask: bool, pixel_size_m: float = 0.0001
) -> dict[str, float | int]:
    """The settings C takes from an ``-img`` or ``-mask`` header, in C's internal units.

    C reads these before the command line (so command-line flags override them), and only
    keys present in the header change a setting (``ValueOf`` gives NaN otherwise).  ``-mask``
    differs from ``-img`` in one place: its BEAM_CENTER_Y is taken as ``detsize_s - value``
    (quirk ``mask_header_beam_center_y_flipped``), with ``detsize_s = pixel_size * spixels``
    after any PIXEL_SIZE of the header.  Remember the substring lookup: DISTANCE comes from
    CLOSE_DISTANCE when that key follows it, ORGX/ORGY from XDS_ORGX/XDS_ORGY.

    Args:
        smv: the file read with :func:`read_smv`.
        is_mask: True for ``-mask``, False for ``-img``.
        pixel_size_m: the pixel size in effect before the header is read (C default 0.1 mm).

    Returns:
        ``fpixels``, ``spixels`` (always) and, for keys present, ``pixel_size``, ``distance``,
        ``close_distance``, ``Xbeam``, ``Ybeam`` [m], ``lambda0`` [m], ``ORGX``, ``ORGY``
        [pixels], ``phi0``, ``osc``, ``twotheta`` [rad].
    """
    spixels, fpixels = smv.shape
    out: dict[str, float | int] = {"fpixels": fpixels, "spixels": spixels}

    def take(keyword: str) -> float | None:
        value = smv.value(keyword)
        return None if math.isnan(value) else value

    if (v := take("PIXEL_SIZE")) is not None:
        pixel_size_m = v / 1000.0
        out["pixel_size"] = pixel_size_m
    detsize_s = pixel_size_m * spixels
    scaled = {
        "DISTANCE": ("distance", 1000.0),
        "CLOSE_DISTANCE": ("close_distance", 1000.0),
        "WAVELENGTH": ("lambda0", 1e10),
        "BEAM_CENTER_X": ("Xbeam", 1000.0),
    }
    for keyword, (name, divisor) in scaled.items():
        if (v := take(keyword)) is not None:
            out[name] = v / divisor
    if (v := take("BEAM_CENTER_Y")) is not None:
        out["Ybeam"] = detsize_s - v / 1000.0 if is_mask else v / 1000.0
    for keyword in ("ORGX", "ORGY"):
        if (v := take(keyword)) is not None:
            out[keyword] = v
    for keyword, name in (("PHI", "phi0"), ("OSC_RANGE", "osc"), ("TWOTHETA", "twotheta")):
        if (v := take(keyword)) is not None:
            out[name] = v / RTD
    return out


def read_smv_input(path: Path, display: str) -> SMVImage:
    """An ``-img``/``-mask`` input read as C's reader does (bounded, regular files only), with
    one-line :class:`~nanobragg.errors.InputFileError` messages naming the file as typed;
    header values come from :meth:`SMVImage.value` (C's ``ValueOf``, NaN when absent)."""
    raw = read_input_bytes(path, display)
    try:
        smv = parse_smv_bytes(raw, display)
    except ValueError as exc:
        message = str(exc)
        if not message.startswith(display):
            message = f"{display}: {message}"
        raise InputFileError(message) from None
    header_bytes = smv.value("HEADER_BYTES")
    slow, fast = smv.shape
    if len(raw) < header_bytes + 2 * slow * fast:
        raise InputFileError(
            f"{display}: truncated SMV file: {len(raw)} bytes, but HEADER_BYTES={header_bytes:g} "
            f"and {fast}x{slow} 2-byte pixels need {header_bytes + 2 * slow * fast:g}"
        )
    return smv


def smv_pixels(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    """The pixels of an SMV file as float64 [slow, fast] (its header gives the shape)."""
    return read_smv(path).pixels()


FORMAT = FileFormat(
    name="smv", what="-intfile/-noisefile, -img/-mask: ADSC SMV, a text header and uint16 pixels",
    understand=lambda head: head.startswith(b"{"), read=read_smv,
    write=smv_bytes, pixels=smv_pixels)
