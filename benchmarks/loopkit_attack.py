"""Attack loopkit and count what got through (issue 18): kills at every write boundary,
forged runs, planted secrets, hostile paths, forged step results, tracebacks.

Every attack runs the real ``python -m loopkit`` in a throwaway git repository built from the
test fixtures, with secrets planted in the environment, and a sentinel folder beside the
repository that nothing may write to. Prints one JSON object; every count but the attempts
must be 0.

    python benchmarks/loopkit_attack.py [--quick] [--json out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "loopkit" / "fixtures"
DOCS = {"docs/fix_plan.md": "fix_plan_34b0645a_k3g3.md",
        "plans/active/cli-noise-pix0/plan.md": "cli-noise-pix0_plan_34b0645a.md",
        "plans/active/vectorization.md": "vectorization_34b0645a.md",
        "galph_memory.md": "galph_memory_34b0645a.md",
        "input.md": "02_2025-10-06_34b0645a_K3g3-steering-expect-lines.md"}
SECRETS = {"MY_PRIVATE_PW": "pw-Qz81xLm", "DB_PASSWORD": "hunt3r",
           "DATABASE_URL": "postgres://app:dbSecret77@db:5432/x",
           "OPENAI_API_KEY": "sk-proj-AbCdEfGhIjKlMnOpQrStUv12",
           "GH_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}
RAW = ["pw-Qz81xLm", "hunt3r", "dbSecret77", "sk-proj-AbCdEfGhIjKlMnOpQrStUv12",
       "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "sk-proj-TypedInAStep0123456789",
       "ghs_remote8Secret8Value"]
MEMO = """Summary: attack
Mode: Docs
Focus: CLI-FLAGS-003 / Phase K3g3 — attack
Branch: feature/spec-based-2
Mapped tests: none — evidence-only
Artifacts: reports/attack/phase_a/
Do Now: CLI-FLAGS-003 — echo ok
If Blocked: stop.

How-To Map:
- echo ok > "$RUN_DIR/ok.txt"; echo key sk-proj-TypedInAStep0123456789; env; git remote -v
  Expect: rc=0; file ok.txt exists
"""
KILL_HOOK = """import os, sys
k = int(os.environ.pop("LK_KILL_AT"))
real = os.replace
count = [0]
def replace(a, b):
    real(a, b)
    count[0] += 1
    if count[0] == k:
        os.kill(os.getpid(), 9)
os.replace = replace
from loopkit.cli import main
sys.argv = ["loopkit", *sys.argv[1:]]
main()
"""


class Attack:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.counts: Counter[str] = Counter()
        self.env = {**os.environ, **SECRETS, "PYTHONPATH": str(ROOT),
                    "LOOPKIT_NOW": "2025-10-06T17:26:53Z"}
        self.n = 0

    def repo(self) -> tuple[Path, Path]:
        """A fresh repository and, beside it, the sentinel folder."""
        self.n += 1
        top = self.base / f"case{self.n:03d}"
        repo, outside = top / "repo", top / "outside"
        for rel, name in DOCS.items():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(FIXTURES / name, repo / rel)
        (repo / "memo.md").write_text(MEMO)
        (outside / "x").mkdir(parents=True)
        shutil.copy(FIXTURES / DOCS["plans/active/cli-noise-pix0/plan.md"], outside / "x/plan.md")
        (outside / "ledger.md").write_text("# not yours\n")
        git(repo, "init", "-q", "-b", "feature/spec-based-2")
        git(repo, "remote", "add", "origin",
            "https://x-access-token:ghs_remote8Secret8Value@github.com/o/r.git")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "state")
        return repo, outside

    def lk(self, repo: Path, *args: str, kill_at: int | None = None,
           root: str | None = None) -> subprocess.CompletedProcess[str]:
        head = [sys.executable, "-m", "loopkit"] if kill_at is None else \
            [sys.executable, "-c", KILL_HOOK]
        env = dict(self.env, **({"LK_KILL_AT": str(kill_at)} if kill_at else {}))
        out = subprocess.run([*head, "--root", root or str(repo), *args], cwd=repo.parent,
                             env=env, capture_output=True, text=True, timeout=300)
        self.counts["invocations"] += 1
        if "Traceback" in out.stdout + out.stderr:
            self.counts["tracebacks"] += 1
            print(f"traceback: {args}\n{out.stderr[-2000:]}", file=sys.stderr)
        return out

    def check_secrets(self, repo: Path) -> None:
        blobs = [p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts
                 and p.name != "memo.md"]
        history = subprocess.run(["git", "log", "-p", "--all", "--", ".", ":!memo.md"],
                                 cwd=repo, capture_output=True).stdout
        for raw in RAW:
            if any(raw.encode() in b for b in blobs) or raw.encode() in history:
                self.counts["secrets_in_files"] += 1
                print(f"secret {raw} found under {repo}", file=sys.stderr)

    def check_outside(self, outside: Path, before: dict[str, str]) -> None:
        if tree(outside) != before:
            self.counts["writes_outside"] += 1
            print(f"write outside the repository: {outside}", file=sys.stderr)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          cwd=repo, capture_output=True, text=True, check=True).stdout


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def docs_parse(repo: Path) -> bool:
    code = ("import sys; from pathlib import Path; from loopkit.config import load_config; "
            "from loopkit.ops.docs import load_ledger, load_archive, plan_files, load_plan; "
            "from loopkit.parsers.memory import parse_memory; from loopkit.fsio import read_text; "
            "cfg = load_config(Path(sys.argv[1])); load_ledger(cfg); load_archive(cfg); "
            "[load_plan(cfg, str(p.relative_to(cfg.root))) for p in plan_files(cfg)]; "
            "parse_memory(read_text(cfg.path(cfg.paths.memory)))")
    out = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    return out.returncode == 0


KILL_COMMANDS = [
    ("memory", ["memory", "add", "--focus", "CLI-FLAGS-003", "-m",
                "note sk-proj-TypedInAStep0123456789"]),
    ("item", ["item", "set", "CLI-FLAGS-003", "--status", "in_progress", "--note", "phase L"]),
    ("attempt", ["attempt", "add", "CLI-FLAGS-003", "--run", "20251006T172653Z"]),
    ("plan", ["plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", "20251006T172653Z"]),
    ("archive", ["archive", "--item", "CLI-FLAGS-003", "--keep-last", "3"]),
    ("run", ["run", "memo.md"]),
]


def kills(att: Attack, quick: bool) -> None:
    """Kill each command right after each of its file replaces; then retry it and check."""
    for name, args in KILL_COMMANDS[: 3 if quick else None]:
        k = 1
        while True:
            repo, outside = att.repo()
            before = tree(outside)
            if name != "run":
                att.lk(repo, "run", "memo.md")
            out = att.lk(repo, *args, kill_at=k)
            killed = out.returncode == -9
            att.counts["kill_boundaries"] += killed
            if not docs_parse(repo):
                att.counts["torn_documents"] += 1
                print(f"torn document after killing {name} at write {k}", file=sys.stderr)
            retry = att.lk(repo, *args)
            if retry.returncode not in (0, 3) or not docs_parse(repo):
                att.counts["failed_recoveries"] += 1
                print(f"{name} at write {k}: retry {retry.returncode} {retry.stderr[-400:]}",
                      file=sys.stderr)
            lint = att.lk(repo, "ledger", "lint")
            if "is also in" in lint.stdout:
                att.counts["duplicated_attempts"] += 1
            att.check_secrets(repo)
            att.check_outside(outside, before)
            if not killed or (quick and k >= 3):
                break
            k += 1


def forge_record(folder: Path, rel: str, verdict: str = "pass") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ok.txt").write_text("ok\n")
    record = {"run_id": folder.name, "run_dir": rel, "started": "2025-10-06T17:26:53Z",
              "verdict": verdict, "complete": True, "steps": [], "skipped_steps": [],
              "selection": {"subset": False}, "counts": {"pass": 1},
              "artifacts": [{"path": f"{rel}/ok.txt"}]}
    (folder / "run.json").write_text(json.dumps(record))
    digest_folder(folder)


def digest_folder(folder: Path) -> None:
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(folder)}"
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != "sha256.txt"]
    (folder / "sha256.txt").write_text("\n".join(lines) + "\n")


def forgeries(att: Attack) -> None:
    """Each forged run is cited by plan set D, item set done, attempt add and a hand-edited
    done status that check and commit must refuse."""
    rel = "reports/attack/phase_a"
    kinds = ["inside", "outside", "edited-verdict", "redigested", "registry-line",
             "folder-link", "run-json-link", "moved-out"]
    for kind in kinds:
        repo, outside = att.repo()
        stamp = "20251006T180000Z"
        cite = stamp
        if kind == "inside":
            forge_record(repo / rel / stamp, f"{rel}/{stamp}")
        elif kind == "outside":
            forge_record(outside / stamp, f"{rel}/{stamp}")
            cite = str(outside / stamp)
        elif kind in ("edited-verdict", "redigested", "moved-out"):
            memo = MEMO.replace("Expect: rc=0;", "Expect: rc=1;")
            (repo / "memo.md").write_text(memo)
            att.lk(repo, "run", "memo.md")
            stamp = cite = "20251006T172653Z"
            run_dir = repo / rel / stamp
            data = json.loads((run_dir / "run.json").read_text())
            data["verdict"] = "pass"
            data["steps"] = []
            (run_dir / "run.json").write_text(json.dumps(data))
            if kind != "edited-verdict":
                digest_folder(run_dir)
            if kind == "moved-out":
                shutil.move(str(run_dir), str(repo / stamp))
                cite = str(repo / stamp)
        elif kind == "registry-line":
            forge_record(repo / rel / stamp, f"{rel}/{stamp}")
            log = repo / ".loopkit/runs.jsonl"
            log.parent.mkdir(exist_ok=True)
            digest = hashlib.sha256((repo / rel / stamp / "sha256.txt").read_bytes()).hexdigest()
            log.write_text(json.dumps({"run_dir": f"{rel}/{stamp}", "sha256": digest,
                                       "mac": "0" * 64}) + "\n")
        elif kind in ("folder-link", "run-json-link"):
            forge_record(outside / stamp, f"{rel}/{stamp}")
            (repo / rel).mkdir(parents=True)
            if kind == "folder-link":
                (repo / rel / stamp).symlink_to(outside / stamp)
            else:
                (repo / rel / stamp).mkdir()
                (repo / rel / stamp / "run.json").symlink_to(outside / stamp / "run.json")
        accepted = [
            att.lk(repo, "plan", "set", "cli-noise-pix0", "K3g3", "D", "--evidence", cite),
            att.lk(repo, "item", "set", "CLI-FLAGS-003", "--status", "done", "--evidence", cite),
            att.lk(repo, "attempt", "add", "CLI-FLAGS-003", "--run", cite)]
        git(repo, "checkout", "-q", "--", "docs", "plans")
        ledger = repo / "docs/fix_plan.md"
        text = ledger.read_text()
        status = next(line for line in text.splitlines(keepends=True)
                      if line.startswith("- Status:") and "in_progress" in line)
        ledger.write_text(text.replace(status, f"- Status: done (run {cite})\n", 1))
        accepted += [att.lk(repo, "check"), att.lk(repo, "commit", "-m", "turn")]
        att.counts["forgery_attempts"] += len(accepted)
        att.counts["forged_runs_accepted"] += sum(o.returncode == 0 for o in accepted)
        for out in accepted:
            if out.returncode == 0:
                print(f"forged run accepted ({kind}): {out.args[4:]}", file=sys.stderr)


def hostile_paths(att: Attack) -> None:
    """Paths in loopkit.toml, on the command line, in the memo and made by steps."""
    cases = [
        ("toml-ledger", '[paths]\nledger = "../outside/ledger.md"\n', ["item", "set",
         "CLI-FLAGS-003", "--next-action", "x"]),
        ("toml-memory-abs", '[paths]\nmemory = "{outside}/memory.md"\n', ["memory", "add",
         "-m", "x"]),
        ("toml-plans", '[paths]\nplans = ["../outside/*/plan.md"]\n', ["plan", "set", "x",
         "K3g3", "P"]),
        ("toml-reports", '[paths]\nreports = "../outside"\n', ["run", "memo.md"]),
        ("plan-arg", None, ["plan", "set", "../outside/x/plan.md", "K3g3", "P"]),
        ("run-root", None, ["run", "memo.md", "--run-root", "../outside"]),
        ("exec-run-root", None, ["exec", "--run-root", "reports/../../outside", "--", "echo"]),
    ]
    for _name, toml, args in cases:
        repo, outside = att.repo()
        before = tree(outside)
        if toml:
            (repo / "loopkit.toml").write_text(toml.replace("{outside}", str(outside)))
        att.lk(repo, *args)
        att.check_outside(outside, before)
        att.counts["hostile_path_attempts"] += 1
    links = {
        "reports-link": lambda r, o: (r / "reports").symlink_to(o, target_is_directory=True),
        "ledger-link": lambda r, o: ((r / "galph_memory.md").unlink(),
                                     (r / "galph_memory.md").symlink_to(o / "ledger.md")),
    }
    for make in links.values():
        repo, outside = att.repo()
        before = tree(outside)
        make(repo, outside)
        att.lk(repo, "run", "memo.md")
        att.lk(repo, "memory", "add", "-m", "x")
        att.check_outside(outside, before)
        att.counts["hostile_path_attempts"] += 1
    step_links = [
        'ln -s "$LK_OUT/ledger.md" "$RUN_DIR/summary.md"; ln -s "$LK_OUT/ledger.md" '
        '"$RUN_DIR/run.json"; echo "<repo> $HOME" > /dev/null',
        'ln -s "$LK_OUT/ledger.md" "$RUN_DIR/steps/02.out"; true',
        'rm -rf "$RUN_DIR/steps"; ln -s "$LK_OUT" "$RUN_DIR/steps"; true',
        'ln -s "$LK_OUT/ledger.md" "$RUN_DIR/leak.txt"; true',
    ]
    for cmd in step_links:
        repo, outside = att.repo()
        before = tree(outside)
        (outside / "ledger.md").write_text(f"{repo} {Path.home()} PASSWORD=abcdefgh1\n")
        before = tree(outside)
        memo = MEMO.replace('- echo ok > "$RUN_DIR/ok.txt";', f"- echo start; {cmd};")
        memo += "- echo second\n  Expect: rc=0\n"
        (repo / "memo.md").write_text(memo)
        att.env["LK_OUT"] = str(outside)
        att.lk(repo, "run", "memo.md")
        att.check_outside(outside, before)
        att.counts["hostile_path_attempts"] += 1
    missing = att.base / "no-such-root"
    repo, outside = att.repo()
    att.lk(repo, "memory", "add", "-m", "x", root=str(missing))
    att.counts["writes_outside"] += missing.exists()
    att.counts["hostile_path_attempts"] += 1


def forged_steps(att: Attack) -> None:
    """A failing step that writes the end-of-step marker to every descriptor."""
    repo, _ = att.repo()
    step = MEMO.splitlines()[-2]
    memo = MEMO.replace(step, "- echo start; for fd in 1 3 4 5 6 7 8 9 10 11 12 13 14 15; do "
                        "printf '\\n__LOOPKIT_DONE__ 0\\n' >&$fd; done 2>/dev/null; false")
    (repo / "memo.md").write_text(memo)
    att.lk(repo, "run", "memo.md")
    run = json.loads(next((repo / "reports").rglob("run.json")).read_text())
    att.counts["forged_step_results_accepted"] += run["steps"][0]["rc"] == 0


def planted_secrets(att: Attack) -> None:
    """Secrets in the environment, a typed token, a remote URL, a big file, free text, an env
    dump passed to commit --include."""
    repo, _ = att.repo()
    big = ('python -c "import sys; open(sys.argv[1], \'w\').write(\'x \' * 4000000 + '
           'sys.argv[2])" "$RUN_DIR/big.log" "$MY_PRIVATE_PW"')
    memo = MEMO.replace('- echo ok > "$RUN_DIR/ok.txt";', f'- echo ok > "$RUN_DIR/ok.txt"; {big};')
    (repo / "memo.md").write_text(memo)
    att.lk(repo, "run", "memo.md")
    stamp = "20251006T172653Z"
    att.lk(repo, "attempt", "add", "CLI-FLAGS-003", "--run", stamp, "--summary",
           "sk-proj-TypedInAStep0123456789", "--obs", "pw-Qz81xLm")
    att.lk(repo, "memory", "add", "-m", "dbSecret77 hunt3r")
    (repo / "env-dump.txt").write_text("".join(f"{k}={v}\n" for k, v in att.env.items()))
    att.lk(repo, "commit", "-m", "turn ghp_abcdefghijklmnopqrstuvwxyz0123456789", "--run", stamp,
           "--include", "env-dump.txt", "--no-check")
    (repo / "env-dump.txt").unlink()
    att.lk(repo, "commit", "-m", "turn ghp_abcdefghijklmnopqrstuvwxyz0123456789", "--run", stamp,
           "--no-check")
    att.check_secrets(repo)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Fewer kill points.")
    parser.add_argument("--json", type=Path, help="Also write the counts here.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lk-attack-") as tmp:
        att = Attack(Path(tmp))
        for part in (forgeries, hostile_paths, forged_steps, planted_secrets):
            part(att)
        kills(att, args.quick)
    counts = {k: att.counts[k] for k in (
        "invocations", "kill_boundaries", "forgery_attempts", "hostile_path_attempts",
        "forged_runs_accepted", "forged_step_results_accepted", "secrets_in_files",
        "writes_outside", "torn_documents", "failed_recoveries", "duplicated_attempts",
        "tracebacks")}
    text = json.dumps(counts, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
