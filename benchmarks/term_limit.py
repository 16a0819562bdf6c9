"""The limit of the per-term arithmetic on this CPU: terms per second of the core math alone.

One square-shape term with a nearest F is, after the Miller indices: three grating functions
sin(π rest)/sin(π frac) (six sines, three divisions), their product, and F² F_latt² (float32;
float64 evaluates C's sin(π N h)/sin(π h) on full indices, the same operation count). This
runs exactly those vectorised torch operations on blocks small enough to stay in the L2 cache
(no memory traffic beyond the cache, no index arithmetic, no lookups, no reductions), so the
result is what the vector units reach on this math with torch's vectorised sin: the kernel's
warm terms/s divided by this says how far the whole kernel is from its arithmetic.

    python benchmarks/term_limit.py [--threads 1 2] [--block 16384] [--seconds 1]

Prints one line per dtype and thread count; ``measure()`` is what run_benchmarks.py calls.
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


def measure(dtype: torch.dtype, threads: int, block: int = DEFAULT_BLOCK,
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
    opts = parser.parse_args()
    rows = []
    for dtype in (torch.float32, torch.float64):
        for threads in opts.threads:
            rate = measure(dtype, threads, opts.block, opts.seconds)
            rows.append({"dtype": str(dtype).replace("torch.", ""), "threads": threads,
                         "terms_per_s": round(rate)})
            print(f"{rows[-1]['dtype']} threads={threads}: {rate:.3g} terms/s", flush=True)
    print(json.dumps({"cpu_capability": torch.backends.cpu.get_cpu_capability(), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
