KMP_DUPLICATE_LIB_OK=TRUE nb-compare --golden tests/golden/memo_512 --outdir $OUT/f_latt_fix/nb_compare_golden --threshold 0.999
