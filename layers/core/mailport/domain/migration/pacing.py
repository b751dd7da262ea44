"""Pacing: the limits of a provider a job keeps under (Gmail's daily download cap) and how long
to wait before the next download.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class Pace:
    """A provider's limits a job keeps under."""

    name: str
    daily_bytes: int | None = None  # download cap per rolling day
    max_connections: int = 10


MB = 1024 * 1024
DAY_S = 86_400
# Gmail documents ≈ 2,500 MB/day of IMAP download and 15 simultaneous connections per account.
GMAIL = Pace("gmail", daily_bytes=2500 * MB, max_connections=15)
# Microsoft 365 throttles with a backoff hint in its responses rather than a fixed budget.
MICROSOFT365 = Pace("microsoft365", max_connections=8)
GENERIC = Pace("generic")


def pace_for(host: str, daily_bytes_override: int | None = None) -> Pace:
    """The pacing profile of a server (by host name)."""
    h = host.lower().rstrip(".")
    if h in ("imap.gmail.com", "imap.googlemail.com"):
        pace = GMAIL
    elif h in ("outlook.office365.com", "imap-mail.outlook.com", "outlook.office.com"):
        pace = MICROSOFT365
    else:
        pace = GENERIC
    if daily_bytes_override is not None:
        pace = replace(pace, daily_bytes=daily_bytes_override)
    return pace


@dataclass(frozen=True, slots=True)
class Window:
    """Bytes downloaded since ``start`` (a day window for daily caps)."""

    start: float = 0.0  # epoch seconds
    used: int = 0


def pace_wait(pace: Pace, window: Window, now: float, next_bytes: int) -> tuple[float, Window]:
    """Seconds to wait before downloading ``next_bytes`` more, and the window to use."""
    if pace.daily_bytes is None:
        return 0.0, window
    if now - window.start >= DAY_S:
        window = Window(now, 0)
    if window.used == 0 or window.used + next_bytes <= pace.daily_bytes:
        return 0.0, window  # one message over the cap alone still goes (else it never would)
    return max(1.0, window.start + DAY_S - now), window
