"""Reading and validating the float images that nb-compare compares.

Every image is returned as a float64 numpy array indexed ``[slow, fast]``, read by its format
in :mod:`nanobragg.io` (found by :func:`nanobragg.io.registry.image_format`: SMV, HDF5, CBF,
``.npy``, else raw float32, which needs the shape). Problems are raised as :class:`ImageError`
with a message that names the file (or side) and what is wrong with it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nanobragg.errors import NanoBraggError
from nanobragg.io import npy, raw
from nanobragg.io.registry import image_format
from nanobragg.io.smv import SMVImage, read_smv


class ImageError(NanoBraggError):
    """An image cannot be read, has the wrong size or holds non-finite values."""


def _smv(path: Path) -> SMVImage:
    try:
        return read_smv(path)
    except OSError as exc:
        raise ImageError(f"cannot read SMV file {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ImageError(str(exc)) from None


def parse_smv_header(path: Path) -> dict[str, str]:
    """Key/value pairs of an SMV header (``KEY=value;`` items, the last occurrence wins)."""
    return _smv(path).header


def smv_shape(path: Path) -> tuple[int, int]:
    """``(slow, fast)`` = ``(SIZE2, SIZE1)`` from an SMV header."""
    return _smv(path).shape


def read_raw_float(path: Path, shape: tuple[int, int]) -> np.ndarray:
    """Raw float32 ``[slow, fast]`` (nanoBragg ``-floatfile``) as float64."""
    return _pixels(path, shape, raw.FORMAT)


def read_image(path: Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read any image format of the registry (a raw float32 file needs ``shape``); an image
    without pixels is refused (there is nothing to compare)."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"image {path} does not exist or is not a file")
    fmt = image_format(path)
    image = _pixels(path, shape, fmt)
    if shape is not None and image.shape != tuple(shape):
        what = "" if fmt is npy.FORMAT else f"{fmt.name.upper()} "
        raise ImageError(f"{path}: {what}shape {image.shape} differs from the expected {shape}")
    if image.size == 0:
        raise ImageError(f"image {path} has no pixels (shape {image.shape[0]}x{image.shape[1]})")
    return image


def _pixels(path: Path, shape: tuple[int, int] | None, fmt) -> np.ndarray:
    try:
        return fmt.pixels(path, shape)
    except ImportError as exc:
        raise ImageError(f"{path}: reading {fmt.name} needs the package {exc.name}") from None
    except OSError as exc:
        raise ImageError(f"cannot read {fmt.name} image {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ImageError(str(exc)) from None


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
