"""Check predicates against what a step actually produced."""

from __future__ import annotations

import json
import math
import operator
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loopkit.predicates import NUM, Predicate
from loopkit.pytest_summary import PytestCounts
from loopkit.run.record import Outcome

COMPARE = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "<": operator.lt,
           ">": operator.gt}
OUTPUT_RE = re.compile(
    r"(?:>>?|\btee(?:\s+-a)?)\s+(?P<p>[^\s;|&<>]+)"
    r"|--(?:out|outdir|out-dir|output|output-dir|outfile)(?:=|\s+)(?P<o>[^\s;|&<>]+)")
MAX_TEXT_BYTES = 5 * 1024 * 1024
METRIC_FILES = ("metrics.json", "summary.json")


@dataclass
class StepContext:
    root: Path
    run_dir: Path
    cmd: str
    rc: int | None
    stdout: Path
    stderr: Path
    pytest: PytestCounts | None
    variables: dict[str, str] = field(default_factory=dict)

    def expand(self, text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            return self.variables.get(m.group(1) or m.group(2), m.group(0))
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)

    def resolve(self, raw: str) -> Path:
        path = Path(self.expand(raw.strip("'\"")))
        return path if path.is_absolute() else self.root / path

    def outputs(self) -> list[Path]:
        found = []
        for m in OUTPUT_RE.finditer(self.cmd):
            raw = m.group("p") or m.group("o")
            if raw and raw not in ("/dev/null", "&1", "&2") and not raw.startswith("&"):
                found.append(self.resolve(raw))
        return found


def _read(path: Path) -> str:
    try:
        if path.is_file() and path.stat().st_size <= MAX_TEXT_BYTES:
            return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        pass
    return ""


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
            flat = _flatten(json.loads(_read(path) or "null"))
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
        found = pattern.findall(_read(path))
        if found:
            return [float(found[-1])], f"{path.name} text"
    return [], ""


def _check_json(pred: Predicate, ctx: StepContext) -> Outcome:
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


def _check_pytest(pred: Predicate, ctx: StepContext) -> Outcome:
    """A pytest count holds only for tests that ran: a step without a pytest summary, or one
    whose pytest ran no test ("no tests ran", all deselected), fails every count but
    ``collected`` (a "no skips" of nothing is not evidence)."""
    counts = ctx.pytest
    if counts is None:
        return Outcome(pred.kind, pred.describe(), "fail",
                       "no pytest summary in the output: the step ran no tests")
    ran = counts.passed + counts.failed + counts.skipped + counts.errors + counts.xfailed \
        + counts.xpassed
    if not ran and not any(key == "collected" for key, _op, _v in pred.args["checks"]):
        return Outcome(pred.kind, pred.describe(), "fail", f"no tests ran ({counts.line})")
    bad = []
    for key, op, value in pred.args["checks"]:
        actual = getattr(counts, key)
        if actual is None or not COMPARE[op](actual, value):
            bad.append(f"{key}={actual} (want {op}{value})")
    detail = "; ".join(bad) if bad else counts.line
    return Outcome(pred.kind, pred.describe(), "fail" if bad else "pass", detail)


def _check_file(pred: Predicate, ctx: StepContext) -> Outcome:
    raw = pred.args["path"]
    if "/" in raw:
        cands = [ctx.resolve(raw), ctx.run_dir / ctx.expand(raw)]
    else:
        dirs = [p for p in ctx.outputs() if p.is_dir()] + [ctx.run_dir]
        cands = [d / raw for d in dirs] + [p for p in ctx.outputs() if p.name == raw]
    hit = next((c for c in cands if c.exists()), None)
    if hit is None:
        return Outcome(pred.kind, pred.describe(), "fail", "not found in " + ", ".join(
            str(c.parent) for c in cands[:3]))
    return Outcome(pred.kind, pred.describe(), "pass", str(hit))


def _check_regex(pred: Predicate, ctx: StepContext) -> Outcome:
    try:
        pattern = re.compile(pred.args["pattern"], re.M)
    except re.error as exc:
        return Outcome(pred.kind, pred.describe(), "unchecked", f"bad regex: {exc}")
    for path in [ctx.stdout, ctx.stderr, *ctx.outputs()]:
        if pattern.search(_read(path)):
            return Outcome(pred.kind, pred.describe(), "pass", f"found in {path.name}")
    return Outcome(pred.kind, pred.describe(), "fail", "not found in step output")


def _check_empty_diff(pred: Predicate, ctx: StepContext) -> Outcome:
    targets = ctx.outputs()
    files = [p for p in targets if p.is_file()] if targets else [ctx.stdout]
    if not files:
        return Outcome(pred.kind, pred.describe(), "unchecked", "diff output file missing")
    if ctx.rc is None or ctx.rc > 1:
        return Outcome(pred.kind, pred.describe(), "unchecked", f"diff did not run (rc={ctx.rc})")
    text = "".join(_read(p) for p in files)
    changes = [ln for ln in text.splitlines()
               if ln[:1] in "+-<>" and not ln.startswith(("+++", "---"))]
    verdict = "fail" if changes else "pass"
    return Outcome(pred.kind, pred.describe(), verdict, f"{len(changes)} changed line(s)")


def check(pred: Predicate, ctx: StepContext) -> Outcome:
    if pred.kind == "rc":
        ok = ctx.rc == pred.args["rc"]
        return Outcome(pred.kind, pred.describe(), "pass" if ok else "fail", f"rc={ctx.rc}")
    if pred.kind in ("json", "range"):
        return _check_json(pred, ctx)
    if pred.kind == "pytest":
        return _check_pytest(pred, ctx)
    if pred.kind == "file_exists":
        return _check_file(pred, ctx)
    if pred.kind == "regex":
        return _check_regex(pred, ctx)
    if pred.kind == "empty_diff":
        return _check_empty_diff(pred, ctx)
    return Outcome("unchecked", pred.describe(), "unchecked", "not machine-checkable")


def implicit_predicates(cmd: str, explicit: list[Predicate], parity: bool) -> list[Predicate]:
    """rc == 0 for every command; for pytest: no failures/errors, something ran, and (parity)
    no skips."""
    preds: list[Predicate] = []
    if not any(p.kind == "rc" for p in explicit):
        preds.append(Predicate("rc", {"rc": 0}, "implicit"))
    if re.search(r"(?:^|[\s/])pytest\b", cmd):
        if "--collect-only" in cmd or "--co " in cmd:
            checks = [("collected", ">=", 1), ("errors", "==", 0)]
        else:
            checks = [("failed", "==", 0), ("errors", "==", 0), ("passed", ">=", 1)]
            if parity:
                checks.append(("skipped", "==", 0))
        preds.append(Predicate("pytest", {"checks": checks}, "implicit"))
    return preds
