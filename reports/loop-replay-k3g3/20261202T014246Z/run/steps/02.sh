env KMP_DUPLICATE_LIB_OK=TRUE NB_RUN_PARALLEL=1 pytest tests/test_cli_scaling.py::test_f_latt_square_matches_c -v -s | tee $OUT/f_latt_fix/pytest_post_fix.log  # requires: NB_C_BIN
