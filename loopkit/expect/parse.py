"""Turn ``Expect:`` text into checkable predicates; whatever cannot be checked stays "unchecked".

Natural phrasings seen in memos (``sum_ratio within 0.99–1.01 and no skips``,
``correlation ≥0.999, RMSE <1e-3``, ``empty diff``, ``TRACE_PY_BASE lines``) and the
explicit form (``rc=0; pytest passed>=1 skipped=0; json metrics.json correlation>=0.999;
range sum_ratio 0.99..1.01; file out/metrics.json exists; regex "TRACE_PY_BASE"``) are both
accepted. A clause's leftover prose becomes an ``unchecked`` predicate, never a pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from loopkit.expect.predicate import Predicate

NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
OPS = {"≥": ">=", ">=": ">=", "≤": "<=", "<=": "<=", "==": "==", "=": "==", "<": "<", ">": ">"}
OP_RE = r"≥|>=|≤|<=|==|=|<|>"
KEY = r"[A-Za-z_][\w./-]*"
FILLER = {"and", "with", "the", "a", "an", "all", "should", "be", "is", "are", "expect", "px",
          "only", "then", "also", "both", "must"}


Matcher = Callable[[re.Match[str]], list[Predicate]]


def _rc(m: re.Match[str]) -> list[Predicate]:
    return [Predicate("rc", {"rc": int(m.group("rc"))}, m.group(0))]


def _pytest_struct(m: re.Match[str]) -> list[Predicate]:
    checks = [(k, OPS[op], int(v)) for k, op, v in re.findall(
        rf"(passed|failed|skipped|errors|collected)\s*({OP_RE})\s*(\d+)", m.group(0))]
    return [Predicate("pytest", {"checks": checks}, m.group(0))]


def _no_skips(m: re.Match[str]) -> list[Predicate]:
    return [Predicate("pytest", {"checks": [("skipped", "==", 0)]}, m.group(0))]


def _n_count(m: re.Match[str]) -> list[Predicate]:
    key = {"error": "errors", "errors": "errors"}.get(m.group("what"), m.group("what"))
    return [Predicate("pytest", {"checks": [(key, "==", int(m.group("n")))]}, m.group(0))]


def _all_pass(m: re.Match[str]) -> list[Predicate]:
    checks = [("failed", "==", 0), ("errors", "==", 0), ("passed", ">=", 1)]
    return [Predicate("pytest", {"checks": checks}, m.group(0))]


def _range(m: re.Match[str]) -> list[Predicate]:
    lo, hi = float(m.group("lo")), float(m.group("hi"))
    return [Predicate("range", {"key": m.group("key").strip(), "min": min(lo, hi),
                                "max": max(lo, hi), "file": m.groupdict().get("file")},
                      m.group(0))]


def _compare(m: re.Match[str]) -> list[Predicate]:
    return [Predicate("json", {"key": m.group("key").strip(), "op": OPS[m.group("op")],
                               "value": float(m.group("val")), "file": m.groupdict().get("file")},
                      m.group(0))]


def _files(m: re.Match[str]) -> list[Predicate]:
    names = re.findall(r"[\w./${}-]+\.(?:json|png|log|txt|md|npy|bin|xml|csv|h5|img)\b",
                       m.group(0))
    return [Predicate("file_exists", {"path": n}, m.group(0)) for n in names]


def _regex(m: re.Match[str]) -> list[Predicate]:
    return [Predicate("regex", {"pattern": m.group("pat")}, m.group(0))]


def _token_lines(m: re.Match[str]) -> list[Predicate]:
    return [Predicate("regex", {"pattern": re.escape(m.group("tok"))}, m.group(0))]


def _empty_diff(m: re.Match[str]) -> list[Predicate]:
    return [Predicate("empty_diff", {}, m.group(0))]


FILE_WORD = r"[\w./${}-]+\.(?:json|png|log|txt|md|npy|bin|xml|csv|h5|img)\b"
QUOTED_REGEX_RE = re.compile(r"\bregex\s+(?P<q>[\"'])(?P<pat>.+?)(?P=q)")
MATCHERS: list[tuple[re.Pattern[str], Matcher]] = [
    # first: a quoted pattern is opaque ("0 errors" or a comma inside it are not clauses)
    (QUOTED_REGEX_RE, _regex),
    (re.compile(r"\b(?:rc|exit(?:\s+code)?|return\s+code)\s*(?:=|==|of|is)?\s*(?P<rc>\d+)\b",
                re.I), _rc),
    (re.compile(rf"\bpytest(?:\s+(?:passed|failed|skipped|errors|collected)\s*(?:{OP_RE})\s*\d+)+"),
     _pytest_struct),
    (re.compile(r"\b(?:no|zero|without)\s+skip(?:s|ped)?\b|\b0\s+skipped\b", re.I), _no_skips),
    (re.compile(r"\b(?P<n>\d+)\s+(?P<what>passed|failed|errors?)\b"), _n_count),
    (re.compile(r"\b(?:all\s+(?:tests\s+)?pass(?:es|ed)?|tests?\s+pass(?:es|ed)?|PASSED)\b"),
     _all_pass),
    (re.compile(rf"\brange\s+(?:(?P<file>{FILE_WORD})\s+)?(?P<key>{KEY})\s+(?P<lo>{NUM})\s*\.\.\s*"
                rf"(?P<hi>{NUM})"), _range),
    (re.compile(rf"(?P<key>{KEY}(?:\s[a-z_][\w-]*)?)\s+(?:within|between|in)\s+\[?(?P<lo>{NUM})"
                rf"\s*(?:–|—|-|\.\.|to|and|,)\s*(?P<hi>{NUM})\]?"), _range),
    (re.compile(rf"\bjson\s+(?P<file>{FILE_WORD})\s+(?P<key>{KEY})\s*(?P<op>{OP_RE})\s*"
                rf"(?P<val>{NUM})"), _compare),
    (re.compile(r"\bempty\s+diff\b|\bdiff\s+(?:is\s+)?empty\b|\bno\s+diff(?:erences)?\b", re.I),
     _empty_diff),
    (re.compile(r"\b(?P<tok>[A-Z][A-Z0-9]*_[A-Z0-9_]+)\s+lines?\b"), _token_lines),
    (re.compile(rf"(?:\bfile\s+)?{FILE_WORD}(?:\s*(?:,|\+|and)\s*{FILE_WORD})*\s+exists?\b"
                rf"|\b(?:contains|stash|stashed|saves?|saved|writes?|produces?)\s+"
                rf"{FILE_WORD}(?:\s*(?:,|\+|and)\s*{FILE_WORD})*"), _files),
    (re.compile(rf"(?P<key>\b{KEY}(?:\s[a-z_][\w-]*)?)\s*(?P<op>{OP_RE})\s*(?P<val>{NUM})"
                r"(?:\s*(?:px|s|%))?"), _compare),
]

CLAUSE_SPLIT_RE = re.compile(
    rf";|,\s+(?!{FILE_WORD})|\s+and\s+(?=no\b|[\w_]+\s*(?:≥|>=|≤|<=|<|>|=|within))")


def split_clauses(text: str) -> list[str]:
    """Clauses of an Expect line; quoted regex patterns are never cut."""
    quoted: list[str] = []

    def hide(match: re.Match[str]) -> str:
        quoted.append(match.group(0))
        return f"\ue000{len(quoted) - 1}\ue001"

    masked = QUOTED_REGEX_RE.sub(hide, text)
    clauses = [c.strip() for c in CLAUSE_SPLIT_RE.split(masked) if c and c.strip()]
    return [re.sub("\ue000(\\d+)\ue001", lambda m: quoted[int(m.group(1))], c) for c in clauses]


def parse_expect(text: str) -> list[Predicate]:
    """Predicates for one Expect line; an empty list for empty text."""
    preds: list[Predicate] = []
    for clause in split_clauses(text):
        preds.extend(_parse_clause(clause))
    return preds


def _parse_clause(clause: str) -> list[Predicate]:
    found: list[Predicate] = []
    rest = clause
    for pattern, build in MATCHERS:
        while True:
            match = pattern.search(rest)
            if not match:
                break
            found.extend(build(match))
            rest = rest[: match.start()] + " " + rest[match.end():]
    words = [w for w in re.findall(r"[^\W\d_][\w'-]*", rest) if w.lower() not in FILLER]
    if words:
        left = " ".join(rest.split()).strip(" .,;+") if found else clause.strip(" .")
        found.append(Predicate("unchecked", {}, left))
    return found


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
