"""A stored message as a person reads it: its headers decoded, its text and/or sanitised HTML
body in the charset its bytes are really in, and its other parts (attachments, inline
images) by MIME path ("1", "2.1"), each downloadable alone (``part``).

The MIME tree is the bounded walk the index uses (``mime.parts.walk``: depth, part and scan
budgets, any input), so reading never raises on odd mail and names the same attachments the
index does. What it returns is bounded too: each body at most ``BODY_LIMIT`` bytes of UTF-8,
so the API's answer stays far below Lambda's 6 MB response limit even for a 49 MB message.
"""

from __future__ import annotations

import binascii
import mimetypes
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message

from mailport.domain.message import MessageSummary
from mailport.domain.mime.headers import charset_hint, header_param, header_text
from mailport.domain.mime.parts import Part, body_of, walk
from mailport.domain.mime.sniff import NotAMessage, content_start
from mailport.domain.mime.summary import attachment, file_name, summarize
from mailport.domain.reading.charsets import CHOICES, Decoded, decode_body
from mailport.domain.reading.html import sanitise

__all__ = [
    "BODY_LIMIT",
    "CharsetUse",
    "PartBytes",
    "PartInfo",
    "Reading",
    "part",
    "read",
]

BODY_LIMIT = 1_000_000  # bytes of UTF-8 of each body returned
_MAX_BYTES_PER_CHAR = 4  # a body's bytes we decode at most: enough for BODY_LIMIT in UTF-8
_BODY_TYPES = ("text/plain", "text/html")
_BASE64_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_LETTERS)  # for bytes.translate
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


@dataclass(frozen=True, slots=True)
class _Leaf:
    part_id: str
    part: Part
    msg: Message
    is_attachment: bool
    name: str


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
    leaves = list(_leaves(raw))
    text_leaf = _body(leaves, "text/plain")
    html_leaf = _body(leaves, "text/html")
    text = _decoded(raw, text_leaf, charset, html=False) if text_leaf else None
    html = _decoded(raw, html_leaf, charset, html=True) if html_leaf else None
    bodies = {leaf.part_id for leaf in (text_leaf, html_leaf) if leaf is not None}
    parts = tuple(_info(raw, leaf) for leaf in leaves if leaf.part_id not in bodies)
    truncated = any(found[1] for found in (text, html) if found is not None)
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
    for leaf in _leaves(raw):
        if leaf.part_id == part_id:
            kind = leaf.msg.get_content_type()
            name = leaf.name or _default_name(part_id, kind)
            return PartBytes(kind, name, _payload(raw, leaf))
    return None


def _leaves(raw: bytes) -> Iterator[_Leaf]:
    """Every part that is not a multipart, with its MIME path as IMAP numbers it: a
    single-part message's body is "1", a multipart's children "1", "2", theirs "2.1".
    """
    counters: list[int] = []
    hint: str | None = None
    for part, msg in walk(raw, content_start(raw)):
        if part.depth == 0:
            hint = charset_hint(msg)
        del counters[part.depth + 1 :]
        counters.extend([0] * (part.depth + 1 - len(counters)))
        counters[part.depth] += 1
        if msg.get_content_maintype() == "multipart":
            continue
        path = ".".join(map(str, counters[1:])) or "1"
        is_attachment, name = attachment(part, msg, hint)
        if not name and not is_attachment and msg.get_content_type() not in _BODY_TYPES:
            # A signed message's signature (smime.p7s): not a file to the index, but listed
            # here, and downloaded by its own name.
            name = file_name(msg, hint)
        yield _Leaf(path, part, msg, is_attachment, name)


def _body(leaves: list[_Leaf], kind: str) -> _Leaf | None:
    """The first part of ``kind`` that is not an attachment (nor a forwarded message's)."""
    return next(
        (leaf for leaf in leaves if leaf.msg.get_content_type() == kind and not leaf.is_attachment),
        None,
    )


def _decoded(raw: bytes, leaf: _Leaf, choice: str | None, *, html: bool) -> tuple[Decoded, bool]:
    """The body's text, cut to BODY_LIMIT bytes of UTF-8, and whether it was cut."""
    data = _payload(raw, leaf)
    cap = BODY_LIMIT * _MAX_BYTES_PER_CHAR
    cut = len(data) > cap
    data = data[:cap]
    label = _label(leaf.msg)
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


def _label(msg: Message) -> str | None:
    value = header_param(msg, "content-type", "charset")
    return value[2] if isinstance(value, tuple) else value


def _payload(raw: bytes, leaf: _Leaf) -> bytes:
    """The part's content, its transfer encoding undone leniently (as mail clients do)."""
    data = body_of(raw, leaf.part)
    encoding = _transfer_encoding(leaf)
    if encoding == "base64":
        letters = _base64_letters(data)
        try:
            return binascii.a2b_base64(letters + b"=" * (-len(letters) % 4))
        except binascii.Error:
            return data
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def _size(raw: bytes, leaf: _Leaf) -> int:
    """Bytes of the part's content; base64 counted, not decoded (a 49 MB message's parts
    are listed on every read).
    """
    if _transfer_encoding(leaf) == "base64":
        return len(_base64_letters(body_of(raw, leaf.part))) * 3 // 4
    return len(_payload(raw, leaf))


def _transfer_encoding(leaf: _Leaf) -> str:
    return (leaf.msg.get("Content-Transfer-Encoding") or "").strip().lower()


def _base64_letters(data: bytes) -> bytes:
    """The base64 letters up to the padding, without line breaks or stray characters, and
    without a last lone letter (which holds no whole byte).
    """
    end = data.find(b"=")
    letters = (data if end < 0 else data[:end]).translate(None, _NOT_BASE64)
    return letters[:-1] if len(letters) % 4 == 1 else letters


def _info(raw: bytes, leaf: _Leaf) -> PartInfo:
    content_id = (leaf.msg.get("Content-ID") or "").strip().strip("<>").strip() or None
    return PartInfo(
        part_id=leaf.part_id,
        filename=leaf.name,
        content_type=leaf.msg.get_content_type(),
        size=_size(raw, leaf),
        content_id=header_text(content_id, None) if content_id else None,
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
