"""Parsing and diffing TRACE_C / TRACE_PY pixel traces.

Line forms understood (``P`` is the prefix, ``TRACE_C`` or ``TRACE_PY``):

* ``P: name v1 v2 ...``            per-pixel quantity (e.g. ``TRACE_C: hkl_frac -5.0 24.0 -20.0``)
* ``P:name=v1 v2 ...``             geometry quantity; ``[a b c; d e f]`` matrices are flattened and
                                   ``key:value`` tokens contribute their value
* ``P_GROUP k_tic=i key=v ...``    e.g. ``TRACE_C_PHI phi_tic=0 ... k_frac=...`` becomes the
                                   quantities ``PHI[0].k_frac`` etc.
* ``P_GROUP: name v ...``          e.g. ``TRACE_C_SOURCE2: F_cell 100`` becomes ``SOURCE2:F_cell``

``TRACE:`` and ``TRACE_CONFIG:`` lines are free-form and not compared. A name that appears more
than once (a geometry block printed twice, one block per sub-pixel) is aligned by occurrence:
the k-th ``F_cell`` of one log with the k-th of the other. Pipeline order is the C log's order.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from nanobragg.errors import NanoBraggError

Value = float | str


@dataclass
class Entry:
    name: str
    occurrence: int  # 1-based
    values: list[Value]
    line_no: int
    raw: str

    @property
    def key(self) -> tuple[str, int]:
        return self.name, self.occurrence

    @property
    def label(self) -> str:
        return self.name if self.occurrence == 1 else f"{self.name}@{self.occurrence}"


@dataclass
class Trace:
    path: str
    prefix: str
    entries: list[Entry] = field(default_factory=list)
    pixel: tuple[int, int] | None = None  # (slow, fast) from TRACE_CONFIG, if present

    def by_key(self) -> dict[tuple[str, int], Entry]:
        return {e.key: e for e in self.entries}

    def last(self, name: str) -> Entry | None:
        found = [e for e in self.entries if e.name == name]
        return found[-1] if found else None


class TraceError(NanoBraggError):
    pass


def _value(token: str) -> Value:
    if ":" in token and not token.startswith(("-", "+")) and token.count(":") == 1:
        token = token.split(":", 1)[1]  # "X:2.5e-05" -> 2.5e-05
    try:
        return float(token)
    except ValueError:
        return token


def _values(text: str) -> list[Value]:
    text = text.replace("[", " ").replace("]", " ").replace(";", " ")
    return [_value(t) for t in text.split()]


_CONFIG = re.compile(r"spixel=(\d+),\s*fpixel=(\d+)")


def parse_trace(text: str, prefix: str, path: str = "<text>") -> Trace:
    """Collect the ``prefix`` lines of ``text`` (see module docstring)."""
    trace = Trace(path=path, prefix=prefix)
    counts: dict[str, int] = {}

    def add(name: str, values: list[Value], line_no: int, raw: str) -> None:
        counts[name] = counts.get(name, 0) + 1
        trace.entries.append(Entry(name, counts[name], values, line_no, raw))

    for line_no, line in enumerate(text.splitlines(), start=1):
        line = line.rstrip()
        if line.startswith("TRACE_CONFIG") and (m := _CONFIG.search(line)):
            trace.pixel = (int(m.group(1)), int(m.group(2)))
            continue
        if not line.startswith(prefix):
            continue
        rest = line[len(prefix) :]
        if rest.startswith(": "):
            parts = rest[2:].split(None, 1)
            if parts:
                add(parts[0], _values(parts[1]) if len(parts) > 1 else [], line_no, line)
        elif rest.startswith(":"):
            name, _, vals = rest[1:].partition("=")
            add(name.strip(), _values(vals), line_no, line)
        elif rest.startswith("_"):
            head, sep, body = rest[1:].partition(" ")
            if head.endswith(":"):  # P_GROUP: name v ...
                parts = body.split(None, 1)
                if parts:
                    vals = _values(parts[1]) if len(parts) > 1 else []
                    add(f"{head[:-1]}:{parts[0]}", vals, line_no, line)
                continue
            pairs = [t.split("=", 1) for t in body.split() if "=" in t]
            index = next((v for k, v in pairs if k.endswith("_tic")), None)
            group = f"{head}[{index}]" if index is not None else head
            for k, v in pairs:
                if not k.endswith("_tic"):
                    add(f"{group}.{k}", [_value(v)], line_no, line)
    return trace


def read_trace(path: Path | str, prefix: str | None = None, default: str = "TRACE_C") -> Trace:
    """Read a log file; ``prefix=None`` means ``default``."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise TraceError(f"cannot read trace {path}: {exc.strerror}") from exc
    prefix = prefix or default
    trace = parse_trace(text, prefix, str(path))
    if not trace.entries:
        others = sorted(set(re.findall(r"^(TRACE_[A-Z]+)", text, flags=re.M)) - {"TRACE_CONFIG"})
        hint = f" (it has {', '.join(others)} lines; see --c-prefix/--py-prefix)" if others else ""
        raise TraceError(f"no {prefix} lines in {path}{hint}")
    return trace


# ---------------------------------------------------------------------------------------------
# Tolerances


@dataclass(frozen=True)
class Tol:
    rtol: float
    atol: float = 0.0

    def describe(self) -> str:
        if self.rtol == 0 and self.atol == 0:
            return "exact"
        parts = []
        if self.atol:
            parts.append(f"abs {self.atol:g}")
        if self.rtol:
            parts.append(f"rel {self.rtol:g}")
        return " + ".join(parts)


GENERIC_RTOL = 1e-6
ZERO_ATOL = 1e-12  # used only when every reference component is exactly zero
# Per-quantity defaults (fnmatch patterns, first match wins). Documented in docs/nb-compare.md.
DEFAULT_TOLS: tuple[tuple[str, Tol], ...] = (
    ("hkl_frac", Tol(rtol=0.0, atol=5e-4)),
    ("*.k_frac", Tol(rtol=0.0, atol=5e-4)),
    ("hkl_rounded", Tol(rtol=0.0, atol=0.0)),
    ("steps", Tol(rtol=0.0, atol=0.0)),
    ("oversample_*", Tol(rtol=0.0, atol=0.0)),
    ("*source_index", Tol(rtol=0.0, atol=0.0)),
)


def tolerance_for(name: str, overrides: list[tuple[str, Tol]], generic: Tol) -> Tol:
    for pattern, tol in [*overrides, *DEFAULT_TOLS]:
        if fnmatch.fnmatchcase(name, pattern):
            return tol
    return generic


@dataclass
class Row:
    key: tuple[str, int]
    label: str
    status: str  # ok | DIVERGED | missing_py | missing_c | ignored
    c: list[Value] | None
    py: list[Value] | None
    tol: Tol | None = None
    max_abs: float | None = None
    max_rel: float | None = None
    note: str = ""
    lines: tuple[int | None, int | None] = (None, None)  # line numbers in the C and py logs

    def to_json(self) -> dict:
        return {
            "quantity": self.label,
            "name": self.key[0],
            "occurrence": self.key[1],
            "status": self.status,
            "c": self.c,
            "py": self.py,
            "tolerance": None
            if self.tol is None
            else {"rtol": self.tol.rtol, "atol": self.tol.atol},
            "max_abs_diff": self.max_abs,
            "max_rel_diff": self.max_rel,
            "note": self.note,
            "line_c": self.lines[0],
            "line_py": self.lines[1],
        }


def compare_values(
    c: list[Value], py: list[Value], tol: Tol
) -> tuple[bool, float | None, float | None, str]:
    """``(ok, max_abs, max_rel, note)``; rel is relative to the largest |C| component."""
    if len(c) != len(py):
        return False, None, None, f"{len(c)} values in C, {len(py)} in py"
    diffs = []
    for a, b in zip(c, py, strict=True):
        if isinstance(a, str) or isinstance(b, str):
            if str(a) != str(b):
                return False, None, None, f"text differs: {a!r} vs {b!r}"
            continue
        diffs.append((a, b))
    if not diffs:
        return True, None, None, ""
    scale = max(abs(a) for a, _ in diffs)
    max_abs = max(abs(b - a) for a, b in diffs)
    if any(b != b for _, b in diffs):  # NaN in py
        return False, float("nan"), None, "py value is NaN"
    max_rel = max_abs / scale if scale > 0 else None
    limit = tol.atol + tol.rtol * scale if scale > 0 else max(tol.atol, ZERO_ATOL)
    return max_abs <= limit, max_abs, max_rel, ""


@dataclass
class DiffResult:
    rows: list[Row]
    c_path: str
    py_path: str
    pixel: tuple[int, int] | None

    @property
    def diverged(self) -> list[Row]:
        return [r for r in self.rows if r.status == "DIVERGED"]

    @property
    def missing(self) -> list[Row]:
        return [r for r in self.rows if r.status.startswith("missing")]

    @property
    def compared(self) -> list[Row]:
        return [r for r in self.rows if r.status in ("ok", "DIVERGED")]

    def first_divergence(self) -> Row | None:
        d = self.diverged
        return d[0] if d else None


def diff_traces(
    c: Trace,
    py: Trace,
    overrides: list[tuple[str, Tol]] | None = None,
    generic: Tol | None = None,
    ignore: list[str] | None = None,
) -> DiffResult:
    """Align by (name, occurrence) in the C log's order, then py-only entries at the end."""
    overrides = overrides or []
    generic = generic or Tol(rtol=GENERIC_RTOL)
    ignore = ignore or []
    py_map = py.by_key()
    rows: list[Row] = []
    seen = set()
    for e in c.entries:
        seen.add(e.key)
        other = py_map.get(e.key)
        if any(fnmatch.fnmatchcase(e.name, p) for p in ignore):
            rows.append(
                Row(
                    e.key,
                    e.label,
                    "ignored",
                    e.values,
                    other and other.values,
                    lines=(e.line_no, other and other.line_no),
                )
            )
            continue
        if other is None:
            rows.append(Row(e.key, e.label, "missing_py", e.values, None, lines=(e.line_no, None)))
            continue
        tol = tolerance_for(e.name, overrides, generic)
        ok, max_abs, max_rel, note = compare_values(e.values, other.values, tol)
        rows.append(
            Row(
                e.key,
                e.label,
                "ok" if ok else "DIVERGED",
                e.values,
                other.values,
                tol,
                max_abs,
                max_rel,
                note,
                (e.line_no, other.line_no),
            )
        )
    for e in py.entries:
        if e.key not in seen:
            rows.append(Row(e.key, e.label, "missing_c", None, e.values, lines=(None, e.line_no)))
    return DiffResult(rows, c.path, py.path, c.pixel or py.pixel)


# ---------------------------------------------------------------------------------------------
# Text output


def _fmt_vals(vals: list[Value] | None, width: int = 48) -> str:
    if vals is None:
        return "-"
    text = " ".join(f"{v:.10g}" if isinstance(v, float) else str(v) for v in vals)
    return text if len(text) <= width else text[: width - 3] + "..."


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def table(rows: list[Row]) -> str:
    """Markdown table of ``rows``."""
    lines = [
        "| # | quantity | C | py | max abs diff | max rel diff | tolerance | status |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, start=1):
        tol = r.tol.describe() if r.tol else "-"
        status = r.status + (f" ({r.note})" if r.note else "")
        lines.append(
            f"| {i} | {r.label} | {_fmt_vals(r.c)} | {_fmt_vals(r.py)} | "
            f"{_fmt(r.max_abs)} | {_fmt(r.max_rel)} | {tol} | {status} |"
        )
    return "\n".join(lines)


def summary(result: DiffResult) -> str:
    first = result.first_divergence()
    n_div, n_cmp = len(result.diverged), len(result.compared)
    head = (
        f"trace diff: {n_cmp} quantities compared, {n_div} diverged, "
        f"{len(result.missing)} present in one log only"
    )
    if result.pixel:
        head += f"; pixel (slow, fast) = {result.pixel}"
    if first is None:
        return head + "\nno divergence"
    tol = first.tol.describe() if first.tol else "-"
    lines = [
        head,
        f"FIRST DIVERGENCE: {first.label} (C line {first.lines[0]}, py line {first.lines[1]})",
        f"  C : {_fmt_vals(first.c, 200)}",
        f"  py: {_fmt_vals(first.py, 200)}",
        f"  max abs diff {_fmt(first.max_abs)}, max rel diff {_fmt(first.max_rel)}, "
        f"tolerance {tol}" + (f"; {first.note}" if first.note else ""),
    ]
    return "\n".join(lines)


def markdown_report(result: DiffResult, all_rows: bool = True) -> str:
    rows = result.rows if all_rows else result.diverged
    return "\n".join(
        [
            "# Trace diff",
            "",
            f"C: `{result.c_path}`  ",
            f"py: `{result.py_path}`",
            "",
            "```",
            summary(result),
            "```",
            "",
            table(rows),
            "",
        ]
    )


def json_report(result: DiffResult) -> dict:
    first = result.first_divergence()
    return {
        "schema": "nb-trace-diff/1",
        "c_log": result.c_path,
        "py_log": result.py_path,
        "pixel_slow_fast": list(result.pixel) if result.pixel else None,
        "n_compared": len(result.compared),
        "n_diverged": len(result.diverged),
        "n_missing": len(result.missing),
        "first_divergence": first.label if first else None,
        "rows": [r.to_json() for r in result.rows],
    }
