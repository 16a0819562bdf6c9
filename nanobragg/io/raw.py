"""The raw float image (``-floatfile``): float32 photons/pixel, no header.

C ``fwrite``s the image in the host's byte order (little-endian on x86-64), row-major
[slow, fast] with the fast index varying fastest.
"""

from __future__ import annotations

import os

import numpy as np

from nanobragg.io.atomic import atomic_write_bytes
from nanobragg.io.format import FileFormat, Shape

#: dtype of the float file: float32 in the host's native byte order.
FLOAT_DTYPE = np.dtype("=f4")


def float_image_bytes(image: np.ndarray) -> bytes:
    """The bytes C writes for a [slow, fast] image (values rounded to float32 if needed)."""
    data = np.asarray(image)
    if data.ndim != 2:
        raise ValueError(f"image must be 2-D [slow, fast], got shape {data.shape}")
    return np.ascontiguousarray(data, dtype=FLOAT_DTYPE).tobytes()


def write_float_image(path: str | os.PathLike[str], image: np.ndarray) -> None:
    """Write a [slow, fast] float image as raw native float32 (atomically)."""
    atomic_write_bytes(path, float_image_bytes(image))


def read_float_image(path: str | os.PathLike[str], shape: tuple[int, int]) -> np.ndarray:
    """Read a raw float image of ``shape`` = (slow, fast); returns float32 [slow, fast].

    Raises:
        ValueError: the file size is not 4 * slow * fast bytes.
        OSError: the file cannot be read.
    """
    slow, fast = shape
    size = os.stat(path).st_size
    if size != 4 * slow * fast:
        raise ValueError(f"float image {path} has {size} bytes but shape {slow}x{fast} "
                         f"(slow x fast) needs {4 * slow * fast}")
    data = np.fromfile(path, dtype=FLOAT_DTYPE)
    return data.reshape(slow, fast).astype(np.float32, copy=False)


def float_pixels(path: str | os.PathLike[str], shape: Shape | None) -> np.ndarray:
    """The raw float image as float64 [slow, fast]; the file does not say its shape.

    Raises:
        ValueError: no ``shape``, or a file of another size.
    """
    if shape is None:
        raise ValueError(f"{path}: raw float image needs a shape (pass --shape SLOW FAST or "
                         f"nanoBragg args)")
    return read_float_image(path, shape).astype(np.float64)


#: no signature: the image format of any file no other image format recognises
FORMAT = FileFormat(
    name="raw", what="-floatfile: float32 photons/pixel [slow, fast], no header",
    read=read_float_image, write=float_image_bytes, pixels=float_pixels)
