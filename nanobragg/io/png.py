"""PNG preview with a colour scale (``-pngfile``, beyond C): the float image on the same
linear scale as C's PGM, with a colour bar in photons/pixel, so that it can be read by eye.

The PGM maps a pixel to ``min(value * pgm_scale, 255)``; the PNG shows the float image from 0
to ``255 / pgm_scale`` photons (brighter pixels saturate, as in the PGM). matplotlib is
imported only when a PNG is written (it costs start-up time).
"""

from __future__ import annotations

import io
import os

import numpy as np

from nanobragg.io.atomic import atomic_write_bytes

#: inches of the figure's long side; the image itself takes most of it
FIGURE_INCHES = 7.0
DPI = 150


def png_saturation(pgm_scale: float) -> float:
    """Photons/pixel at which the PGM (and the PNG's colour scale) saturates."""
    return 255.0 / pgm_scale if pgm_scale > 0 else 1.0


def png_bytes(image: np.ndarray, pgm_scale: float, title: str = "") -> bytes:
    """The whole PNG file for the float ``image`` [slow, fast] (photons/pixel)."""
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    data = np.asarray(image, dtype=np.float32)
    if data.ndim != 2:
        raise TypeError(f"PNG image must be 2-D, got shape {data.shape}")
    slow, fast = data.shape
    width = FIGURE_INCHES
    height = max(2.5, FIGURE_INCHES * slow / fast * 0.85)
    figure = Figure(figsize=(width, height), dpi=DPI)
    axes = figure.add_subplot()
    shown = axes.imshow(data, cmap="gray_r", vmin=0.0, vmax=png_saturation(pgm_scale),
                        interpolation="nearest", origin="upper")
    axes.set_xlabel("fast pixel")
    axes.set_ylabel("slow pixel")
    if title:
        axes.set_title(title, fontsize=9)
    bar = figure.colorbar(shown, ax=axes)
    bar.set_label("photons/pixel (saturates as the PGM does)")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight",
                   metadata={"Software": "nanobragg"})
    return buffer.getvalue()


def write_png(path: str | os.PathLike[str], image: np.ndarray, pgm_scale: float,
              title: str = "") -> None:
    """Write the PNG preview of ``image`` (atomically)."""
    atomic_write_bytes(path, png_bytes(image, pgm_scale, title))
