"""A stored message as a person reads it: its headers decoded, its text and/or sanitised HTML
body in the charset its bytes are really in, and its other parts (attachments, inline
images) by MIME path ("1", "2.1"), each downloadable alone (``part``).

The MIME tree is the bounded walk the index uses (``mime.parts.walk``: depth, part and scan
budgets, any input), so reading never raises on odd mail and names the same attachments the
index does. What it returns is bounded too: each body at most ``BODY_LIMIT`` bytes of UTF-8,
so the API's answer stays far below Lambda's 6 MB response limit even for a 49 MB message.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Callable
from dataclasses import dataclass

from mailport.domain.message import MessageSummary
from mailport.domain.mime.leaves import Leaf, content_size, decode_transfer, leaves
from mailport.domain.mime.sniff import NotAMessage
from mailport.domain.mime.summary import summarize
from mailport.domain.reading.charsets import CHOICES, Decoded, decode_body
from mailport.domain.reading.html import sanitise

__all__ = [
    "BODY_LIMIT",
    "MAX_BYTES_PER_CHAR",
    "PREFIX_SLACK",
    "CharsetUse",
    "Content",
    "PartBytes",
    "PartInfo",
    "Reading",
    "body",
    "compose",
    "part",
    "part_bytes",
    "read",
]

BODY_LIMIT = 1_000_000  # bytes of UTF-8 of each body returned
MAX_BYTES_PER_CHAR = 4  # a body's bytes we decode at most: enough for BODY_LIMIT in UTF-8
PREFIX_SLACK = 16  # content bytes past that, for a prefix: its last few may be undone wrong
_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9._:-]{1,40})""", re.I
)


@dataclass(frozen=True, slots=True)
class PartInfo:
    """One part that is not a body: an attachment or an inline image."""

    part_id: str
    filename: str
    content_type: str
    size: int  # bytes, transfer encoding undone
    content_id: str | None
    disposition: str  # "attachment" or "inline"


@dataclass(frozen=True, slots=True)
class CharsetUse:
    """How the bodies were read: the charset used, whether it was detected rather than the
    label followed (or chosen), the label, and what a reader may choose instead.
    """

    used: str
    detected: bool
    label: str | None
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reading:
    """The message to show. ``charset`` is None when it has no body."""

    summary: MessageSummary | None  # None if the bytes are not mail (nothing to decode)
    text: str | None
    html: str | None
    charset: CharsetUse | None
    remote_blocked: int
    parts: tuple[PartInfo, ...]
    truncated: bool


@dataclass(frozen=True, slots=True)
class PartBytes:
    """One part's content, transfer encoding undone; ``filename`` never empty."""

    content_type: str
    filename: str
    data: bytes


# A leaf's content, transfer encoding undone: all of it, or (a big body read in part) a
# prefix longer than ``BODY_LIMIT * MAX_BYTES_PER_CHAR`` + ``PREFIX_SLACK`` bytes.
Content = Callable[[Leaf], bytes]


def read(
    raw: bytes,
    part_url: Callable[[str], str],
    *,
    charset: str | None = None,
    remote: bool = False,
) -> Reading:
    """Read ``raw``: ``charset`` one of ``CHOICES`` (None: the label or detection),
    ``remote`` whether remote content stays in the HTML, ``part_url`` a part id's URL.
    """
    try:
        summary: MessageSummary | None = summarize(raw)
    except NotAMessage:
        summary = None
    return compose(
        summary,
        list(leaves(raw)),
        lambda leaf: _payload(raw, leaf),
        lambda leaf: content_size(raw, leaf.body_start, leaf.end, leaf.encoding),
        part_url,
        charset=charset,
        remote=remote,
    )


def compose(
    summary: MessageSummary | None,
    found: list[Leaf],
    content: Content,
    size: Callable[[Leaf], int],
    part_url: Callable[[str], str],
    *,
    charset: str | None,
    remote: bool,
) -> Reading:
    """The reading of a message with these leaves, ``content`` giving a body's content and
    ``size`` a listed part's: shared by ``read`` and ``ranged.read_mapped``, so that reading
    the whole message and reading its parts by a map answer alike.
    """
    text_leaf = body(found, "text/plain")
    html_leaf = body(found, "text/html")
    text = _decoded(content(text_leaf), text_leaf, charset, html=False) if text_leaf else None
    html = _decoded(content(html_leaf), html_leaf, charset, html=True) if html_leaf else None
    bodies = {leaf.part_id for leaf in (text_leaf, html_leaf) if leaf is not None}
    parts = tuple(_info(leaf, size(leaf)) for leaf in found if leaf.part_id not in bodies)
    truncated = any(decoded[1] for decoded in (text, html) if decoded is not None)
    shown_html, blocked = None, 0
    if html is not None:
        by_cid = {p.content_id: p.part_id for p in parts if p.content_id}
        sanitised = sanitise(
            html[0].text,
            lambda cid: _cid_url(cid, by_cid, part_url),
            remote=remote,
            limit=BODY_LIMIT,
        )
        shown_html, blocked = sanitised.html, sanitised.remote_blocked
        truncated = truncated or sanitised.truncated
    first = text or html
    return Reading(
        summary=summary,
        text=text[0].text if text else None,
        html=shown_html,
        charset=_use(first[0]) if first else None,
        remote_blocked=blocked,
        parts=parts,
        truncated=truncated,
    )


def part(raw: bytes, part_id: str) -> PartBytes | None:
    """One part's content by its MIME path; None if the message has no such part."""
    for leaf in leaves(raw):
        if leaf.part_id == part_id:
            return part_bytes(leaf, _payload(raw, leaf))
    return None


def part_bytes(leaf: Leaf, data: bytes) -> PartBytes:
    """A leaf's content as it is downloaded, under its own name or one made from its path."""
    name = leaf.filename or _default_name(leaf.part_id, leaf.content_type)
    return PartBytes(leaf.content_type, name, data)


def body(found: list[Leaf], kind: str) -> Leaf | None:
    """The first part of ``kind`` that is not an attachment (nor a forwarded message's)."""
    return next(
        (leaf for leaf in found if leaf.content_type == kind and not leaf.is_attachment),
        None,
    )


def _decoded(data: bytes, leaf: Leaf, choice: str | None, *, html: bool) -> tuple[Decoded, bool]:
    """The body's text, cut to BODY_LIMIT bytes of UTF-8, and whether it was cut."""
    cap = BODY_LIMIT * MAX_BYTES_PER_CHAR
    cut = len(data) > cap
    data = data[:cap]
    label = leaf.charset
    if label is None and html:
        found = _META_CHARSET.search(data, 0, 4096)
        label = found.group(1).decode("ascii") if found else None
    decoded = decode_body(data, label, choice)
    encoded = decoded.text.encode("utf-8")
    if len(encoded) > BODY_LIMIT:
        text = encoded[:BODY_LIMIT].decode("utf-8", "ignore")
        decoded = Decoded(text, decoded.used, decoded.detected, decoded.label)
        cut = True
    return decoded, cut


def _payload(raw: bytes, leaf: Leaf) -> bytes:
    """The part's content, its transfer encoding undone leniently (as sent if it can't be)."""
    data = raw[leaf.body_start : leaf.end]
    decoded = decode_transfer(data, leaf.encoding)
    return data if decoded is None else decoded


def _info(leaf: Leaf, size: int) -> PartInfo:
    return PartInfo(
        part_id=leaf.part_id,
        filename=leaf.filename,
        content_type=leaf.content_type,
        size=size,
        content_id=leaf.content_id,
        disposition="attachment" if leaf.is_attachment else "inline",
    )


def _cid_url(cid: str, by_cid: dict[str, str], part_url: Callable[[str], str]) -> str | None:
    part_id = by_cid.get(cid.strip("<>"))
    return part_url(part_id) if part_id else None


def _use(decoded: Decoded) -> CharsetUse:
    choices = tuple(CHOICES)
    return CharsetUse(decoded.used, decoded.detected, decoded.label, choices)


def _default_name(part_id: str, kind: str) -> str:
    extension = ".eml" if kind.startswith("message/") else mimetypes.guess_extension(kind) or ""
    return f"part-{part_id}{extension}"
