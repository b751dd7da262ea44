"""A clock tests move forward (past a lease, into the next day)."""

from __future__ import annotations

import datetime as dt


class Clock:
    """Now, plus an offset the test sets."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset
