"""Reading and validating the float images that nb-compare compares.

Every image is returned as a float64 numpy array indexed ``[slow, fast]``. Problems are raised as
:class:`ImageError` with a message that names the file (or side) and what is wrong with it.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from nanobragg.errors import NanoBraggError

SMV_MAX_HEADER = 65536


class ImageError(NanoBraggError):
    """An image cannot be read, has the wrong size or holds non-finite values."""


def parse_smv_header(path: Path) -> dict[str, str]:
    """Key/value pairs of an SMV header (text between ``{`` and ``}``)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SMV_MAX_HEADER)
    except OSError as exc:
        raise ImageError(f"cannot read SMV file {path}: {exc.strerror}") from exc
    if not head.startswith(b"{"):
        raise ImageError(f"{path} is not an SMV image (no '{{' at the start)")
    end = head.find(b"}")
    if end < 0:
        raise ImageError(f"{path}: SMV header has no closing '}}'")
    text = head[:end].decode("latin-1")
    return dict(re.findall(r"(\w+)=([^;\n]*)", text))


def smv_shape(path: Path) -> tuple[int, int]:
    """``(slow, fast)`` = ``(SIZE2, SIZE1)`` from an SMV header."""
    header = parse_smv_header(path)
    try:
        return int(header["SIZE2"]), int(header["SIZE1"])
    except (KeyError, ValueError) as exc:
        raise ImageError(f"{path}: SMV header lacks a valid SIZE1/SIZE2") from exc


def read_smv(path: Path) -> np.ndarray:
    """uint16 SMV pixel data (the last ``2*slow*fast`` bytes) as float64 ``[slow, fast]``."""
    slow, fast = smv_shape(path)
    header = parse_smv_header(path)
    dtype = ">u2" if header.get("BYTE_ORDER", "little_endian") == "big_endian" else "<u2"
    raw = path.read_bytes()
    n = 2 * slow * fast
    if len(raw) < n:
        raise ImageError(f"{path}: {len(raw)} bytes, too short for {slow}x{fast} uint16 pixels")
    return np.frombuffer(raw[len(raw) - n :], dtype=dtype).reshape(slow, fast).astype(np.float64)


def read_raw_float(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Raw little-endian float32 ``[slow, fast]`` (nanoBragg ``-floatfile``)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"cannot read float image {path}: {exc.strerror}") from exc
    slow, fast = shape
    expected = 4 * slow * fast
    if size != expected:
        raise ImageError(
            f"float image {path} has {size} bytes but shape {slow}x{fast} (slow x fast) "
            f"needs {expected}"
        )
    return np.fromfile(path, dtype="<f4").reshape(slow, fast).astype(np.float64)


def read_image(path: Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read ``.npy``, SMV (``{`` header) or raw float32 (needs ``shape``); an image without
    pixels is refused (there is nothing to compare)."""
    image = _read_any(Path(path), shape)
    if image.size == 0:
        raise ImageError(f"image {path} has no pixels (shape {image.shape[0]}x{image.shape[1]})")
    return image


def _read_any(path: Path, shape: tuple[int, int] | None) -> np.ndarray:
    if not path.is_file():
        raise ImageError(f"image {path} does not exist or is not a file")
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ImageError(f"cannot read .npy image {path}: {exc}") from exc
        if arr.ndim != 2:
            raise ImageError(f"{path}: expected a 2-D array, got shape {arr.shape}")
        if shape is not None and tuple(arr.shape) != tuple(shape):
            raise ImageError(f"{path}: shape {arr.shape} differs from the expected {shape}")
        return np.asarray(arr, dtype=np.float64)
    with open(path, "rb") as fh:
        first = fh.read(1)
    if first == b"{":
        image = read_smv(path)
        if shape is not None and image.shape != tuple(shape):
            raise ImageError(f"{path}: SMV shape {image.shape} differs from the expected {shape}")
        return image
    if shape is None:
        raise ImageError(
            f"{path}: raw float image needs a shape (pass --shape SLOW FAST or nanoBragg args)"
        )
    return read_raw_float(path, shape)


def check_finite(image: np.ndarray, name: str) -> str | None:
    """``None`` if all pixels are finite, else a message naming the image and the first bad one."""
    bad = ~np.isfinite(image)
    count = int(bad.sum())
    if count == 0:
        return None
    n_nan = int(np.isnan(image).sum())
    s, f = (int(v) for v in np.argwhere(bad)[0])
    return (
        f"{name} image has {count} non-finite pixel(s) ({n_nan} NaN, {count - n_nan} inf); "
        f"first at slow={s} fast={f}"
    )
