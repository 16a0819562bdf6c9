"""Observed images and masks: any image format of :mod:`nanobragg.io.registry` (SMV, HDF5,
CBF, ``.npy``, else raw float), as counts per pixel."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nanobragg.io import registry
from nanobragg.refine.errors import RefineError

#: nanobragg's -intfile/-noisefile add this ADC offset (C default); raw floats carry none
SMV_DEFAULT_ADC = 40.0


def image_format(path: Path) -> str:
    """'smv', 'cbf', 'hdf5', 'npy' or 'raw', from the first bytes and the name."""
    return registry.image_format(Path(path)).name


def read_observed(path: str | Path, shape: tuple[int, int] | None,
                  name: str | None = None) -> tuple[np.ndarray, str]:
    """(pixels as float64 [slow, fast], format) of an observed image; one-line errors naming
    the file as ``name`` (default: the path)."""
    path = Path(path)
    name = str(path) if name is None else name
    if not path.is_file():
        raise RefineError(f"--image {name}: no such file")
    fmt = registry.image_format(path)
    if fmt.name == "raw" and shape is None:
        raise RefineError(f"--image {name}: a raw float file needs --shape SLOW FAST")
    try:
        return fmt.pixels(path, shape), fmt.name
    except ImportError as exc:
        raise RefineError(f"--image {name}: reading {fmt.name} needs the package {exc.name}"
                          ) from None
    except (ValueError, OSError) as exc:
        raise RefineError(f"--image {name}: {exc}") from None


def read_mask(path: str | Path) -> np.ndarray:
    """An SMV mask (as nanobragg's -mask): True where the pixel is used (value != 0)."""
    from nanobragg.io.smv import read_smv

    try:
        return read_smv(path).data != 0
    except (ValueError, OSError) as exc:
        raise RefineError(f"--mask {path}: {exc}") from None


def check_shape(image: np.ndarray, detector: tuple[int, int], name: str) -> None:
    if tuple(image.shape) != tuple(detector):
        raise RefineError(
            f"{name}: image is {image.shape[1]}x{image.shape[0]} pixels (fast x slow) but the "
            f"model's detector is {detector[1]}x{detector[0]}")
