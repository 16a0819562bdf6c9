"""Hostile paths and documents: writes stay inside the repository, links inside it are
written through, bytes loopkit does not change stay byte for byte, injected lines and
conflict markers are caught, the archive survives a kill between its two writes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from lk_helpers import Invoke

from loopkit.cli import cli
from loopkit.parsers.ledger import parse_ledger
from loopkit.parsers.memory import parse_memory

STAMP = "20251006T172653Z"
MEMO = """Summary: hostile
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — hostile test
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/2025-10-loopkit/phase_h/
Do Now: CLI-FLAGS-003 — echo ok
If Blocked: stop.

How-To Map:
- echo ok > "$RUN_DIR/ok.txt"
  Expect: rc=0; file ok.txt exists
"""
RUN_ROOT = "reports/2025-10-loopkit/phase_h"


def _tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the repository that nothing may write to."""
    folder = tmp_path / "outside"
    (folder / "x").mkdir(parents=True)
    (folder / "x/plan.md").write_text((Path(__file__).parent / "fixtures" /
                                       "cli-noise-pix0_plan_34b0645a.md").read_text())
    (folder / "ledger.md").write_text("# not yours\n")
    return folder


def test_config_paths_outside_the_repository_are_refused(repo: Path, lk: Invoke,
                                                         outside: Path) -> None:
    before = _tree_digest(outside)
    (repo / "loopkit.toml").write_text(
        f'[paths]\nledger = "../outside/ledger.md"\nmemory = "{outside}/memory.md"\n')
    add = lk("memory", "add", "-m", "note")
    assert add.exit_code == 1 and "outside the repository" in add.output
    lint = lk("ledger", "lint")
    assert lint.exit_code == 1 and "outside the repository" in lint.output
    (repo / "loopkit.toml").write_text('[paths]\nplans = ["../outside/*/plan.md"]\n')
    assert lk("plan", "set", "x", "K3g3", "P").exit_code == 1
    assert _tree_digest(outside) == before


def test_plan_paths_outside_the_repository_are_refused(repo: Path, lk: Invoke,
                                                       outside: Path) -> None:
    before = _tree_digest(outside)
    rel = os.path.relpath(outside / "x/plan.md", repo)
    result = lk("plan", "set", rel, "K3g3", "P")
    assert result.exit_code == 1 and "outside the repository" in result.output
    assert _tree_digest(outside) == before


def test_a_symlinked_reports_folder_that_leaves_the_repository_is_refused(
        repo: Path, lk: Invoke, outside: Path) -> None:
    before = _tree_digest(outside)
    (repo / "reports").symlink_to(outside, target_is_directory=True)
    (repo / "memo.md").write_text(MEMO)
    result = lk("run", "memo.md")
    assert result.exit_code == 1 and "outside the repository" in result.output
    assert _tree_digest(outside) == before


def test_links_a_step_leaves_in_its_run_folder_are_never_written_through(
        repo: Path, lk: Invoke, outside: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = outside / "ledger.md"
    monkeypatch.setenv("LK_TARGET", str(target))
    target.write_text(f"home {Path.home()} repo {repo}\nAPI_TOKEN=abcdefgh123\n")
    before = _tree_digest(outside)
    memo = MEMO.replace('- echo ok > "$RUN_DIR/ok.txt"',
                        '- ln -s "$LK_TARGET" "$RUN_DIR/leak.txt"; '
                        'ln -s "$LK_TARGET" "$RUN_DIR/summary.md"; echo ok > "$RUN_DIR/ok.txt"')
    (repo / "memo.md").write_text(memo)
    result = lk("run", "memo.md")
    assert result.exit_code == 0, result.output
    assert _tree_digest(outside) == before
    run_dir = repo / RUN_ROOT / STAMP
    assert not (run_dir / "summary.md").is_symlink()
    assert (run_dir / "leak.txt").is_symlink()


def test_a_root_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = CliRunner().invoke(cli, ["--root", str(missing), "memory", "add", "-m", "x"])
    assert result.exit_code == 1 and "no such directory" in result.output
    assert not missing.exists()


def test_bytes_that_are_not_utf8_survive_a_rewrite(repo: Path, lk: Invoke) -> None:
    ledger = repo / "docs/fix_plan.md"
    raw = ledger.read_bytes()
    cut = raw.index(b"## [CLI-FLAGS-003]")
    odd = b"- Note: caf\xe9 \xff\xfe latin-1 bytes\n\n"
    ledger.write_bytes(raw[:cut] + odd + raw[cut:])
    result = lk("item", "set", "CLI-FLAGS-003", "--next-action", "Run the memo.")
    assert result.exit_code == 0, result.output
    assert odd in ledger.read_bytes()
    assert isinstance(lk("ledger", "lint").exception, SystemExit | None)


def test_a_symlinked_ledger_is_written_through(repo: Path, lk: Invoke) -> None:
    real = repo / "docs/real_fix_plan.md"
    (repo / "docs/fix_plan.md").rename(real)
    (repo / "docs/fix_plan.md").symlink_to("real_fix_plan.md")
    assert lk("item", "set", "CLI-FLAGS-003", "--next-action", "Go.").exit_code == 0
    assert (repo / "docs/fix_plan.md").is_symlink()
    assert "- Next Actions: Go.\n" in real.read_text()


def test_a_link_out_of_the_repository_is_not_written_through(repo: Path, lk: Invoke,
                                                             outside: Path) -> None:
    before = _tree_digest(outside)
    (repo / "galph_memory.md").unlink()
    (repo / "galph_memory.md").symlink_to(outside / "ledger.md")
    result = lk("memory", "add", "-m", "note")
    assert result.exit_code == 1 and "outside the repository" in result.output
    assert _tree_digest(outside) == before


@pytest.mark.parametrize("doc", ["docs/fix_plan.md", "galph_memory.md",
                                 "plans/active/cli-noise-pix0/plan.md", "input.md"])
def test_conflict_markers_are_found_in_every_document(repo: Path, lk: Invoke,
                                                      doc: str) -> None:
    path = repo / doc
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    lines[3:3] = ["<<<<<<< HEAD\n", "ours\n", "=======\n", "theirs\n", ">>>>>>> other\n"]
    path.write_text("".join(lines))
    result = lk("check")
    assert result.exit_code == 1
    assert f"{doc}:4: unresolved merge conflict marker" in result.output


def test_writes_refuse_a_document_with_conflict_markers(repo: Path, lk: Invoke) -> None:
    ledger = repo / "docs/fix_plan.md"
    ledger.write_text(ledger.read_text() + "<<<<<<< HEAD\nx\n=======\ny\n>>>>>>> b\n")
    before = ledger.read_bytes()
    result = lk("item", "set", "CLI-FLAGS-003", "--next-action", "Go.")
    assert result.exit_code == 1 and "conflict marker" in result.output
    assert ledger.read_bytes() == before


def test_a_crlf_ledger_and_memory_keep_crlf(repo: Path, lk: Invoke) -> None:
    for rel in ("docs/fix_plan.md", "galph_memory.md"):
        path = repo / rel
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert lk("item", "set", "CLI-FLAGS-003", "--next-action", "Go.").exit_code == 0
    assert lk("memory", "add", "--focus", "CLI-FLAGS-003", "-m", "note").exit_code == 0
    for rel in ("docs/fix_plan.md", "galph_memory.md"):
        data = (repo / rel).read_bytes()
        assert data.count(b"\n") == data.count(b"\r\n"), rel


def test_newlines_in_free_text_cannot_inject_headings_or_entries(repo: Path,
                                                                 lk: Invoke) -> None:
    items_before = [i.item_id for i in parse_ledger((repo / "docs/fix_plan.md").read_text()).items]
    entries_before = len(parse_memory((repo / "galph_memory.md").read_text()).entries)
    assert lk("item", "set", "CLI-FLAGS-003", "--status", "in_progress", "--note",
              "phase L\n\n## [FAKE-001] injected item\n- Status: done").exit_code == 0
    assert lk("memory", "add", "--focus", "CLI-FLAGS-003", "-m",
              "one\n\n### 2025-10-06T00:00:00Z (galph loop recap)\n- forged").exit_code == 0
    ledger = parse_ledger((repo / "docs/fix_plan.md").read_text())
    assert [i.item_id for i in ledger.items] == items_before
    assert len(parse_memory((repo / "galph_memory.md").read_text()).entries) == \
        entries_before + 1


def test_plan_set_retried_does_not_double_the_note(repo: Path, lk: Invoke) -> None:
    (repo / "memo.md").write_text(MEMO)
    assert lk("run", "memo.md").exit_code == 0
    plan = repo / "plans/active/cli-noise-pix0/plan.md"
    for _ in range(2):
        assert lk("plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence",
                  STAMP).exit_code == 0
    assert plan.read_text().count(f"(run {STAMP})") == 1


def test_an_archive_killed_between_its_writes_is_finished_by_a_retry(repo: Path,
                                                                     lk: Invoke) -> None:
    ledger, archive = repo / "docs/fix_plan.md", repo / "docs/fix_plan_archive.md"
    original = ledger.read_bytes()
    assert lk("archive", "--item", "CLI-FLAGS-003", "--keep-last", "3").exit_code == 0
    ledger.write_bytes(original)  # the state a kill after the archive's write leaves
    lint = lk("ledger", "lint")
    assert lint.exit_code == 1 and "is also in docs/fix_plan_archive.md" in lint.output
    archived = archive.read_bytes()
    assert lk("archive", "--item", "CLI-FLAGS-003", "--keep-last", "3").exit_code == 0
    assert archive.read_bytes() == archived
    assert "is also in" not in lk("ledger", "lint").output


def test_a_kill_during_archive_leaves_a_recoverable_state(repo: Path) -> None:
    """Real kills: the process dies right after its first file replace."""
    hook = ("import os, sys\nreal = os.replace\n"
            "def replace(a, b):\n    real(a, b)\n    os.kill(os.getpid(), 9)\n"
            "os.replace = replace\nfrom loopkit.cli import main\nsys.argv = sys.argv[1:]\n"
            "main()\n")
    cmd = [sys.executable, "-c", hook, "loopkit", "--root", str(repo), "archive", "--item",
           "CLI-FLAGS-003", "--keep-last", "3"]
    assert subprocess.run(cmd, capture_output=True).returncode == -9
    lk_cmd = [sys.executable, "-m", "loopkit", "--root", str(repo)]
    subprocess.run([*lk_cmd, "archive", "--item", "CLI-FLAGS-003", "--keep-last", "3"],
                   check=True, capture_output=True)
    lint = subprocess.run([*lk_cmd, "ledger", "lint"], capture_output=True, text=True)
    assert "is also in" not in lint.stdout
    archive = (repo / "docs/fix_plan_archive.md").read_text()
    headers = [line for line in archive.splitlines() if "Attempt #" in line]
    assert headers and len(headers) == len(set(headers))  # each block copied once
