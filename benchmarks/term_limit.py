"""The limit of the per-term arithmetic on this CPU: terms per second of the core math alone.

One square-shape term is: the Miller indices h, k, l (three 3-dot products in float64),
three grating functions (float32: sin(π rest)/sin(π frac) on the float64 split; float64: C's
sin(π N h)/sin(π h) on full indices: six sines, three divisions), their product and
F² F_latt². Two measurements, both on blocks that stay in the cache (no memory traffic beyond
it, no F lookup):

* ``fused`` (the default where ``nanobragg._cterms`` is built): the kernel's own compiled loop
  (nanobragg/_cterms.c, the indices included) on 2048 evaluations x 50 orientations, default_F
  only, one block per thread: what the vector units reach on the whole per-term math;
* ``torch``: the grating functions and squares alone as vectorised torch operations (torch's
  vectorised sin), the eager torch path's arithmetic without the indices.

The kernel's warm terms/s divided by this says how far the whole kernel (per-pixel stage,
lookups, chunking) is from its arithmetic.

    python benchmarks/term_limit.py [--threads 1 2] [--kind fused torch] [--seconds 1]

Prints one line per kind, dtype and thread count; ``measure()`` is what run_benchmarks.py
calls.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import torch

#: elements per block: 3 x 2 inputs + temporaries of 16 K floats stay within a 1-2 MB L2
DEFAULT_BLOCK = 1 << 14


def _inputs(block: int, dtype: torch.dtype) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    values = [(torch.rand(block, generator=generator, dtype=torch.float64) - 0.5).to(dtype)
              for _ in range(6)]
    return values


def _terms(rests_fracs: list[torch.Tensor], f_cell: float) -> torch.Tensor:
    f_latt = None
    for axis in range(3):
        rest, frac = rests_fracs[2 * axis], rests_fracs[2 * axis + 1]
        term = torch.sin(rest * math.pi) / torch.sin(frac * math.pi)
        f_latt = term if f_latt is None else f_latt * term
    return f_cell * f_cell * f_latt * f_latt


def fused_built() -> bool:
    from nanobragg.fused_terms import fused_available

    return fused_available()


def measure(dtype: torch.dtype, threads: int, block: int = DEFAULT_BLOCK,
            seconds: float = 1.0, kind: str | None = None) -> float:
    """Terms per second of ``kind`` (default: ``fused`` where built, else ``torch``)."""
    kind = kind or ("fused" if fused_built() else "torch")
    if kind == "fused":
        return measure_fused(dtype, threads, seconds)
    return measure_torch(dtype, threads, block, seconds)


def measure_fused(dtype: torch.dtype, threads: int, seconds: float = 1.0,
                  evaluations: int = 2048, orientations: int = 50) -> float:
    """Terms per second of the compiled loop on one cache-resident block per thread (the loop
    splits the evaluations over its threads). Best of 3 intervals."""
    from nanobragg.fused_terms import FusedTerms

    generator = torch.Generator().manual_seed(1)
    rows = torch.randn(orientations, 9, dtype=torch.float64, generator=generator) * 60
    s = torch.randn(evaluations * threads, 3, dtype=torch.float64, generator=generator) * 0.5
    evaluated = torch.ones(len(s), dtype=torch.bool)
    terms = FusedTerms(rows=rows, rows_first=rows, cells=(10.0, 10.0, 10.0), active=(1, 1, 1),
                       grid=None, lo=(0, 0, 0), sizes=(0, 0, 0), default_F=300.0,
                       precision=64 if dtype == torch.float64 else 32, masked=False)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        terms(s, None, evaluated)
        best = 0.0
        for _ in range(3):
            start, count = time.perf_counter(), 0
            while time.perf_counter() < start + seconds / 3:
                terms(s, None, evaluated)
                count += 1
            best = max(best, count * len(s) * orientations / (time.perf_counter() - start))
        return best
    finally:
        torch.set_num_threads(before)


def measure_torch(dtype: torch.dtype, threads: int, block: int = DEFAULT_BLOCK,
                  seconds: float = 1.0) -> float:
    """Terms per second of :func:`_terms` over cache-resident blocks, one block per thread
    (Python threads; torch ops release the GIL, and intra-op threading is off so that every
    thread keeps its own block in its core's cache). Best of 3 intervals."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        blocks = [_inputs(block, dtype) for _ in range(threads)]

        def spin(data: list[torch.Tensor], stop: float) -> int:
            count = 0
            while time.perf_counter() < stop:
                _terms(data, 300.0)
                count += 1
            return count

        best = 0.0
        with ThreadPoolExecutor(threads) as pool:
            for data in blocks:
                _terms(data, 300.0)
            for _ in range(3):
                start = time.perf_counter()
                stop = start + seconds / 3
                counts = list(pool.map(spin, blocks, [stop] * threads))
                best = max(best, sum(counts) * block / (time.perf_counter() - start))
        return best
    finally:
        torch.set_num_threads(before)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--block", type=int, default=DEFAULT_BLOCK)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--kind", nargs="+", choices=["fused", "torch"],
                        default=["fused", "torch"] if fused_built() else ["torch"])
    opts = parser.parse_args()
    rows = []
    for kind in opts.kind:
        for dtype in (torch.float32, torch.float64):
            for threads in opts.threads:
                rate = measure(dtype, threads, opts.block, opts.seconds, kind)
                rows.append({"kind": kind, "dtype": str(dtype).replace("torch.", ""),
                             "threads": threads, "terms_per_s": round(rate)})
                print(f"{kind} {rows[-1]['dtype']} threads={threads}: {rate:.3g} terms/s",
                      flush=True)
    print(json.dumps({"cpu_capability": torch.backends.cpu.get_cpu_capability(), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
