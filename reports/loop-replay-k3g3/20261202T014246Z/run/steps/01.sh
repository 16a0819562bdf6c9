OUT=$(realpath --relative-to=. "$RUN_DIR") && mkdir -p $OUT/f_latt_fix $OUT/base_lattice && echo "evidence folder: $OUT"
