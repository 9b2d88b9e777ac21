"""A one-line progress bar on stderr, shown only on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws at most ten times a second so it costs nothing on the send path."""

    def __init__(self, total: int | None, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self.total = total
        self.enabled = enabled
        self.stream = stream
        self.started = time.monotonic()
        self.next_draw = 0.0

    def update(self, done: int) -> None:
        """Redraws if enough time has passed since the last draw."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now < self.next_draw:
            return
        self.next_draw = now + 0.1
        self._draw(done, now)

    def _draw(self, done: int, now: float) -> None:
        rate = done / max(now - self.started, 1e-9)
        if self.total:
            filled = int(30 * done / self.total)
            bar = "#" * filled + "-" * (30 - filled)
            text = f"\r[{bar}] {done}/{self.total} {rate:,.0f} tx/s"
        else:
            text = f"\r{done} sent {rate:,.0f} tx/s"
        self.stream.write(text)
        self.stream.flush()

    def close(self, done: int) -> None:
        """Draws the final state and ends the line."""
        if self.enabled:
            self._draw(done, time.monotonic())
            self.stream.write("\n")
            self.stream.flush()
