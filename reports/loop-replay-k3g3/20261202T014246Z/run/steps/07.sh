KMP_DUPLICATE_LIB_OK=TRUE python -m nanobragg.analysis trace --golden tests/golden/memo_512 --pixel 4 46 --dtype float64 --out $OUT/base_lattice/trace_py.log
