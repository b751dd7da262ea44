"""A stored message as a person reads it.

What the console's viewer shows (GET /v1/messages/{id}/content and /parts/{part_id}). Pure
code over the raw bytes, which it never changes. By job, each module importing only those
before it:

* ``charsets``: which charset a body is really in (label, detection, a reader's choice);
* ``html``: HTML made safe to show, remote content blocked and counted, ``cid:`` rewritten;
* ``content``: ``read`` (headers, bodies, parts) and ``part`` (one part's bytes);
* ``ranged``: the same for a big message by its part map, fetching only what it shows.
"""

from mailport.domain.reading.charsets import CHOICES
from mailport.domain.reading.content import (
    BODY_LIMIT,
    CharsetUse,
    PartBytes,
    PartInfo,
    Reading,
    part,
    read,
)
from mailport.domain.reading.ranged import Mismatch, part_mapped, read_mapped

__all__ = [
    "BODY_LIMIT",
    "CHOICES",
    "CharsetUse",
    "Mismatch",
    "PartBytes",
    "PartInfo",
    "Reading",
    "part",
    "part_mapped",
    "read",
    "read_mapped",
]
