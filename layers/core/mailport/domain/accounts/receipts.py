"""Receipts: which of the server's messages an account has dealt with, and how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class ReceiptOutcome(StrEnum):
    """What became of a message on the server."""

    STORED = "stored"  # in the mailbox (new, or stored by an earlier run)
    OVERSIZE = "oversize"  # 50 MB or more: left on the server
    REJECTED = "rejected"  # not a message we can store: left on the server


@dataclass(frozen=True, slots=True)
class Receipt:
    """A message of the server dealt with: by UIDL (if the server has UIDL) and content."""

    uidl: str | None
    outcome: ReceiptOutcome
    fingerprint: str = ""
    message_id: str = ""
    new: bool = False  # stored by this run (not found stored before)


@dataclass(frozen=True, slots=True)
class Seen:
    """What an account has dealt with: UIDL → outcome, and content fingerprint → message."""

    uidls: Mapping[str, str]
    contents: Mapping[str, str]
