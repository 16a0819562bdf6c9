"""Memory follows the chunk size, not the number of terms: a render with 30x more mosaic
domains (30x more chunks of the same size) peaks at the same resident memory; on a GPU the chunk
size comes from the free device memory."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_RENDER = """
import os, resource, sys
from nanobragg.cli.args import parse_args
from nanobragg.simulator import Simulator

args = ("-cell 100 100 100 90 90 90 -default_F 300 -N 10 -lambda 1.0 -distance 100 -pixel 0.1 "
        "-detpixels 256 -oversample 1 -mosaic 0.5 -mosaic_dom {domains} -seed 1").split()
Simulator(parse_args(args, cwd=os.getcwd()).simulation).run()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # kB on Linux
"""


def _peak_rss_mb(domains: int, tmp_path, fused: str) -> float:
    env = {**os.environ, "NB_CHUNK_ELEMENTS": "65536", "NB_FUSED": fused}
    out = subprocess.run([sys.executable, "-c", _RENDER.format(domains=domains)], cwd=tmp_path,
                         env=env, capture_output=True, text=True, check=True, timeout=300)
    return float(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in kB on Linux")
@pytest.mark.parametrize("fused", ["1", "0"], ids=["fused_term_stage", "torch_term_stage"])
def test_peak_memory_does_not_grow_with_the_number_of_chunks(tmp_path, fused):
    """The torch term stage holds [K, N] terms per chunk, so 30x the domains is 30x the
    chunks; the fused stage keeps only per-evaluation sums, and its chunks count evaluations."""
    few, many = _peak_rss_mb(10, tmp_path, fused), _peak_rss_mb(300, tmp_path, fused)
    # 20 vs 600 chunks of 64 Ki terms; keeping anything per chunk showed as +60 MB here
    assert many - few < 15.0, (few, many)


@pytest.mark.parametrize(("free_bytes", "expected"), [
    (80 << 30, 1 << 26),                    # a large GPU: capped
    (1 << 30, (1 << 29) // 256),            # half the free memory at 256 B per term
    (100 << 20, 1 << 20),                   # nearly full: never below the CPU chunk
])
def test_gpu_chunk_is_sized_from_free_device_memory(monkeypatch, free_bytes, expected):
    import torch

    from nanobragg import workload

    monkeypatch.delenv("NB_CHUNK_ELEMENTS", raising=False)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (free_bytes, 80 << 30))
    assert workload.default_chunk_elements(torch.device("cuda")) == expected
    assert workload.default_chunk_elements(torch.device("cpu")) == 1 << 20
    monkeypatch.setenv("NB_CHUNK_ELEMENTS", "5000")
    assert workload.default_chunk_elements(torch.device("cuda")) == 5000
