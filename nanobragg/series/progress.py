"""A one-line progress display on stderr: frames done, frames per second, time left."""

from __future__ import annotations

import time
from typing import TextIO


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class SeriesProgress:
    """``nanobragg-series: [####....] 12/90 frames  3.4 frames/s  ETA 0:00:23``.

    The rate counts only frames rendered by this run (frames kept from an earlier run are
    part of the total but not of the rate).
    """

    def __init__(self, stream: TextIO | None, total: int, already: int, width: int = 30):
        self.stream, self.total, self.already, self.width = stream, total, already, width
        self.done = already
        self.start = time.monotonic()

    def advance(self) -> None:
        self.done += 1
        if self.stream is None:
            return
        new = self.done - self.already
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = new / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        filled = int(round(self.width * self.done / max(self.total, 1)))
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(f"\rnanobragg-series: [{bar}] {self.done}/{self.total} frames "
                          f"{rate:6.2f} frames/s  ETA {clock(left)}")
        self.stream.flush()

    def close(self, out_dir: str) -> str:
        """End the line; return the summary line."""
        if self.stream is not None and self.done > self.already:
            self.stream.write("\n")
        elapsed = time.monotonic() - self.start
        new = self.done - self.already
        rate = f", {new / elapsed:.2f} frames/s" if new and elapsed > 0 else ""
        kept = f" ({self.already} kept from an earlier run)" if self.already else ""
        return (f"nanobragg-series: {self.done}/{self.total} frames in {out_dir}{kept}: "
                f"{new} rendered in {elapsed:.1f} s{rate}")
