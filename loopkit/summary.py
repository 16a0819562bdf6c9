"""Human-readable outputs of a run: ``summary.md`` and the replayable ``commands.txt``."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from loopkit.run.record import SKIPPED, RunRecord

if TYPE_CHECKING:
    from loopkit.run.flow import RunRequest


def render_commands(run: RunRecord, req: RunRequest) -> str:
    lines = ["#!/usr/bin/env bash",
             f"# loopkit run {run.run_id}: replay of {_memo_name(run)} steps",
             f"# git {run.git.get('head')} ({run.git.get('branch')})",
             "set -o pipefail",
             f"# PATH={run.env.get('PATH', '')}",
             f"# VIRTUAL_ENV={run.env.get('VIRTUAL_ENV') or '(none)'}",
             f"export STAMP={shlex.quote(run.run_id)}",
             f"export RUN_DIR={shlex.quote(run.run_dir)}",
             "mkdir -p \"$RUN_DIR\""]
    if req.env_profile:
        for key, value in req.cfg.env_profiles[req.env_profile].set.items():
            lines.append(f"export {key}={shlex.quote(value)}")
    resolved = {s.i: s.resolved for s in run.steps if s.resolved}
    for planned in req.shell:
        lines += ["", f"# step {planned.i}{_resolution(resolved.get(planned.i))}", planned.cmd]
    return "\n".join(lines) + "\n"


def _resolution(found: dict[str, str | None] | None) -> str:
    """``: pytest -> /home/u/.venv/bin/pytest`` (or builtin, or not found)."""
    if not found or not found.get("command"):
        return ""
    where = found.get("path") or found.get("kind")
    return f": {found['command']} -> {where}"


def _memo_name(run: RunRecord) -> str:
    return f"`{run.memo['path']}`" if run.memo.get("path") else "none (loopkit exec)"


def render_summary(run: RunRecord) -> str:
    c = run.counts
    out = [f"# loopkit run {run.run_id}", "",
           f"- Verdict: **{run.verdict}** (checks: {c.get('pass', 0)} pass, "
           f"{c.get('fail', 0)} fail, {c.get('unchecked', 0)} unchecked, "
           f"{c.get(SKIPPED, 0)} {SKIPPED})",
           f"- Steps: {_selection_line(run)}",
           f"- Memo: {_memo_name(run)}  Focus: {run.focus.get('raw', '')}",
           f"- Git: {run.git.get('head')} on {run.git.get('branch')}"
           f" ({len(run.git.get('dirty', []))} dirty)",
           f"- Started {run.started}, ended {run.ended}", "",
           "| step | status | rc | seconds | pytest | command |", "|---|---|---|---|---|---|"]
    for s in run.steps:
        py = s.pytest or {}
        pyt = (f"{py.get('passed')}p/{py.get('failed')}f/{py.get('skipped')}s/"
               f"{py.get('errors')}e") if py else ""
        cmd = s.cmd.splitlines()[0][:80].replace("|", "\\|") if s.cmd else ""
        out.append(f"| {s.i} | {s.status} | {s.rc} | {s.duration_s} | {pyt} | `{cmd}` |")
    if run.skipped_steps:
        out += ["", f"## Steps {SKIPPED} (not run; their checks are not evidence)", ""]
        out += [f"- step {s['i']}: requires {', '.join(s['requires'])} — {s['reason']}"
                for s in run.skipped_steps]
    out += ["", "## Checks", ""]
    for s in run.steps:
        for o in s.expect:
            out.append(f"- step {s.i}: **{o.verdict}** {o.pred} — {o.detail}")
    if run.manual_steps:
        out += ["", "## Manual steps (not executed)", ""]
        out += [f"- step {m['i']}: {m['text'].splitlines()[0]}" for m in run.manual_steps]
    out += ["", "## Notes", "", ""]
    return "\n".join(out)


def _selection_line(run: RunRecord) -> str:
    sel = run.selection or {}
    chosen = ", ".join(str(i) for i in sel.get("selected", [s.i for s in run.steps]))
    if sel.get("subset"):
        every = ", ".join(str(i) for i in sel.get("available", []))
        how = f"--steps {sel['steps']}" if sel.get("steps") else "--do-now-only"
        return f"**subset** ({how}): ran {chosen} of the memo's shell steps {every}"
    return f"all of the memo's shell steps ({chosen})"
