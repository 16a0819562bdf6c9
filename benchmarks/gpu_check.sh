#!/usr/bin/env bash
# GPU readiness in under 5 minutes: the CUDA tests, then the benchmark on the GPU, with the C
# program (CPU, OMP_NUM_THREADS=--threads) side by side when NB_C_BIN is set.
#
#   NB_C_BIN=/path/to/nanoBragg bash benchmarks/gpu_check.sh
#
# Needs a CUDA build of torch in .venv (the pinned wheel here is the CPU one: install
# torch==2.13.0 for your CUDA first). Writes benchmarks/gpu/tests.log and
# benchmarks/gpu/results.json, and the "gpu" block of docs/performance.md (the docs pick the
# figures up from there). Exits 1 with one line when no CUDA device is visible.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY="${PYTHON:-.venv/bin/python}"
OUT=benchmarks/gpu
mkdir -p "$OUT"
"$PY" - <<'PY' || exit 1
import sys, torch
if not torch.cuda.is_available():
    sys.exit(f"gpu_check: no CUDA device (torch {torch.__version__}); nothing to check")
print(f"gpu_check: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
PY
start=$SECONDS
# the CUDA tests: every test marked cuda, plus the device tests of the other modules
timeout 120 "$PY" -m pytest -q -m "cuda or not heavy" -k "cuda" tests/nanobragg \
    2>&1 | tee "$OUT/tests.log"
status=${PIPESTATUS[0]}
# the benchmark: memo_512, heavy and the Pilatus frame, float32 and float64, best of 2
timeout $((290 - (SECONDS - start))) "$PY" benchmarks/run_benchmarks.py --device cuda \
    --cases memo_512 heavy pilatus --repeats 2 --no-memory --block gpu \
    --json "$OUT/results.json" --markdown docs/performance.md
echo "gpu_check: tests exit $status, $((SECONDS - start)) s in all; results in $OUT and docs/performance.md"
exit "$status"
