loopkit memo lint input.md --collect 2>&1 | tee $RUN_DIR/memo_lint.txt
