"""Record the C program's outputs for its own usage examples (tests/golden/c_examples).

Usage: NB_C_BIN=/path/to/nanoBragg python scripts/make_c_examples.py

For every example of ``tests/golden/c_examples/examples.yaml`` the binary runs once, verbatim,
in a fresh directory holding the example's input names (links to ``tests/golden/data``), with
``OMP_NUM_THREADS=1``. Kept: its stdout (``<id>/stdout.log``) and, in ``<id>/case.yaml``, the
float image's shape, sha256 and statistics (the 4 MB images themselves are not vendored). The
script only runs the given binary; it builds nothing.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES_DIR = ROOT / "tests" / "golden" / "c_examples"
DATA_DIR = ROOT / "tests" / "golden" / "data"
C_REFERENCE = "bl831/nanoBragg@455534af, OMP_NUM_THREADS=1"


def prepare(run_dir: Path, inputs: dict[str, str]) -> None:
    for name, data_name in inputs.items():
        (run_dir / name).symlink_to(DATA_DIR / data_name)


def record(c_bin: str, example: dict, inputs: dict[str, str]) -> None:
    args = shlex.split(example["args"])
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        prepare(run_dir, inputs)
        done = subprocess.run([c_bin, *args], cwd=run_dir, capture_output=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, check=True)
        image = np.fromfile(run_dir / "floatimage.bin", dtype="<f4")
        header = (run_dir / "intimage.img").read_bytes()[:512].decode("latin-1")
    size = dict(part.split("=") for part in header.replace("\n", "").split(";")
                if part.startswith(("SIZE1", "SIZE2")))
    shape = [int(size["SIZE2"]), int(size["SIZE1"])]
    out = EXAMPLES_DIR / example["id"]
    out.mkdir(exist_ok=True)
    (out / "stdout.log").write_bytes(done.stdout)
    meta = {
        "id": example["id"],
        "suite": "c_examples",
        "description": f"the C program's own usage example: {example['source']}",
        "args": args,
        "inputs": {name: f"data/{data}" for name, data in inputs.items() if name in args},
        "shape": shape,
        "outputs": {"stdout": "stdout.log"},
        "float_image": {
            "file": "floatimage.bin (not vendored)",
            "sha256": hashlib.sha256(image.tobytes()).hexdigest(),
            "max": float(image.max()),
            "sum_float64": float(image.astype(np.float64).sum()),
        },
        "c_reference": C_REFERENCE,
        "omp_num_threads": 1,
        "stdout_nondeterministic_lines": ["  seed: (time of day: no -seed)",
                                          "N photons on noise image (noise from that seed)"],
        "notes": ["stdout holds C's progress meter ('N% done' lines, one glued to the "
                  "interpolation warning); nanobragg shows progress on stderr"],
        "sha256": {"stdout.log": hashlib.sha256(done.stdout).hexdigest()},
    }
    header_comment = "# C program usage example; see examples.yaml and ../README.md\n"
    text = yaml.safe_dump(meta, sort_keys=False, width=100, default_flow_style=None)
    (out / "case.yaml").write_text(header_comment + text)
    print(f"{example['id']}: {shape[0]}x{shape[1]}, max {meta['float_image']['max']:g}")


def main() -> int:
    c_bin = os.environ.get("NB_C_BIN")
    if not c_bin:
        print("make_c_examples: set NB_C_BIN to the C nanoBragg binary", file=sys.stderr)
        return 2
    spec = yaml.safe_load((EXAMPLES_DIR / "examples.yaml").read_text())
    for example in spec["examples"]:
        record(c_bin, example, spec["inputs"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
