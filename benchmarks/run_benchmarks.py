"""Benchmarks: nanobragg against the C program on the same machine, in the same run.

Cases (see docs/performance.md):
  memo_512  the memo command, 512², 1 term per pixel
  heavy     1024², oversample 2, 10 mosaic domains, 5 phi steps (-phi 0.1): 200 terms per pixel
  pilatus   the real 2463x2527 Pilatus command from tests/golden/pilatus_roi without its ROI
  pilatus_few  the same frame with one phi step: few terms per pixel (start-up and per-pixel
            stage weigh most)

Also measured in the same run: the import floor (``python -c "import torch, os; os._exit(0)"``,
best of --repeats) and the per-term arithmetic limit (benchmarks/term_limit.py), and the issue's
targets are checked against them and against C.

For each case and dtype: whole-process wall time and peak RSS (``python -m nanobragg``, import
included), warm in-process time of ``Simulator.run`` (best of --repeats), terms per second. With
``NB_C_BIN`` set, the C program runs the same arguments in the same way (``OMP_NUM_THREADS`` =
--threads), and the ratios are reported.

    python benchmarks/run_benchmarks.py [--cases memo_512 heavy pilatus] [--threads 2]
        [--repeats 3] [--json benchmarks/results.json] [--markdown docs/performance.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# as the nanobragg command does (nanobragg/cli/launch.py): spinning OpenMP workers would distort
# the warm timings of this process as soon as anything else shares the cores
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
COMMON = "-cell 100 100 100 90 90 90 -default_F 300 -N 10 -lambda 1.0 -distance 100 -pixel 0.1"


def case_args(name: str) -> tuple[list[str], int]:
    """Command-line arguments and the number of terms (pixels x sub-pixels x ... ) of a case."""
    if name == "memo_512":
        args = f"{COMMON} -detpixels 512 -oversample 1 -phisteps 1 -mosaic_dom 1 -seed 1"
        return args.split(), 512 * 512
    if name == "heavy":
        args = (f"{COMMON} -detpixels 1024 -oversample 2 -mosaic 0.5 -mosaic_dom 10 -phisteps 5"
                " -osc 0.5 -phi 0.1 -seed 1")
        return args.split(), 1024 * 1024 * 4 * 10 * 5
    if name == "pilatus":
        from nanobragg.golden import GoldenCase
        args = GoldenCase.load(GOLDEN / "pilatus_roi").args
        i = args.index("-roi")
        args = args[:i] + args[i + 5 :]
        return [a for a in args if a not in ("-floatfile", "float.bin", "-intfile", "int.img")], \
            2463 * 2527 * 10
    if name == "pilatus_few":
        args, _ = case_args("pilatus")
        i = args.index("-phisteps")
        return args[:i + 1] + ["1"] + args[i + 2:], 2463 * 2527
    raise SystemExit(f"unknown case {name}")


def run_process(cmd: list[str], cwd: Path, env: dict) -> tuple[float, float]:
    """Wall time (s) and peak RSS (MB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed: {err.strip()[-500:]}")
    return wall, usage.ru_maxrss / 1024.0


def scratch_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="nb_bench_"))
    (d / "data").symlink_to(GOLDEN / "data", target_is_directory=True)
    return d


#: torch device of the nanobragg side (--device); the C side is the CPU program
DEVICE = "cpu"


def whole_process(args: list[str], dtype: str, threads: int, chunk: int | None = None) -> dict:
    d = scratch_dir()
    if DEVICE != "cpu":
        args = [*args, "-device", DEVICE]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "NB_PYTORCH_DTYPE": dtype}
    if chunk is not None:
        env["NB_CHUNK_ELEMENTS"] = str(chunk)
    try:
        wall, rss = run_process([sys.executable, "-m", "nanobragg", *args, "-noprogress"], d, env)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return {"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1)}


def warm(args: list[str], dtype: str, threads: int, repeats: int) -> float:
    """Best in-process time of Simulator.run after one warm-up run, with the allocator set up
    as the ``nanobragg`` command sets it (nanobragg.allocator)."""
    import torch

    from nanobragg.allocator import retain_freed_memory
    from nanobragg.cli.args import parse_args
    from nanobragg.simulator import Simulator

    torch.set_num_threads(threads)
    retain_freed_memory()
    d = scratch_dir()
    try:
        config = parse_args(args, cwd=d).simulation
        config.dtype = getattr(torch, dtype)
        config.device = DEVICE
        sync = torch.cuda.synchronize if DEVICE.startswith("cuda") else (lambda: None)
        Simulator(config, cwd=d).run()
        best = float("inf")
        for _ in range(repeats):
            sim = Simulator(config, cwd=d)
            sync()
            start = time.perf_counter()
            sim.run()
            sync()
            best = min(best, time.perf_counter() - start)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    return best


def c_side(args: list[str], threads: int, repeats: int) -> dict | None:
    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        return None
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    runs = []
    for _ in range(repeats):
        d = scratch_dir()
        try:
            runs.append(run_process([c_bin, *args, "-noprogress"], d, env))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    wall = min(r[0] for r in runs)
    return {"wall_s": round(wall, 3), "peak_rss_mb": round(max(r[1] for r in runs), 1)}


def bench_processes(name: str, threads: int, repeats: int, dtypes: list[str]) -> dict:
    """Whole-process runs. They are forked before this script imports torch: a child's peak
    RSS includes the parent's pages until exec, so the parent must still be small."""
    args, terms = case_args(name)
    result: dict = {"case": name, "terms": terms, "threads": threads, "args": args}
    result["c"] = c_side(args, threads, repeats)
    for dtype in dtypes:
        print(f"[{name}] {dtype} whole process ...", file=sys.stderr, flush=True)
        result[dtype] = min((whole_process(args, dtype, threads) for _ in range(repeats)),
                            key=lambda r: r["wall_s"])
    return result


MEMORY_DETECTOR = ["-detpixels", "1024", "-nonoise", "-nopgm"]


def memory_sweep(threads: int) -> list[dict]:
    """Peak RSS against chunk size and against the number of terms (float32, 1024²)."""
    heavy, _ = case_args("heavy")
    light = (f"{COMMON} -oversample 1 -seed 1").split()
    runs = [("heavy", heavy, 1024 * 1024 * 200, chunk) for chunk in (1 << 18, 1 << 20, 1 << 22)]
    runs.append(("1 term/pixel", light, 1024 * 1024, 1 << 20))
    rows = []
    for label, args, terms, chunk in runs:
        print(f"[memory] {label} chunk={chunk} ...", file=sys.stderr, flush=True)
        args = [a for a in args if a not in ("-detpixels", "1024")] + MEMORY_DETECTOR
        rows.append({"case": label, "terms": terms, "chunk_elements": chunk,
                     **whole_process(args, "float32", threads, chunk)})
    return rows


def add_warm(result: dict, repeats: int, dtypes: list[str]) -> None:
    """In-process (warm) timings and the ratios to C."""
    for dtype in dtypes:
        print(f"[{result['case']}] {dtype} warm ...", file=sys.stderr, flush=True)
        warm_s = warm(result["args"], dtype, result["threads"], repeats)
        entry = result[dtype]
        entry["warm_s"] = round(warm_s, 3)
        entry["warm_terms_per_s"] = round(result["terms"] / warm_s)
        if result["c"]:
            c_wall = result["c"]["wall_s"]
            entry["whole_process_vs_c"] = round(entry["wall_s"] / c_wall, 3)
            entry["warm_throughput_vs_c"] = round(c_wall / warm_s, 2)


def import_floor(threads: int, repeats: int) -> float:
    """Best wall time of a process that only imports torch (no teardown)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    cmd = [sys.executable, "-c", "import torch, os; os._exit(0)"]
    return round(min(run_process(cmd, ROOT, env)[0] for _ in range(repeats)), 3)


def arithmetic_limit(threads: int) -> dict:
    """benchmarks/term_limit.py: terms/s of the per-term math alone, per dtype (the fused
    loop's where it is built)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import torch
    from term_limit import measure

    return {dtype: round(measure(getattr(torch, dtype), threads))
            for dtype in ("float32", "float64")}


def targets(results: list[dict], floor: float, limit: dict
            ) -> list[tuple[str, str, bool | None]]:
    """The issue's speed targets: (target, measured, met); met None = for information."""
    by_case = {r["case"]: r for r in results}
    rows = []

    def entry(case: str, dtype: str) -> dict:
        return by_case.get(case, {}).get(dtype) or {}

    for dtype, factor in (("float32", 8.0), ("float64", 4.0)):
        ratio = entry("heavy", dtype).get("warm_throughput_vs_c")
        if ratio is not None:
            rows.append((f"heavy {dtype} warm >= {factor:g}x C", f"{ratio}x", ratio >= factor))
    ratio = entry("pilatus", "float32").get("whole_process_vs_c")
    if ratio is not None:
        rows.append(("pilatus whole process <= 0.5 C", f"{ratio}x", ratio <= 0.5))
    memo = entry("memo_512", "float32").get("wall_s")
    if memo is not None:
        rows.append(("memo_512 whole process <= floor + 0.25 s",
                     f"{memo} s (floor {floor} s)", memo <= floor + 0.25))
    ratio = entry("pilatus_few", "float32").get("whole_process_vs_c")
    if ratio is not None:
        rows.append(("pilatus_few float32 whole process <= C", f"{ratio}x", ratio <= 1.0))
    rss = entry("pilatus", "float32").get("peak_rss_mb")
    if rss is not None:
        rows.append(("pilatus peak memory <= 750 MB", f"{rss} MB", rss <= 750))
    for dtype in ("float32", "float64"):
        rate = entry("heavy", dtype).get("warm_terms_per_s")
        if rate is not None and limit.get(dtype):
            rows.append((f"heavy {dtype} warm vs arithmetic limit",
                         f"{rate / limit[dtype]:.2f} of {limit[dtype]:.3g} terms/s", None))
    return rows


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


RESULTS_BEGIN = "<!-- benchmark results: generated by benchmarks/run_benchmarks.py -->"
RESULTS_END = "<!-- end of benchmark results -->"


def markers(block: str) -> tuple[str, str]:
    """The begin and end markers of a generated block (``benchmark``: the CPU results)."""
    if block == "benchmark":
        return RESULTS_BEGIN, RESULTS_END
    return (f"<!-- {block} results: generated by benchmarks/run_benchmarks.py -->",
            f"<!-- end of {block} results -->")


def update_markdown(path: Path, results_text: str, block: str = "benchmark") -> None:
    """Replace the generated block of ``path`` (between the markers); the prose around it stays."""
    RESULTS_BEGIN, RESULTS_END = markers(block)  # noqa: N806 - the module constants' names
    empty = f"# Performance\n\n{RESULTS_BEGIN}\n{RESULTS_END}\n"
    text = path.read_text() if path.exists() else empty
    if RESULTS_BEGIN not in text or RESULTS_END not in text:
        raise SystemExit(f"{path}: no '{RESULTS_BEGIN}' ... '{RESULTS_END}' block to update")
    head, rest = text.split(RESULTS_BEGIN, 1)
    tail = rest.split(RESULTS_END, 1)[1]
    path.write_text(f"{head}{RESULTS_BEGIN}\n{results_text}{RESULTS_END}{tail}")


def _met(met: bool | None) -> str:
    return "(information)" if met is None else "yes" if met else "**no**"


def markdown(results: list[dict], machine: dict, memory: list[dict],
             goals: list[tuple[str, str, bool | None]]) -> str:
    lines = [
        "Measured by `benchmarks/run_benchmarks.py` (numbers below are from its last run;",
        "rerun it to refresh). Whole-process = `python -m nanobragg ...` including Python and",
        "torch start-up and all output files; warm = `Simulator.run` in a running process;",
        "C = the same arguments with the C program (best of the repeats, same machine, same run).",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores; threads: {machine['threads']};"
        f" torch {machine['torch']}; device {machine['device']}"
        f"{' (' + machine['gpu'] + ')' if machine['gpu'] else ''}; compiled term stage:"
        f" {'yes' if machine['compiled_term_stage'] else 'no'}; date {machine['date']}.",
        f"Import floor (`python -c \"import torch, os; os._exit(0)\"`): {machine['floor_s']} s."
        f" Per-term arithmetic limit (benchmarks/term_limit.py, {machine['threads']} threads):"
        f" float32 {machine['limit'].get('float32', 0):.3g}, float64"
        f" {machine['limit'].get('float64', 0):.3g} terms/s.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
        *[f"| {name} | {value} | {_met(met)} |" for name, value, met in goals],
        "",
        "| case | terms | dtype | whole process (s) | peak RSS (MB) | warm (s) | warm terms/s |"
        " C whole process (s) | C RSS (MB) | warm speed vs C | whole process vs C |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c = r["c"] or {}
        for dtype in ("float32", "float64"):
            e = r.get(dtype)
            if not e:
                continue
            lines.append(
                f"| {r['case']} | {r['terms']:.3g} | {dtype} | {e['wall_s']} | {e['peak_rss_mb']}"
                f" | {e['warm_s']} | {e['warm_terms_per_s']:.3g} | {c.get('wall_s', '–')}"
                f" | {c.get('peak_rss_mb', '–')} | {e.get('warm_throughput_vs_c', '–')}×"
                f" | {e.get('whole_process_vs_c', '–')}× |"
            )
    lines += [
        "",
        "`warm speed vs C` = C whole-process time / nanobragg warm time (how many times more",
        "terms per second); `whole process vs C` = nanobragg time / C time (below 1 is faster).",
        "Peak RSS of a child includes the ~15 MB of the Python process that starts it.",
        "",
        "Memory against the chunk size and the number of terms: 1024² detector, float32,",
        "whole process (`NB_CHUNK_ELEMENTS` sets the chunk):",
        "",
        "| case | terms | chunk elements | wall (s) | peak RSS (MB) |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {m['case']} | {m['terms']:.3g} | {m['chunk_elements']} | {m['wall_s']}"
              f" | {m['peak_rss_mb']} |" for m in memory] or ["| (not measured: --no-memory) |"]
    lines.append("")
    return "\n".join(lines)


def _gpu_name(device: str) -> str | None:
    import torch

    return torch.cuda.get_device_name(device) if device.startswith("cuda") else None


def _compiled() -> bool:
    """The fused term stage (nanobragg/_cterms.c) is built and on."""
    from nanobragg.fused_terms import fused_available

    return fused_available()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+",
                        default=["memo_512", "heavy", "pilatus", "pilatus_few"])
    parser.add_argument("--no-memory", action="store_true", help="skip the memory sweep")
    parser.add_argument("--device", default="cpu", help="torch device of nanobragg (cuda)")
    parser.add_argument("--block", default="benchmark",
                        help="which generated block of --markdown to replace (gpu: GPU results)")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "docs" / "performance.md")
    opts = parser.parse_args()
    global DEVICE
    DEVICE = opts.device
    results = [bench_processes(name, opts.threads, opts.repeats, opts.dtypes)
               for name in opts.cases]
    memory = [] if opts.no_memory else memory_sweep(opts.threads)
    floor = import_floor(opts.threads, opts.repeats)
    for result in results:
        add_warm(result, opts.repeats, opts.dtypes)
    import torch

    limit = arithmetic_limit(opts.threads)
    goals = targets(results, floor, limit)

    machine = {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "threads": opts.threads,
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "c_binary": bool(os.environ.get("NB_C_BIN")),
        "floor_s": floor,
        "device": opts.device,
        "gpu": _gpu_name(opts.device),
        "limit": limit,
        "compiled_term_stage": _compiled(),
    }
    opts.json.write_text(json.dumps({"machine": machine, "results": results, "memory": memory,
                                     "targets": goals}, indent=2) + "\n")
    table = markdown(results, machine, memory, goals)
    update_markdown(opts.markdown, table, opts.block)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
