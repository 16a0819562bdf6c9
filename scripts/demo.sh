#!/usr/bin/env bash
# Fresh-machine demo: set up .venv, simulate the memo image with nanobragg, compare it with the
# bundled golden case (C output), then run the example memo (input.md) through loopkit in a
# throwaway copy of the repository. Nothing in this checkout is modified.
#
#   bash scripts/demo.sh                      # offline: the memo's golden steps
#   NB_C_BIN=/path/to/nanoBragg bash scripts/demo.sh   # also the live C-vs-nanobragg steps
#
# Outputs go to $DEMO_OUT (default: a new temporary folder), printed at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO=$PWD
bash scripts/bootstrap.sh
export PATH="$REPO/.venv/bin:$PATH"
OUT=${DEMO_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/nanobragg-demo.XXXXXX")}
mkdir -p "$OUT/simulate"
MEMO_ARGS=(-cell 100 100 100 90 90 90 -default_F 300 -N 10 -lambda 1.0 -distance 100
           -detpixels 512 -pixel 0.1 -oversample 1 -phisteps 1 -mosaic_dom 1)

echo "== 1/3 simulate the memo command with nanobragg"
(cd "$OUT/simulate" && nanobragg "${MEMO_ARGS[@]}" -floatfile memo_float.bin \
    -intfile memo.img -pgmfile memo.pgm -noprogress > nanobragg_stdout.log)
tail -n 3 "$OUT/simulate/nanobragg_stdout.log"

echo "== 2/3 compare with the bundled golden case (C output of the same command)"
nb-compare --golden tests/golden/memo_512 --outdir "$OUT/nb_compare_golden"

echo "== 3/3 run the example memo through loopkit in a throwaway copy"
COPY="$OUT/repo"
mkdir -p "$COPY"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then
        mkdir -p "$COPY/$(dirname "$f")" && cp -p "$f" "$COPY/$f"
    fi
done
git -C "$COPY" init -q -b main
git -C "$COPY" add -A
git -C "$COPY" -c user.name=demo -c user.email=demo@example.invalid commit -q -m "demo snapshot"
cd "$COPY"
if [ -n "${NB_C_BIN:-}" ]; then
    echo "NB_C_BIN=$NB_C_BIN: running every step of input.md"
    loopkit run input.md
else
    # Live steps carry '# requires: NB_C_BIN'; without a binary they cannot pass, so only the
    # offline (golden) steps are selected.
    steps=$(loopkit memo show input.md --json | python -c '
import json, sys
steps = json.load(sys.stdin)["steps"]
print(",".join(str(i) for i, s in enumerate(steps, 1)
               if s.get("cmd") and "# requires: NB_C_BIN" not in s["cmd"]))')
    echo "NB_C_BIN is not set: running the offline steps $steps of input.md" \
         "(the live steps need the C binary)"
    loopkit run input.md --steps "$steps"
fi
run=$(ls -d reports/cli-flags-003/phase_k/*/ | sort | tail -n 1)
echo
echo "demo done. simulated image: $OUT/simulate/memo_float.bin;" \
     "comparison: $OUT/nb_compare_golden/; loopkit run: $COPY/$run"
