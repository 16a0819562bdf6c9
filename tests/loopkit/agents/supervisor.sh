#!/usr/bin/env bash
# Scripted supervisor: draft the next memo from the ledger and plan, lint it, add a recap.
set -euo pipefail
loopkit memo new --write ${LK_MEMO_ARGS:-}
loopkit memo lint --no-collect
loopkit memory add --kind recap --focus "${LK_FOCUS:-CLI-FLAGS-003}" --action-type Evidence \
  --mode Parity --state ready_for_implementation -m "scripted supervisor, turn $LOOPKIT_TURN"
echo "supervisor turn $LOOPKIT_TURN: memo drafted" > "$LOOPKIT_MESSAGE_FILE"
