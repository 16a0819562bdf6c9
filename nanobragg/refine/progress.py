"""One progress line per iteration on stderr (iteration, loss, its change, step), with rich."""

from __future__ import annotations

from rich.console import Console


class ProgressLines:
    def __init__(self, max_iter: int) -> None:
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.max_iter = max_iter

    def __call__(self, record: dict) -> None:
        self.console.print(
            f"[bold]iter {record['iteration']:>4}/{self.max_iter}[/bold]  "
            f"loss {record['loss']:.8g}  change {record['delta_loss']:+.3g}  "
            f"step {record['step']:.3g}  max|grad| {record['grad_max']:.3g}  "
            f"evals {record['evaluations']}  {record['seconds']:.1f} s")

    def close(self) -> None:
        pass
