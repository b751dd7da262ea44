"""Services every side may use: sealing secrets and sending email."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol


class SecretBox(Protocol):
    """Small secrets sealed to an owner (the encryption context names tenant, user, account)."""

    def seal(self, secret: str, context: Mapping[str, str]) -> bytes:
        """The sealed form of ``secret``."""
        ...

    def open(self, sealed: bytes, context: Mapping[str, str]) -> str:
        """The secret; ``SecretUnreadable`` if ``context`` is not the one it was sealed with."""
        ...

    def needs_resealing(self, sealed: bytes) -> bool:
        """Whether ``sealed`` is in an older format, dearer to open: seal it again when the
        secret is next at hand.
        """
        ...


class Mailer(Protocol):
    """Email out (notices), when the deployment has a sender."""

    def send(self, sender: str, to: str, raw: bytes) -> None:
        """Send ``raw`` (a complete message) from ``sender`` to ``to``."""
        ...
