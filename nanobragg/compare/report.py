"""metrics.json (schema ``nb-compare/1``) and the short README.md verdict of an nb-compare run."""

from __future__ import annotations

import json
import math
import platform
import socket
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

SCHEMA = "nb-compare/1"


def prepare_outdir(path: Path) -> str | None:
    """Create the output directory and check that files can be written in it, before any work;
    returns what is wrong with it (one line), or None."""
    if path.exists() and not path.is_dir():
        return f"--outdir {path}: exists and is not a directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        return f"--outdir {path}: cannot write there ({exc.strerror or exc})"
    return None

# Top-level metric keys, in the order README.md lists them.
METRIC_KEYS = (
    "correlation",
    "rmse",
    "rmse_rel_max",
    "max_abs_diff",
    "max_abs_diff_at",
    "rel_l2",
    "sum_c",
    "sum_py",
    "sum_ratio",
    "worst_spot_rel_diff",
    "worst_spot_at",
    "max_c",
    "max_py",
    "mean_c",
    "mean_py",
    "wall_time_c_s",
    "wall_time_py_s",
)


def tool_info() -> dict:
    try:
        version = metadata.version("nanobragg-torch")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return {
        "name": "nb-compare",
        "package_version": version,
        "python": platform.python_version(),
        "host": socket.gethostname(),
    }


def _clean(value):
    """JSON-safe copy: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build(mode: str, argv: list[str], **fields) -> dict:
    doc = {
        "schema": SCHEMA,
        "tool": tool_info(),
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "invocation": argv,
        "mode": mode,
    }
    doc.update(fields)
    return _clean(doc)


def write_json(outdir: Path, doc: dict) -> Path:
    path = outdir / "metrics.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def _fmt(v, digits: int = 6) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _digits(key: str) -> int:
    """Correlation and ratios close to 1 need more digits to be informative."""
    return 10 if key in ("correlation", "sum_ratio") else 6


def readme(doc: dict) -> str:
    verdict = doc.get("verdict", "error").upper()
    lines = [
        "# nb-compare result",
        "",
        f"**Verdict: {verdict}** (exit {doc.get('exit_code')}), mode `{doc['mode']}`, "
        f"{doc['created_utc']}, schema `{doc['schema']}`.",
        "",
    ]
    if doc.get("message"):
        lines += [f"> {doc['message']}", ""]
    if doc.get("checks"):
        lines += ["| check | value | limit | result |", "|---|---|---|---|"]
        for c in doc["checks"]:
            limit = "" if c["limit"] is None else f"{c['op']} {_fmt(c['limit'])}"
            lines.append(
                f"| {c['name']} | {_fmt(c['value'], _digits(c['name']))} | {limit} | "
                f"{'pass' if c['passed'] else '**FAIL**'} |"
            )
        lines.append("")
    present = [k for k in METRIC_KEYS if k in doc]
    if present:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(doc[k], _digits(k))} |" for k in present]
        lines.append("")
    peaks = doc.get("peaks")
    if peaks:
        lines += [
            f"Peaks: top {peaks['n_requested']} per image (C {peaks['n_c']}, py {peaks['n_py']}), "
            f"{peaks['matched']} matched within {peaks['radius_px']} px, mean distance "
            f"{_fmt(peaks['mean_distance_px'])} px, max {_fmt(peaks['max_distance_px'])} px.",
            "",
        ]
    rs = doc.get("resample")
    if rs and rs.get("method") != "none":
        lines += [
            f"Resampled ({rs['method']}): C {rs['shape_c']}, py {rs['shape_py']} -> "
            f"{rs['shape_compared']}.",
            "",
        ]
    for side in ("c", "py"):
        info = doc.get(side) or {}
        if info.get("command_line"):
            where = f" (ran in `{info['cwd']}`)" if info.get("cwd") else ""
            if info.get("source") == "golden":
                where = " (stored golden case; not run)"
            lines += [f"{side} command{where}:", "", f"    {info['command_line']}", ""]
    for msg in doc.get("nonfinite") or []:
        lines += [f"- {msg}"]
    if doc.get("files"):
        lines += [
            "Figures: "
            + ", ".join(f"`{f}`" for f in doc["files"])
            + " (log scale; circles = C peaks, crosses = py peaks).",
            "",
        ]
    lines.append("Field meanings: docs/nb-compare.md in the nanobragg repository.")
    return "\n".join(lines) + "\n"


def write_readme(outdir: Path, doc: dict) -> Path:
    path = outdir / "README.md"
    path.write_text(readme(doc))
    return path
