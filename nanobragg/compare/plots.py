"""PNG figures of nb-compare: c.png, py.png and diff.png (log-scaled, colour bar, peaks marked)."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LogNorm, SymLogNorm  # noqa: E402


def _mark(ax, peaks: list, colour: str, label: str) -> None:
    if peaks:
        pk = np.array([[p[0], p[1]] for p in peaks])
        ax.scatter(
            pk[:, 1],
            pk[:, 0],
            s=40,
            facecolors="none",
            edgecolors=colour,
            linewidths=0.8,
            label=label,
        )


def _log_norm(image: np.ndarray) -> LogNorm | None:
    pos = image[image > 0]
    if pos.size == 0:
        return None
    vmax = float(pos.max())
    vmin = max(float(pos.min()), vmax * 1e-6)
    return LogNorm(vmin=vmin, vmax=vmax if vmax > vmin else vmin * 10, clip=True)


def image_png(path: Path, image: np.ndarray, title: str, peaks: list, colour: str) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=100)
    norm = _log_norm(image)
    shown = np.where(image > 0, image, np.nan) if norm else image
    im = ax.imshow(shown, origin="upper", cmap="viridis", norm=norm, interpolation="nearest")
    fig.colorbar(im, ax=ax, label="photons/pixel (log)" if norm else "photons/pixel")
    _mark(ax, peaks, colour, f"top {len(peaks)} peaks")
    ax.set_title(title)
    ax.set_xlabel("fast pixel")
    ax.set_ylabel("slow pixel")
    if peaks:
        ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def diff_png(
    path: Path, ref: np.ndarray, test: np.ndarray, peaks_c: list, peaks_py: list, title: str
) -> None:
    """``py - c`` with a symmetric log colour scale; C peaks (o) and py peaks (x) marked."""
    diff = test - ref
    fig, ax = plt.subplots(figsize=(6.4, 5.6), dpi=100)
    amax = float(np.nanmax(np.abs(diff))) if diff.size else 0.0
    if amax > 0:
        scale = float(np.nanmax(np.abs(ref))) or amax
        linthresh = max(amax * 1e-4, scale * 1e-9)
        norm = SymLogNorm(linthresh=linthresh, vmin=-amax, vmax=amax, base=10)
    else:
        norm = None
    im = ax.imshow(diff, origin="upper", cmap="RdBu_r", norm=norm, interpolation="nearest")
    cbar = fig.colorbar(im, ax=ax, label="py - c (symlog)" if norm else "py - c (all zero)")
    if norm is not None:
        lo = math.ceil(math.log10(norm.linthresh)) + 1
        hi = math.floor(math.log10(amax))
        decades = [10.0**e for e in range(lo, hi + 1)][-4:]  # at most 4 per sign
        cbar.set_ticks([-d for d in reversed(decades)] + [0.0] + decades)
    _mark(ax, peaks_c, "black", "C peaks")
    if peaks_py:
        pk = np.array([[p[0], p[1]] for p in peaks_py])
        ax.scatter(
            pk[:, 1], pk[:, 0], s=25, marker="x", c="magenta", linewidths=0.8, label="py peaks"
        )
    if peaks_c or peaks_py:
        ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title)
    ax.set_xlabel("fast pixel")
    ax.set_ylabel("slow pixel")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_all(
    outdir: Path,
    ref: np.ndarray,
    test: np.ndarray,
    peaks: dict,
    labels: tuple[str, str] = ("C", "nanobragg"),
) -> list[str]:
    image_png(outdir / "c.png", ref, f"{labels[0]} (reference)", peaks["peaks_c"], "red")
    image_png(outdir / "py.png", test, labels[1], peaks["peaks_py"], "red")
    diff_png(
        outdir / "diff.png",
        ref,
        test,
        peaks["peaks_c"],
        peaks["peaks_py"],
        f"{labels[1]} - {labels[0]}",
    )
    return ["c.png", "py.png", "diff.png"]
