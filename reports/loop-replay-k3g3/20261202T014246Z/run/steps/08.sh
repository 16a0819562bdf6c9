nb-trace-diff tests/golden/memo_512/trace.log $OUT/base_lattice/trace_py.log --outdir $OUT/base_lattice/trace_diff > $OUT/base_lattice/trace_diff_post_fix.txt
