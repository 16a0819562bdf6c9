"""NumPy ``.npy`` images: a 2-D array [slow, fast], for nb-compare's reference images."""

from __future__ import annotations

import os

import numpy as np

from nanobragg.io.format import FileFormat, Shape


def read_npy_image(path: str | os.PathLike[str], shape: Shape | None = None) -> np.ndarray:
    """A 2-D ``.npy`` array as float64 [slow, fast] (no pickles).

    Raises:
        ValueError: unreadable, or not 2-D.
    """
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read .npy image {path}: {exc}") from None
    if arr.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D array, got shape {arr.shape}")
    return np.asarray(arr, dtype=np.float64)


def npy_bytes(image: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(image), allow_pickle=False)
    return buffer.getvalue()


#: recognised by name only, as nb-compare always did (its magic is not checked first)
FORMAT = FileFormat(
    name="npy", what="nb-compare: a 2-D NumPy array", suffixes=(".npy",),
    read=read_npy_image, write=npy_bytes, pixels=read_npy_image)
