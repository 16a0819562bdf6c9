"""What a refinement leaves in its output folder.

``refined.json`` (``converged``, ``iterations``, ``loss``, ``parameters: {NAME: {start, value,
stderr}}``, ``command``; ``warnings`` only when there are some), ``history.jsonl`` (one record
per iteration), ``covariance.json`` (labels, standard errors, correlation matrix),
``observed_model_residual.png``, ``refined_image.bin`` (raw float32, as ``-floatfile``) and,
when F is refined, ``F_refined.hkl`` (a ``-hkl`` file) and ``F_refined_sigma.hkl`` (h k l σF).
With several images, image ``i`` > 1 adds ``_i`` to the image-specific names and
``commands.txt`` holds one refined command line per image.
"""

from __future__ import annotations

import io
import json
import math
import shlex
from pathlib import Path

import numpy as np

from nanobragg.cli import args as cli_args
from nanobragg.io.atomic import atomic_write_bytes
from nanobragg.io.raw import float_image_bytes
from nanobragg.structure_factors import StructureFactorTable

#: refined parameter -> the flag that carries it in the refined command
_FLAGS = {"distance": "-distance", "beam_x": "-Xbeam", "beam_y": "-Ybeam",
          "rotx": "-detector_rotx", "roty": "-detector_roty", "rotz": "-detector_rotz",
          "twotheta": "-twotheta", "lambda": "-lambda", "mosaic": "-mosaic",
          "Na": "-Na", "Nb": "-Nb", "Nc": "-Nc"}
_DETECTOR = {"distance", "beam_x", "beam_y", "rotx", "roty", "rotz", "twotheta"}


def _number(value: float) -> str:
    return f"{value:.10g}"


def refined_command(argv: list[str], start: dict[str, float], values: dict[str, float],
                    pivot: str) -> list[str]:
    """The starting command with the refined values: earlier spellings of the flags that are
    replaced are removed, the new ones appended (and ``-pivot`` fixed: -distance and
    -twotheta would otherwise change it)."""
    new: list[tuple[str, list[str]]] = []
    cell = ("cell_a", "cell_b", "cell_c", "cell_alpha", "cell_beta", "cell_gamma")
    if any(n in values for n in cell):
        new.append(("-cell", [_number(values.get(n, start.get(n, 0.0))) for n in cell]))
    misset = ("misset_x", "misset_y", "misset_z")
    if any(n in values for n in misset):
        new.append(("-misset", [_number(values.get(n, start.get(n, 0.0))) for n in misset]))
    for name, flag in _FLAGS.items():
        if name in values:
            number = values[name]
            text = str(round(number)) if name in ("Na", "Nb", "Nc") else _number(number)
            new.append((flag, [text]))
    if _DETECTOR & set(values):
        new.append(("-pivot", [pivot]))
    replaced = {id(cli_args.FLAGS[flag]) for flag, _ in new}
    kept, i = [], 0
    while i < len(argv):
        flag = cli_args.FLAGS.get(argv[i])
        if flag is None:  # the parser accepted the command, so this cannot happen; keep it
            kept.append(argv[i])
            i += 1
            continue
        reader = flag.reader or cli_args.read_fixed
        _, end = reader(flag, argv, i)
        if id(flag) not in replaced:
            kept.extend(argv[i:end])
        i = end
    for flag, words in new:
        kept.extend([flag, *words])
    return kept


def _json_number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def refined_json(converged: bool, iterations: int, loss: float, parameters: dict,
                 command: list[str], warnings: list[str]) -> bytes:
    doc = {"converged": bool(converged), "iterations": int(iterations),
           "loss": _json_number(loss), "parameters": parameters,
           "command": shlex.join(command)}
    if warnings:
        doc["warnings"] = list(warnings)
    return (json.dumps(doc, indent=2) + "\n").encode()


def history_jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in records).encode()


def covariance_json(labels: list[str], stderr: np.ndarray, correlation: np.ndarray) -> bytes:
    rows = [[_json_number(v) for v in row] for row in correlation]
    doc = {"labels": labels, "stderr": [_json_number(v) for v in stderr], "correlation": rows}
    return (json.dumps(doc, indent=1) + "\n").encode()


def reflection_indices(table: StructureFactorTable) -> np.ndarray:
    """(h, k, l) [n, 3] of every reflection of the table's range, in C order."""
    h0, _, k0, _, l0, _ = table.bounds
    hr, kr, lr = table.ranges
    h, k, l = np.meshgrid(np.arange(hr) + h0, np.arange(kr) + k0, np.arange(lr) + l0,
                          indexing="ij")
    return np.stack([h.ravel(), k.ravel(), l.ravel()], axis=1)


def hkl_bytes(table: StructureFactorTable, values: np.ndarray) -> bytes:
    """``h k l value`` lines for every reflection of the table's range (C order)."""
    lines = (f"{a} {b} {c} {_number(v)}\n"
             for (a, b, c), v in zip(reflection_indices(table), values, strict=True))
    return "".join(lines).encode()


def residual_png(observed: np.ndarray, model: np.ndarray, usable: np.ndarray) -> bytes:
    """Three panels: observed, model, and the residual (o - m)/sqrt(m) on usable pixels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with np.errstate(invalid="ignore", divide="ignore"):
        residual = np.where(usable, (observed - model) / np.sqrt(np.maximum(model, 1e-3)),
                            np.nan)
    top = float(np.percentile(np.where(usable, observed, 0), 99.5)) or 1.0
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.4))
    panels = ((observed, "observed (counts)", "gray_r", 0, top),
              (model, "model (photons)", "gray_r", 0, top),
              (residual, "residual (o - m)/sqrt(m)", "RdBu_r", -5, 5))
    for ax, (data, title, cmap, lo, hi) in zip(axes, panels, strict=True):
        shown = ax.imshow(data, cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(title)
        ax.set_xlabel("fast pixel")
        fig.colorbar(shown, ax=ax, shrink=0.8)
    axes[0].set_ylabel("slow pixel")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    return buffer.getvalue()


def image_bytes(image: np.ndarray) -> bytes:
    return float_image_bytes(image.astype(np.float32))


def suffixed(name: str, image: int) -> str:
    """``name`` for image 0, ``stem_<i+1>.ext`` for the others."""
    if image == 0:
        return name
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_{image + 1}{dot}{ext}"


def write_files(out: Path, files: dict[str, bytes]) -> None:
    """Write every file atomically (each complete or absent)."""
    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        atomic_write_bytes(out / name, data)


def write_outputs(out: Path, problem, result) -> None:
    """Every output file of a refinement into ``out`` (see the module docstring)."""
    first = result.commands[0]
    files = {"refined.json": refined_json(result.converged, result.iterations, result.loss,
                                          result.parameters, first, result.warnings),
             "history.jsonl": history_jsonl(result.history),
             "covariance.json": covariance_json(
                 result.labels, np.array([result.parameters[n]["stderr"] or np.nan
                                          for n in result.labels], dtype=float),
                 result.correlation)}
    if len(result.commands) > 1:
        files["commands.txt"] = "".join(shlex.join(c) + "\n" for c in result.commands).encode()
    for i, img in enumerate(problem.images):
        model = result.images[i]
        files[suffixed("refined_image.bin", i)] = image_bytes(model)
        files[suffixed("observed_model_residual.png", i)] = residual_png(
            img.observed.numpy(), model, img.usable)
    if result.f_values is not None:
        table = problem.f_block.table
        files["F_refined.hkl"] = hkl_bytes(table, result.f_values)
        sigma = np.nan_to_num(result.f_stderr, nan=0.0)
        files["F_refined_sigma.hkl"] = hkl_bytes(table, sigma)
    write_files(out, files)
