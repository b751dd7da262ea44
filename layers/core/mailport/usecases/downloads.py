"""Downloads too big for the API's answer (Lambda answers at most 6 MB): a message or one of
its parts handed to the browser as a short-lived link straight to the store.

A message's own bytes are linked as they are. A part is decoded once (its transfer encoding
undone; read by its range when the message has a part map) into a copy under ``parts/``,
which later links reuse and the bucket's lifecycle removes after a day (or deleting the
message for good does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailport.domain.mailbox import Owner
from mailport.ports.downloads import DownloadLinks

if TYPE_CHECKING:
    from mailport.usecases.mailbox import MailboxService

LINK_SECONDS = 300  # long enough to start a download, short enough to be no share link


@dataclass(frozen=True, slots=True)
class Link:
    """A download's URL and when it stops working."""

    url: str
    expires_at: dt.datetime


class Downloads:
    """Links for a message's bytes and for its decoded parts, the caller's only."""

    def __init__(
        self,
        mailbox: MailboxService,
        links: DownloadLinks,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self._mailbox = mailbox
        self._links = links
        self._clock = clock

    def message(self, owner: Owner, message_id: str) -> Link:
        """The message exactly as received, as ``<id>.eml``."""
        message = self._mailbox.message(owner, message_id)  # NotFound unless the caller's
        url = self._links.link(message.raw_key, f"{message_id}.eml", "message/rfc822", LINK_SECONDS)
        return self._link(url)

    def part(self, owner: Owner, message_id: str, part_id: str) -> Link:
        """One part, decoded, under the name it was sent with."""
        message = self._mailbox.message(owner, message_id)
        key = copy_key(message.raw_key, part_id)
        filename = self._links.copy_name(key)
        if filename is None:
            # By the part's range alone when the message has a part map (NotFound if none).
            found = self._mailbox.part_of(message, part_id, limit=None)
            self._links.put_copy(key, found.data, found.filename)
            filename = found.filename
        url = self._links.link(key, filename, "application/octet-stream", LINK_SECONDS)
        return self._link(url)

    def _link(self, url: str) -> Link:
        return Link(url, self._clock() + dt.timedelta(seconds=LINK_SECONDS))


def copies_prefix(raw_key: str) -> str:
    """Where a message's decoded part copies live: under ``parts/``, named after the
    message's key (which holds the user's prefix and the content's hash), so no two
    messages share one.
    """
    return f"parts/{raw_key.removeprefix('mail/')}/"


def copy_key(raw_key: str, part_id: str) -> str:
    """Where one part's decoded copy lives (``copies_prefix``)."""
    return copies_prefix(raw_key) + part_id
