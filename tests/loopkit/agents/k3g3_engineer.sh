#!/usr/bin/env bash
# The K3g3 engineer turn, scripted: run the memo with loopkit and record its Attempt.
set -uo pipefail
out=$(loopkit run)
rc=$?
printf '%s\n' "$out"
stamp=$(printf '%s\n' "$out" | sed -n 's/^loopkit run \([0-9TZ]*\) .*/\1/p' | head -n 1)
[ -n "$stamp" ] || { echo "no run stamp in loopkit run output (rc $rc)" >&2; exit 1; }
set -e
loopkit attempt add CLI-FLAGS-003 --run "$stamp" --task K3g3 --actor ralph \
  --summary "K3g3 memo re-run by the scripted engineer of loop turn $LOOPKIT_TURN (loopkit run exit $rc)."
echo "K3g3 run $stamp recorded (loopkit run exit $rc)" > "$LOOPKIT_MESSAGE_FILE"
