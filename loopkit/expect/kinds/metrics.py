"""Where a json or range check finds its number: metric files, then ``name=value`` text."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from loopkit.expect.context import StepContext, read_capped
from loopkit.expect.parse import NUM
from loopkit.expect.predicate import COMPARE, Predicate
from loopkit.run.record import Outcome

METRIC_FILES = ("metrics.json", "summary.json")


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(_flatten(value, f"{prefix}{key}."))
    else:
        out[prefix[:-1].lower()] = data
    return out


def _metric_files(ctx: StepContext, named: str | None) -> list[Path]:
    bases = [p for p in ctx.outputs() if p.is_dir()] + [ctx.run_dir]
    if named:
        cands = [ctx.resolve(named)] + [b / named for b in bases]
        return [c for c in cands if c.is_file()]
    files = [p for p in ctx.outputs() if p.suffix == ".json" and p.is_file()]
    for base in bases:
        files += [base / n for n in METRIC_FILES if (base / n).is_file()]
    files += [p for n in METRIC_FILES for p in sorted(ctx.run_dir.rglob(n))]
    return list(dict.fromkeys(files))


LIMIT_SECTIONS = {"limits", "limit", "thresholds", "threshold", "tolerances", "tolerance",
                  "criteria"}
KEY_ALIASES = {"peak_distance": "peaks.max_distance_px",
               "peak_max_distance": "peaks.max_distance_px"}


def match_keys(flat: dict[str, Any], norm: str) -> list[str]:
    """The keys of a flattened JSON document that an Expect's metric name refers to.

    1. the exact (dotted) key, e.g. ``correlation`` or ``peaks.max_distance_px``;
    2. the alias of a natural phrase (``peak distance`` -> ``peaks.max_distance_px``);
    3. keys whose last component is the name, then keys ending in ``_<name>``; in both,
       keys under a ``limits``/``thresholds``/``tolerances`` section (the criteria a tool
       applied, not a measurement) never match, and only the shallowest matches are kept.
    """
    if norm in flat:
        return [norm]
    alias = KEY_ALIASES.get(norm)
    if alias and alias in flat:
        return [alias]
    measured = [k for k in flat if not LIMIT_SECTIONS & set(k.split(".")[:-1])]
    for test in (lambda k: k.rsplit(".", 1)[-1] == norm, lambda k: k.endswith("_" + norm)):
        hits = [k for k in measured if test(k)]
        if hits:
            depth = min(k.count(".") for k in hits)
            return [k for k in hits if k.count(".") == depth]
    return []


def _lookup(ctx: StepContext, key: str, named: str | None) -> tuple[list[float], str]:
    norm = key.lower().replace(" ", "_")
    for path in _metric_files(ctx, named):
        try:
            flat = _flatten(json.loads(read_capped(path) or "null"))
        except json.JSONDecodeError:
            continue
        hits = match_keys(flat, norm)
        values = [float(flat[k]) for k in hits if isinstance(flat[k], (int, float))]
        if values:
            return values, f"{path.relative_to(ctx.root) if ctx.root in path.parents else path}"
    if named:
        return [], ""
    pattern = re.compile(rf"(?<![\w]){re.escape(norm)}\s*[=:]\s*({NUM})", re.I)
    for path in [ctx.stdout, *ctx.outputs()]:
        found = pattern.findall(read_capped(path))
        if found:
            return [float(found[-1])], f"{path.name} text"
    return [], ""


def check_metric(pred: Predicate, ctx: StepContext) -> Outcome:
    """A json comparison or a range: every value found must hold; none found is unchecked."""
    a = pred.args
    values, source = _lookup(ctx, a["key"], a.get("file"))
    if not values:
        return Outcome(pred.kind, pred.describe(), "unchecked", f"no value for {a['key']!r} found",
                       metric=a["key"], observed=[])
    if pred.kind == "range":
        ok = all(a["min"] <= v <= a["max"] for v in values)
    else:
        ok = all(COMPARE[a["op"]](v, a["value"]) for v in values)
    shown = ", ".join(f"{v:g}" for v in values)
    return Outcome(pred.kind, pred.describe(), "pass" if ok else "fail", f"{shown} (from {source})",
                   metric=a["key"], observed=[v for v in values if math.isfinite(v)])
