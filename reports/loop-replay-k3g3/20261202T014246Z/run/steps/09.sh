python - <<'PY'
import json, os, subprocess
from pathlib import Path
run = Path(os.environ["RUN_DIR"])
sweep = json.loads((run / "f_latt_fix/dtype_sweep/summary.json").read_text())
golden = json.loads((run / "f_latt_fix/nb_compare_golden/metrics.json").read_text())
live_path = run / "f_latt_fix/nb_compare_post_fix/metrics.json"
live = json.loads(live_path.read_text()) if live_path.is_file() else None
trace = json.loads((run / "base_lattice/trace_diff/trace_diff.json").read_text())
head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
rows = ["# Scaling chain refresh (K3g3)", "", f"Run {os.environ['STAMP']}, commit {head}, pixel (4, 46).", "",
        "| quantity | value |", "|---|---|"]
for d in sweep["dtypes"]:
    rows.append(f"| final py/C ratio, {d} | {sweep['final_ratio_' + d]:.10g} |")
    rows.append(f"| F_latt py/C ratio, {d} | {sweep['f_latt_ratio_' + d]:.10g} |")
    rows.append(f"| image sum ratio, {d} | {sweep['sum_ratio_' + d]:.10g} |")
rows.append(f"| golden nb-compare correlation | {golden['correlation']:.10g} |")
if live and live.get("correlation") is not None:
    rows.append(f"| live nb-compare correlation | {live['correlation']:.10g} |")
else:
    rows.append("| live nb-compare | no result (it needs NB_C_BIN) |")
rows.append(f"| trace quantities compared / diverged | {trace['n_compared']} / {trace['n_diverged']} |")
(run / "f_latt_fix/scaling_chain.md").write_text("\n".join(rows) + "\n")
print("\n".join(rows))
PY
