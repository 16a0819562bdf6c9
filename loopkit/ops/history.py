"""``history``: the values an item's Expect checks observed, Attempt by Attempt.

Every Attempt of the item (ledger and archive) that cites a loopkit run contributes the
numbers its run recorded (``observed`` of the json and range checks in ``run.json``).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from loopkit.config import Config
from loopkit.errors import LoopkitError
from loopkit.ops.docs import load_archive, load_ledger
from loopkit.run.record import find_run, load_run


@dataclass
class HistoryRow:
    attempt: int
    date: str
    run_id: str
    verdict: str
    values: dict[str, list[float]] = field(default_factory=dict)


def _norm(name: str) -> str:
    return name.strip().lower().replace(" ", "_")


def metric_history(cfg: Config, item_id: str, metric: str | None = None) -> list[HistoryRow]:
    ledger = load_ledger(cfg)
    item = ledger.item(item_id)
    if item is None:
        raise LoopkitError(f"item {item_id!r} not in {cfg.paths.ledger}")
    archive = load_archive(cfg)
    archived = archive.item(item_id) if archive else None
    attempts = (archived.attempts if archived else []) + item.attempts
    rows: list[HistoryRow] = []
    for att in attempts:
        for run_id in att.run_ids:
            try:
                run = load_run(find_run(cfg.root, cfg.paths.reports, run_id))
            except LoopkitError:
                rows.append(HistoryRow(att.n, att.date, run_id, "run not found"))
                continue
            row = HistoryRow(att.n, att.date, run_id, run.verdict)
            for step in run.steps:
                for out in step.expect:
                    name = out.metric
                    if not name or not out.observed:
                        continue
                    if metric is not None and _norm(name) != _norm(metric):
                        continue
                    row.values.setdefault(name, []).extend(float(v) for v in out.observed)
            rows.append(row)
    return sorted(rows, key=lambda r: (r.attempt, r.run_id))


def metric_names(rows: list[HistoryRow]) -> list[str]:
    return list(dict.fromkeys(name for row in rows for name in row.values))


def plot_history(rows: list[HistoryRow], item_id: str, out: Path) -> None:
    """A PNG with one line per metric over the Attempt numbers (matplotlib, imported here)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise LoopkitError("--plot needs matplotlib: pip install 'loopkit[plot]' "
                           "(or matplotlib)") from None
    names = metric_names(rows)
    if not names:
        raise LoopkitError(f"{item_id}: no observed values to plot")
    fig, axes = plt.subplots(len(names), 1, figsize=(7, 2.4 * len(names)), squeeze=False)
    for ax, name in zip(axes[:, 0], names, strict=True):
        points = [(r.attempt, v) for r in rows for v in r.values.get(name, [])]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
    axes[-1, 0].set_xlabel("Attempt #")
    fig.suptitle(f"{item_id}: observed values by Attempt")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".png", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=100, format="png")
        os.replace(tmp, out)  # same folder: the old plot or the new one, never half of one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        plt.close(fig)
