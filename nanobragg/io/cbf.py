"""CBF images (Pilatus-style, byte-offset compressed), through fabio."""

from __future__ import annotations

import os

import numpy as np


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
