"""loopkit runs the loop: roles, turns, the journal, recovery and sync."""
