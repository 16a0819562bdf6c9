"""``loopkit run``: mint a run directory, execute the planned steps, record and judge them."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.expect.all_kinds import check
from loopkit.expect.context import StepContext
from loopkit.fsio import atomic_write, inside, sha256_file
from loopkit.model import Memo
from loopkit.parsers.memo import memo_focus
from loopkit.pytest_summary import parse_pytest_summary
from loopkit.records import tool_versions
from loopkit.requires import SKIPPED, unmet
from loopkit.run.evidence import record_run
from loopkit.run.plan import PlannedStep
from loopkit.run.record import (
    STAMP_FORMAT,
    Outcome,
    RunRecord,
    StepRecord,
    compute_verdict,
)
from loopkit.run.recorder import Recorder, RunFolder
from loopkit.run.shell import ShellSession
from loopkit.scrub import PathScrubber, Redactor
from loopkit.shellwords import resolve_first_command, search_path, variables_used
from loopkit.snapshot import env_snapshot, git_snapshot
from loopkit.summary import render_commands, render_summary

MAX_ARTIFACT_FILES = 500
TAIL_BYTES = 256 * 1024


@dataclass
class RunRequest:
    cfg: Config
    memo: Memo
    memo_path: Path | None  # None for loopkit exec (no memo file)
    run_root: str
    shell: list[PlannedStep]
    manual: list[PlannedStep]
    now: datetime
    timeout_s: float
    env_profile: str | None = None
    selection: dict[str, Any] = field(default_factory=dict)
    t0: float = field(default_factory=time.monotonic)

    def clock(self) -> datetime:
        """The run's clock: ``now`` (one read, or --now) plus elapsed monotonic time."""
        return self.now + timedelta(seconds=time.monotonic() - self.t0)


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def mint_run_dir(root: Path, run_root: str, now: datetime,
                 reports: str = "reports") -> tuple[str, Path]:
    """Create ``<run_root>/<STAMP>`` exclusively; a taken second moves to the next one. The
    run root must lie in the reports root, and no symbolic link may lead either out of the
    repository."""
    top = inside(root, Path(reports), "reports root")
    base = root / run_root
    if top not in inside(root, base, "run root").parents and inside(root, base) != top:
        raise LoopkitError(f"run root {run_root} is not inside the reports root {reports}/")
    base.mkdir(parents=True, exist_ok=True)
    inside(root, base, "run root")
    for bump in range(120):
        stamp = (now + timedelta(seconds=bump)).astimezone(UTC).strftime(STAMP_FORMAT)
        try:
            (base / stamp).mkdir()
        except FileExistsError:
            continue
        return stamp, base / stamp
    raise LoopkitError(f"could not mint a fresh run directory under {base}")


def shell_env(req: RunRequest, stamp: str, run_dir: Path) -> dict[str, str]:
    """The steps' environment: the caller's own (PATH as given, so their python, pytest and
    tools run), the env profile, STAMP/RUN_DIR, and the folders ``[run] path_prepend`` asks
    for first on PATH."""
    env = dict(os.environ)
    if req.env_profile:
        profile = req.cfg.env_profiles.get(req.env_profile)
        if profile is None:
            raise LoopkitError(f"unknown env profile {req.env_profile!r}")
        env.update(profile.set)
    env.update({"STAMP": stamp, "RUN_DIR": str(run_dir), "LOOPKIT_RUN_ID": stamp})
    env["PATH"] = prepend_path(env.get("PATH", ""), req.cfg.run.path_prepend, req.cfg.root)
    return env


def prepend_path(path: str, folders: list[str], root: Path) -> str:
    """``PATH`` with the configured folders first (relative ones taken from the root)."""
    first = [str(Path(f) if os.path.isabs(f) else root / f) for f in folders]
    rest = [p for p in path.split(os.pathsep) if p and p not in first]
    return os.pathsep.join([*first, *rest])


def _new_record(req: RunRequest, stamp: str, run_dir: Path, env: dict[str, str]) -> RunRecord:
    root = req.cfg.root
    focus = memo_focus(req.memo)
    return RunRecord(
        run_id=stamp, run_dir=str(run_dir.relative_to(root)), started=iso(req.now),
        memo=({"path": _rel(req.memo_path, root), "sha256": sha256_file(req.memo_path)}
              if req.memo_path else {"path": None, "sha256": None, "adhoc": True}),
        focus={"raw": focus.raw, "item_id": focus.item_id, "plan_task": focus.plan_task,
               "anchor": focus.anchor} if focus else {},
        git=git_snapshot(root), env={**env_snapshot(env, req.cfg), **search_path(env)},
        tools=tool_versions(root, env, req.cfg),
        steps=[StepRecord(i=p.i, cmd=p.cmd, expect_text=p.step.expect,
                          stdout=f"steps/{p.i:02d}.out", stderr=f"steps/{p.i:02d}.err",
                          requires=list(p.requires))
               for p in req.shell],
        selection=dict(req.selection),
        manual_steps=[{"i": p.i, "text": p.step.text, "expect": p.step.expect}
                      for p in req.manual])


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")
    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def execute(req: RunRequest, console: Console) -> tuple[RunRecord, Path]:
    root = req.cfg.root
    stamp, run_dir = mint_run_dir(root, req.run_root, req.now, req.cfg.paths.reports)
    (run_dir / "steps").mkdir()
    env = shell_env(req, stamp, run_dir)
    redactor = Redactor(env, req.cfg.env_snapshot.redact)
    writer = Recorder(RunFolder(run_dir), redactor, PathScrubber(root))
    run = _new_record(req, stamp, run_dir, env)
    writer.text("commands.txt", render_commands(run, req))
    writer.run(run)
    console.print(f"[bold]loopkit run[/] {stamp} -> {run.run_dir} ({len(req.shell)} step(s))")
    for planned in req.manual:
        first = planned.step.text.strip().splitlines()[0][:90] if planned.step.text.strip() else ""
        console.print(f"  [dim]step {planned.i} (manual, not run)[/] {escape(first)}")
    session = ShellSession(root, env, writer.folder.file("shell.log"), redactor.text)
    try:
        with _sigterm_as_interrupt():
            _run_steps(req, run, session, writer, console, env)
        run.complete = True
    except KeyboardInterrupt:
        session.kill()
        for rec in run.steps:
            if rec.status == "running":
                rec.status = "aborted"
        console.print("[red]interrupted: run recorded as aborted[/]")
    finally:
        session.close()
        _finalize(req, run, writer)
    return run, run_dir


def _run_steps(req: RunRequest, run: RunRecord, session: ShellSession, writer: Recorder,
               console: Console, env: dict[str, str]) -> None:
    stop = False
    where = {"PATH": env.get("PATH", ""), "PWD": str(req.cfg.root)}  # the shell's, step by step
    for planned, rec in zip(req.shell, run.steps, strict=True):
        if stop:
            rec.status = "not_run"
            continue
        reasons = unmet(planned.requires, env, req.cfg.root)
        rec.resolved = resolve_first_command(planned.cmd, where["PATH"], Path(where["PWD"]))
        if reasons:
            _skip_one(planned, rec, "; ".join(reasons), console)
        else:
            variables = _run_one(req, planned, rec, session, writer, console)
            where.update({k: v for k, v in variables.items() if k in where and v})
        writer.run(run, force=False)
        stop = rec.status in ("timeout", "aborted")


def _skip_one(planned: PlannedStep, rec: StepRecord, reason: str, console: Console) -> None:
    """Not run: the environment lacks what the step requires; no check of it can pass."""
    rec.status, rec.skip_reason = SKIPPED, reason
    rec.stdout = rec.stderr = ""
    rec.expect = [Outcome(p.kind, p.describe(), SKIPPED, reason) for p in planned.predicates]
    short = planned.cmd.splitlines()[0][:90]
    console.print(f"  [cyan]step {planned.i}[/] {escape(short)}")
    console.print(f"    [yellow]{SKIPPED}[/]: {escape(reason)}")


def _run_one(req: RunRequest, planned: PlannedStep, rec: StepRecord, session: ShellSession,
             writer: Recorder, console: Console) -> dict[str, str]:
    """Run one step; returns the shell variables it reported (PATH and PWD among them)."""
    run_dir = writer.folder.path
    writer.text(f"steps/{planned.i:02d}.sh", planned.cmd + "\n")  # the redacted copy
    short = writer.redactor.text(planned.cmd.splitlines()[0][:90])
    console.print(f"  [cyan]step {planned.i}[/] {escape(short)}")
    rec.status, rec.start = "running", iso(req.clock())
    names = [n for n in variables_used(planned.cmd) if not writer.redactor.is_secret_name(n)]
    names += [n for n in ("PATH", "PWD") if n not in names]
    out, err = writer.folder.file(rec.stdout), writer.folder.file(rec.stderr)
    result = session.run_step(planned.i, planned.cmd, out, err, req.timeout_s, names)
    rec.rc, rec.status = result.rc, result.status
    rec.end, rec.duration_s = iso(req.clock()), round(result.duration_s, 3)
    counts = parse_pytest_summary(read_tail(out))
    rec.pytest = counts.as_dict() if counts else None
    if result.status in ("ok", "failed"):
        ctx = StepContext(req.cfg.root, run_dir, planned.cmd, rec.rc, out, err, counts,
                          result.variables)
        rec.expect = [check(pred, ctx) for pred in planned.predicates]
        if any(o.verdict == "fail" for o in rec.expect):
            rec.status = "failed"
    mark = {"ok": "[green]ok[/]", "failed": "[red]FAILED[/]"}.get(
        rec.status, f"[red]{rec.status}[/]")
    console.print(f"    {mark} rc={rec.rc} {rec.duration_s:.1f}s " + escape(" ".join(
        f"{o.verdict}:{o.pred}" for o in rec.expect if o.verdict != "pass")))
    return result.variables


def _finalize(req: RunRequest, run: RunRecord, writer: Recorder) -> None:
    for step in run.steps:
        if step.status in ("pending", "running"):
            step.status = "not_run" if step.status == "pending" else "aborted"
    run.ended = iso(req.clock())
    run.skipped_steps = [{"i": s.i, "requires": s.requires, "reason": s.skip_reason}
                         for s in run.steps if s.status == SKIPPED]
    run.verdict, run.counts = compute_verdict(run)
    writer.json("env.json", {
        "env": run.env, "tools": run.tools,
        "commands": [{"step": s.i, **(s.resolved or {})} for s in run.steps]})
    writer.text("commands.txt", render_commands(run, req))
    writer.json("git.json", run.git)
    writer.text("summary.md", render_summary(run))
    writer.clean_files(exclude={"run.json", "env.json", "git.json", "summary.md", "commands.txt"})
    run.links = writer.folder.links()
    run.artifacts = collect_artifacts(req, writer.folder)
    writer.run(run)
    lines = [f"{sha256_file(p)}  {p.relative_to(writer.folder.path).as_posix()}"
             for p in writer.folder.files() if p.relative_to(writer.folder.path).as_posix()
             != "sha256.txt"]
    atomic_write(writer.folder.file("sha256.txt"), "\n".join(lines) + "\n", follow_links=False)
    record_run(req.cfg.root, writer.folder.path)


def read_tail(path: Path, limit: int = TAIL_BYTES) -> str:
    """The last ``limit`` bytes of a file as text (a pytest summary is at the end)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - limit))
            return fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def collect_artifacts(req: RunRequest, folder: RunFolder) -> list[dict[str, Any]]:
    """The run folder's files and the outputs its steps named, inside the repository only."""
    root = req.cfg.root
    run_dir = folder.path
    files = [p for p in folder.files() if p.name not in ("run.json", "sha256.txt")]
    for planned in req.shell:
        ctx = StepContext(root, run_dir, planned.cmd, None, run_dir, run_dir, None)
        for out in ctx.outputs():
            if out.is_symlink():
                continue
            if out.is_file():
                files.append(out)
            elif out.is_dir():
                files += [p for p in sorted(out.rglob("*")) if p.is_file() and not p.is_symlink()]
    real_root = Path(os.path.realpath(root))
    unique = [p for p in dict.fromkeys(Path(os.path.realpath(p)) for p in files)
              if real_root in p.parents][:MAX_ARTIFACT_FILES]
    return [{"path": _rel(p, root), "sha256": sha256_file(p), "bytes": p.stat().st_size}
            for p in unique if p.is_file()]


