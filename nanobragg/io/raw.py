"""The raw float image (``-floatfile``): float32 photons/pixel, no header.

C ``fwrite``s the image in the host's byte order (little-endian on x86-64), row-major
[slow, fast] with the fast index varying fastest.
"""

from __future__ import annotations

import os

import numpy as np

from nanobragg.io.atomic import atomic_write_bytes

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
    """
    slow, fast = shape
    data = np.fromfile(path, dtype=FLOAT_DTYPE)
    if data.size != slow * fast:
        raise ValueError(f"{path}: {data.size} floats, expected {slow}x{fast}={slow * fast}")
    return data.reshape(slow, fast).astype(np.float32, copy=False)
