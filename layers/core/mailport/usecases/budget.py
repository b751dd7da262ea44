"""A byte budget shared by threads: how much mail the stores in flight may hold at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ByteBudget:
    """At most ``limit`` bytes taken at once, by every run of one container together.

    A worker runs several POP accounts side by side (``FetchWork``'s batch), each with its
    own stores in flight; one budget for all of them keeps the function's memory bounded
    whatever the batch holds. An amount larger than the whole budget is still let through,
    alone, so nothing waits forever (LIST already refused 50 MB and more).
    """

    def __init__(self, limit: int) -> None:
        if limit <= 0:
            raise ValueError("a byte budget must be positive")
        self._limit = limit
        self._held = 0
        self._changed = threading.Condition()

    @property
    def held(self) -> int:
        """Bytes taken and not yet given back."""
        with self._changed:
            return self._held

    def take(self, size: int) -> None:
        """Wait until ``size`` bytes fit, then hold them."""
        with self._changed:
            self._changed.wait_for(lambda: self._held == 0 or self._held + size <= self._limit)
            self._held += size

    def give(self, size: int) -> None:
        """Give back what ``take`` held."""
        with self._changed:
            self._held -= size
            self._changed.notify_all()

    @contextmanager
    def holding(self, size: int) -> Iterator[None]:
        """``take`` for the length of a ``with`` block."""
        self.take(size)
        try:
            yield
        finally:
            self.give(size)
