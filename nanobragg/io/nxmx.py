"""HDF5 images: NeXus/NXmx files (``/entry/data/data``) and nanobragg's ``-h5`` (``/image``)."""

from __future__ import annotations

import os

import numpy as np

#: datasets tried in order when none is named
IMAGE_DATASETS = ("entry/data/data", "image", "data")


def read_hdf5_image(path: str | os.PathLike[str], dataset: str | None = None,
                    frame: int = 0) -> np.ndarray:
    """One 2-D frame of an HDF5 image file as float64 [slow, fast].

    A 3-D dataset is a stack of frames [frame, slow, fast]; ``frame`` picks one.

    Raises:
        ImportError: h5py is not installed.
        ValueError: no such dataset, or it is not an image.
    """
    import h5py

    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not a readable HDF5 file ({exc})") from None
    with handle:
        names = [dataset] if dataset else [n for n in IMAGE_DATASETS if n in handle]
        if not names or names[0] not in handle:
            raise ValueError(f"{path}: no image dataset (looked for "
                             f"{', '.join(names if dataset else IMAGE_DATASETS)})")
        data = handle[names[0]]
        if data.ndim == 3:
            if not 0 <= frame < data.shape[0]:
                raise ValueError(f"{path}: frame {frame} outside 0..{data.shape[0] - 1}")
            return np.asarray(data[frame], dtype=np.float64)
        if data.ndim != 2:
            raise ValueError(f"{path}: dataset {names[0]} is {data.ndim}-D, not an image")
        return np.asarray(data, dtype=np.float64)
