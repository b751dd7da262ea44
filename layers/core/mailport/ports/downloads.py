"""The port for handing a browser a stored object to download straight from the store."""

from __future__ import annotations

from typing import Protocol


class DownloadLinks(Protocol):
    """Short-lived links to objects of the mail store, and the store's decoded part copies."""

    def link(self, key: str, filename: str, content_type: str, expires_s: int) -> str:
        """A URL that downloads ``key`` as ``filename`` for ``expires_s`` seconds."""
        ...

    def copy_name(self, key: str) -> str | None:
        """The file name a decoded copy at ``key`` was put with; None if there is none."""
        ...

    def put_copy(self, key: str, data: bytes, filename: str) -> None:
        """Keep a decoded part at ``key`` (the store's lifecycle removes it within a day)."""
        ...

    def forget_copies(self, prefix: str) -> None:
        """Delete the decoded copies under ``prefix`` (a message's, deleted for good)."""
        ...
