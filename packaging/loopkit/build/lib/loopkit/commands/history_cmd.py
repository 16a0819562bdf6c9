"""``loopkit history ITEM [--metric NAME] [--plot PNG]``."""

from __future__ import annotations

import os
from pathlib import Path

import click
from rich.table import Table

from loopkit.app import App, pass_app
from loopkit.errors import LoopkitError
from loopkit.fsio import inside
from loopkit.ops.history import metric_history, metric_names, plot_history


@click.command("history")
@click.argument("item_id")
@click.option("--metric", help="Only this metric (as the Expect names it, e.g. correlation).")
@click.option("--plot", "plot_path", help="Also write a PNG plot of the values (matplotlib).")
@pass_app
def history_cmd(app: App, item_id: str, metric: str | None, plot_path: str | None) -> None:
    """The values an item's Expect checks observed, one row per Attempt that cites a run.

    \b
    loopkit history CLI-FLAGS-003
    loopkit history CLI-FLAGS-003 --metric correlation --plot reports/loopkit/corr.png
    """
    rows = metric_history(app.cfg, item_id, metric)
    if not rows:
        raise LoopkitError(f"{item_id}: no Attempt cites a loopkit run")
    names = metric_names(rows)
    if metric is not None and not names:
        raise LoopkitError(f"{item_id}: no run observed a metric named {metric!r}")
    table = Table(title=f"{item_id}: observed values")
    for head in ("Attempt", "Date", "Run", "Verdict", *names):
        table.add_column(head, overflow="fold")
    for row in rows:
        cells = [", ".join(f"{v:.6g}" for v in row.values.get(n, [])) or "-" for n in names]
        table.add_row(f"#{row.attempt}", row.date, row.run_id, row.verdict, *cells)
    app.console.print(table)
    if plot_path:
        out = inside(app.root, Path(plot_path) if Path(plot_path).is_absolute()
                     else app.root / plot_path, "--plot")
        plot_history(rows, item_id, out)
        app.console.print(f"plot: {os.path.relpath(out, app.root)}", highlight=False)
