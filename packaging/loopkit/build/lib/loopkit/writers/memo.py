"""Canonical memo rendering: header keys and sections in the canonical order."""

from __future__ import annotations

import yaml

from loopkit.model import HEADER_KEYS, SECTION_TITLES, Memo, Section, Step


def _order(title: str) -> int:
    return SECTION_TITLES.index(title) if title in SECTION_TITLES else len(SECTION_TITLES)


def render_step(step: Step) -> list[str]:
    first, *rest = step.text.split("\n")
    out = [f"- {first}".rstrip(), *rest]
    if step.expect is not None:
        out.append(f"  Expect: {step.expect}".rstrip())
    return out


def _render_section(memo: Memo, sec: Section) -> list[str]:
    head = f"{sec.label}:" + (f" {sec.inline}" if sec.inline else "")
    if sec.title == "How-To Map":
        body = list(memo.howto_intro)
        for step in memo.steps:
            body.extend(render_step(step))
    else:
        body = list(sec.body)
    return [head, *body]


def render_memo(memo: Memo) -> str:
    out: list[str] = []
    if memo.front_matter is not None:
        dumped = yaml.safe_dump(memo.front_matter, sort_keys=True, allow_unicode=True).rstrip()
        out += ["---", *([dumped] if memo.front_matter else []), "---"]
    out += memo.preamble
    fields = sorted(memo.fields, key=lambda f: HEADER_KEYS.index(f.key))
    out += [f"{f.key}: {f.value}".rstrip() for f in fields]
    out += memo.extra
    sections = sorted(memo.sections, key=lambda s: _order(s.title))
    for sec in sections:
        if out:
            out.append("")
        out += _render_section(memo, sec)
    return "\n".join(out) + "\n"
