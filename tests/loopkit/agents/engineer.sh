#!/usr/bin/env bash
# Scripted engineer: one recorded run (a tiny command), then its Attempt for the Focus item.
set -euo pipefail
out=$(loopkit exec --focus "${LK_FOCUS:-CLI-FLAGS-003}" -- ${LK_ENGINEER_CMD:-true})
stamp=$(printf '%s\n' "$out" | sed -n 's/^loopkit run \([0-9TZ]*\) .*/\1/p' | head -n 1)
test -n "$stamp"
loopkit attempt add "${LK_FOCUS:-CLI-FLAGS-003}" --run "$stamp" --actor ralph \
  --summary "scripted engineer, turn $LOOPKIT_TURN"
echo "engineer turn $LOOPKIT_TURN: run $stamp recorded" > "$LOOPKIT_MESSAGE_FILE"
