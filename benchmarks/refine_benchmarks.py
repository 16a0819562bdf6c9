"""Benchmarks of nanobragg-refine (not part of the test suite).

    python benchmarks/refine_benchmarks.py recovery [--seeds 20]  # z-scores over noise seeds
    python benchmarks/refine_benchmarks.py memory                 # one gradient, full Pilatus
    python benchmarks/refine_benchmarks.py memo                   # seconds per L-BFGS iteration
    python benchmarks/refine_benchmarks.py fref [--sets 10]       # F from 5 images, uniform start
    python benchmarks/refine_benchmarks.py all --out refine_bench.json

``recovery`` repeats the recovery test (tests/refine/cases.py: the issue's perturbed start)
for each noise seed and reports each parameter's z = (refined - truth) / stderr; their
standard deviation near 1 shows the standard errors are honest. ``memory`` renders the
2463x2527 Pilatus command of tests/golden/pilatus_roi without its ROI, then, in a fresh
process, evaluates the loss and its gradient with respect to nine parameters over every pixel
and reports that process's peak RSS. ``memo`` refines the memo command (512x512) from a
perturbed detector and reports the time per L-BFGS iteration. ``fref`` refines every F of a
table from five noisy images of different orientations, starting from a uniform F, and reports
the errors of the reflections with at least 100 photons against their counting-noise limit
(over ``--sets`` sets of noise seeds; the first is the test's).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
sys.path.insert(0, str(ROOT))


def recovery(seeds: int) -> dict:
    import numpy as np

    import nanobragg
    from tests.refine.cases import NAMES, START, TRUTH, model_args, simulate_observed

    per_seed, started = [], time.perf_counter()
    for seed in range(1, seeds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            observed = simulate_observed(Path(tmp), seed=seed)
            t0 = time.perf_counter()
            result = nanobragg.refine([observed], model_args(START), NAMES,
                                      start={k: START[k] for k in ("Na", "Nb", "Nc", "scale")})
        z = {n: (result.parameters[n]["value"] - TRUTH[n]) / result.parameters[n]["stderr"]
             for n in NAMES}
        per_seed.append({"seed": seed, "converged": result.converged,
                         "iterations": result.iterations,
                         "seconds": round(time.perf_counter() - t0, 2), "z": z})
        print(f"seed {seed}: converged={result.converged} iterations={result.iterations} "
              f"max|z|={max(abs(v) for v in z.values()):.2f}", file=sys.stderr)
    zs = np.array([[s["z"][n] for n in NAMES] for s in per_seed])
    return {"seeds": seeds, "seconds": round(time.perf_counter() - started, 1),
            "converged": sum(s["converged"] for s in per_seed),
            "z_sd": dict(zip(NAMES, np.round(zs.std(axis=0, ddof=1), 3).tolist(), strict=True)),
            "z_mean": dict(zip(NAMES, np.round(zs.mean(axis=0), 3).tolist(), strict=True)),
            "z_sd_all": round(float(zs.std(ddof=1)), 3),
            "max_abs_z": round(float(np.abs(zs).max()), 3), "per_seed": per_seed}


def _counting_noise(truth, photons, fit, expected, observed) -> dict:
    """One seed set of the F experiment measured against its counting-noise limit.

    ``limit`` is the likelihood's exact optimum, F_true·√(observed/expected) per reflection
    (tests/refine/cases.reflection_counts); counting noise alone makes a reflection of N
    expected photons miss 5 % with probability erfc(0.05·2√N/√2)."""
    import math

    import numpy as np

    strong = photons >= 100
    f, true, sigma = fit.f_values[strong], truth[strong], fit.f_stderr[strong]
    relative = np.abs(f - true) / true
    limit = true * np.sqrt(observed[strong] / expected[strong])
    z = (f - true) / sigma
    miss = np.array([math.erfc(0.05 * 2 * math.sqrt(n) / math.sqrt(2)) for n in photons[strong]])
    beyond = np.flatnonzero(relative > 0.05)
    return {
        "strong": int(strong.sum()), "converged": fit.converged, "iterations": fit.iterations,
        "median_relative_error": round(float(np.median(relative)), 4),
        "max_relative_error": round(float(relative.max()), 4),
        "beyond_5_percent": int(beyond.size),
        "beyond_5_percent_expected_from_counting_noise": round(float(miss.sum()), 2),
        "its_sd": round(float(np.sqrt((miss * (1 - miss)).sum())), 2),
        "probability_none_beyond_5_percent": round(float(np.prod(1 - miss)), 4),
        "max_abs_fit_minus_limit_over_stderr": float(f"{(np.abs(f - limit) / sigma).max():.2g}"),
        "stderr_over_poisson_median": round(float(np.median(
            sigma / (f / (2 * np.sqrt(observed[strong]))))), 5),
        "z_sd": round(float(z.std(ddof=1)), 3),
        "within_1_2_3_sigma": [round(float((np.abs(z) < k).mean()), 3) for k in (1, 2, 3)],
        "strong_beyond_5_percent": [
            {"hkl": [int(v) for v in fit.f_indices[strong][j]],
             "photons": round(float(photons[strong][j]), 1),
             "observed": int(round(float(observed[strong][j]))),
             "relative_error": round(float((f[j] - true[j]) / true[j]), 4),
             "stderr_relative": round(float(sigma[j] / f[j]), 4), "z": round(float(z[j]), 2)}
            for j in beyond]}


def structure_factors(sets: int) -> dict:
    import numpy as np

    from tests.refine.cases import F_FIRST_SEED, reflection_counts, structure_factor_experiment

    per_set, started = [], time.perf_counter()
    for k in range(sets):
        seed = F_FIRST_SEED + 5 * k  # k = 0: the test's images
        with tempfile.TemporaryDirectory() as tmp:
            truth, photons, fit = structure_factor_experiment(Path(tmp), first_seed=seed)
            expected, observed = reflection_counts(Path(tmp), truth)
        one = {"first_seed": seed, **_counting_noise(truth, photons, fit, expected, observed)}
        per_set.append(one)
        print(f"seeds {seed}..{seed + 4}: {one['beyond_5_percent']} of {one['strong']} beyond "
              f"5 % (counting noise: {one['beyond_5_percent_expected_from_counting_noise']}), "
              f"median {one['median_relative_error']}", file=sys.stderr)
    total = sum(s["beyond_5_percent"] for s in per_set)
    expect = sum(s["beyond_5_percent_expected_from_counting_noise"] for s in per_set)
    return {"reflections": int(truth.size), "sets": sets,
            "beyond_5_percent_total": total,
            "beyond_5_percent_expected_total": round(expect, 1),
            "its_sd": round(float(np.sqrt(sum(s["its_sd"] ** 2 for s in per_set))), 1),
            "sets_with_none_beyond": sum(s["beyond_5_percent"] == 0 for s in per_set),
            "median_relative_error_worst": max(s["median_relative_error"] for s in per_set),
            "z_sd_mean": round(float(np.mean([s["z_sd"] for s in per_set])), 3),
            "seconds": round(time.perf_counter() - started, 1), "per_set": per_set}


def _pilatus_args() -> list[str]:
    from nanobragg.golden import GoldenCase
    args = GoldenCase.load(GOLDEN / "pilatus_roi").args
    i = args.index("-roi")
    args = args[:i] + args[i + 5:]
    drop = {"-floatfile", "float.bin", "-intfile", "int.img"}
    return [a for a in args if a not in drop]


_GRADIENT = """
import json, resource, sys, time
import numpy as np
from pathlib import Path
from nanobragg.refine import api
from nanobragg.refine.loss import Likelihood
from nanobragg.refine.problem import Problem
import torch
args, names, observed = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
data = api._load_images([observed], api._commands(args, 1), Path.cwd(), 0.0, (2527, 2463), None)
problem = Problem(data, api._parameters(names, [], data, {}, {}, {}), None, Likelihood())
api._select_pixels(problem, api.Selection.parse("all"))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
loss, grad = problem.loss_and_grad(torch.zeros(problem.size, dtype=torch.float64))
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"pixels": problem.pixel_count(), "seconds": round(seconds, 1),
                  "peak_rss_mb": round(peak, 1), "rss_before_gradient_mb": round(before, 1),
                  "loss": loss, "finite_gradient": bool(torch.isfinite(grad).all()),
                  "chunk_pixels": problem.chunk[0]}))
"""


def memory() -> dict:
    names = ["distance", "beam_x", "beam_y", "misset_x", "misset_y", "misset_z", "rotx",
             "lambda", "scale"]
    args = _pilatus_args()
    with tempfile.TemporaryDirectory() as tmp:
        observed = Path(tmp) / "observed.bin"
        # -dump: the F cache goes to the scratch folder, not into tests/golden (where a stray
        # Fdump.bin would become the structure factors of every golden case without -hkl)
        render = [sys.executable, "-m", "nanobragg", *args, "-floatfile", str(observed),
                  "-intfile", str(Path(tmp) / "int.img"), "-dump", str(Path(tmp) / "Fdump.bin")]
        subprocess.run(render, cwd=GOLDEN, check=True, capture_output=True)
        run = subprocess.run([sys.executable, "-c", _GRADIENT, json.dumps(args),
                              json.dumps(names), str(observed)], cwd=GOLDEN, check=True,
                             capture_output=True, text=True)
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["parameters"] = names
    return result


def memo() -> dict:
    import nanobragg
    from nanobragg.cli.main import run as run_nanobragg

    base = ("-cell 100 100 100 90 90 90 -default_F 300 -N 10 -lambda 1.0 -detpixels 512 "
            "-pixel 0.1").split()
    truth = [*base, "-distance", "100", "-Xbeam", "25.6", "-Ybeam", "25.6"]
    start = [*base, "-distance", "100.3", "-Xbeam", "25.63", "-Ybeam", "25.58"]
    with tempfile.TemporaryDirectory() as tmp:
        # the render (forward only, with the noise image) in the same run: a yardstick that
        # the machine's load slows down as much as the fit
        t0 = time.perf_counter()
        run_nanobragg([*truth, "-seed", "1", "-noisefile", "obs.img", "-nopgm"], Path(tmp),
                      log=lambda line: None)
        render = time.perf_counter() - t0
        t0, cpu0 = time.perf_counter(), time.process_time()
        result = nanobragg.refine([Path(tmp) / "obs.img"], start,
                                  ["distance", "beam_x", "beam_y", "scale"],
                                  start={"scale": 1.2})
        total, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    history = result.history
    optimise = history[-1]["seconds"] if history else 0.0
    per_iteration = optimise / max(1, result.iterations)
    return {"iterations": result.iterations, "converged": result.converged,
            "evaluations": history[-1]["evaluations"] if history else 0,
            "seconds_per_iteration": round(per_iteration, 3),
            "render_seconds": round(render, 3),
            "iteration_over_render": round(per_iteration / render, 2),
            "seconds_total": round(total, 1), "cpu_seconds_total": round(cpu, 1),
            "parameters": {n: result.parameters[n] for n in result.parameters}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", choices=("recovery", "memory", "memo", "fref", "all"))
    parser.add_argument("--seeds", type=int, default=20, help="recovery: noise seeds")
    parser.add_argument("--sets", type=int, default=10,
                        help="fref: sets of five noise seeds (the first is the test's)")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    options = parser.parse_args()
    results = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "threads": os.environ.get("OMP_NUM_THREADS"),
                           "load_average_1_5_15_min": [round(v, 2) for v in os.getloadavg()]}}
    jobs = {"memo": memo, "memory": memory, "recovery": lambda: recovery(options.seeds),
            "fref": lambda: structure_factors(options.sets)}
    for name, job in jobs.items():
        if options.which in (name, "all"):
            t0 = time.perf_counter()
            results[name] = job()
            results[name]["wall_s"] = round(time.perf_counter() - t0, 1)
            # the machine may be shared: the load after each job says how much
            results[name]["load_average_after"] = [round(v, 2) for v in os.getloadavg()]
            shown = {k: v for k, v in results[name].items() if k not in ("per_seed", "per_set")}
            print(f"{name}: {json.dumps(shown)}")
    if options.out:
        options.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
