#!/usr/bin/env bash
# The K3g3 supervisor turn, scripted: draft the K3g3 memo from the ledger and plan, lint it
# (selectors collected), and leave the recap in the memory.
set -euo pipefail
loopkit memo new --task K3g3 --write
loopkit memo lint
loopkit memory add --kind recap --focus CLI-FLAGS-003 --action-type Evidence --mode Parity \
  --state ready_for_implementation \
  -m "K3g3 memo drafted by loopkit memo new and linted clean (loop turn $LOOPKIT_TURN)."
echo "K3g3 memo drafted and linted" > "$LOOPKIT_MESSAGE_FILE"
