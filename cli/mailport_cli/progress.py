"""Progress on stderr: a bar on a terminal, a plain line now and then otherwise, or nothing."""

from __future__ import annotations

import time
from typing import TextIO

BAR_WIDTH = 30


class Progress:
    """How far a phase (uploading, importing) has got, out of a known total."""

    def __init__(self, stream: TextIO, *, quiet: bool = False, every: float = 2.0) -> None:
        self._stream = stream
        self._quiet = quiet
        self._tty = _is_tty(stream)
        self._every = every
        self._label = ""
        self._total = 0
        self._done = 0
        self._last = 0.0

    def start(self, label: str, total: int) -> None:
        """Begin a phase."""
        self._label, self._total, self._done = label, total, 0
        self._last = 0.0
        self._draw(force=True)

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more done."""
        self.set(self._done + n)

    def set(self, done: int) -> None:
        """Say how many are done."""
        if done != self._done:
            self._done = min(done, self._total)
            self._draw(force=self._done == self._total)

    def finish(self) -> None:
        """End the phase (ends the bar's line on a terminal)."""
        if not self._quiet and self._tty:
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, *, force: bool) -> None:
        if self._quiet:
            return
        now = time.monotonic()
        if not self._tty and not force and now - self._last < self._every:
            return
        self._last = now
        counts = f"{self._done}/{self._total}"
        if self._tty:
            filled = BAR_WIDTH * self._done // self._total if self._total else BAR_WIDTH
            bar = "#" * filled + "-" * (BAR_WIDTH - filled)
            self._stream.write(f"\r{self._label:<10} [{bar}] {counts}")
        else:
            self._stream.write(f"{self._label}: {counts}\n")
        self._stream.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
