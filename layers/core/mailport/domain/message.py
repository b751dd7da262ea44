"""What the index knows about a message, decoded from its headers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MAX_BYTES = 50 * 1024 * 1024  # default upper bound of one message (50 MB: LINE WORKS' limit)


@dataclass(frozen=True, slots=True)
class Address:
    """One mailbox of an address header, display name decoded (may be empty)."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """The decoded header facts of a raw message, as stored in the index and used by rules."""

    subject: str
    from_: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    date: dt.datetime | None  # timezone-aware (UTC if the header had no zone); None if absent/bad
    message_id: str | None  # the Message-ID header without <>, or None if absent
    attachment_names: tuple[str, ...]
    has_attachments: bool
    size: int  # bytes of the raw message
