"""The leaves of a message's MIME tree (every part that is not a multipart) as reading needs
them: MIME path, type, file name, Content-ID, charset label, transfer encoding and where the
part's header and body lie in the raw bytes; and a body's content, transfer encoding undone
leniently (as mail clients do).

What ``reading`` shows and what ``partmap`` stores for big messages come from here, so the
two can't disagree on which part is which.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import Message

from mailport.domain.mime.headers import charset_hint, header_param, header_text
from mailport.domain.mime.parts import Part, walk_spans
from mailport.domain.mime.sniff import content_start
from mailport.domain.mime.summary import attachment, file_name

__all__ = ["BODY_TYPES", "Leaf", "content_size", "decode_transfer", "leaves", "leaves_of"]

BODY_TYPES = ("text/plain", "text/html")
_BASE64_LETTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_LETTERS)  # for bytes.translate
_CHUNK = 1 << 20  # bytes of a big body copied at a time to count its base64 letters


@dataclass(frozen=True, slots=True)
class Leaf:
    """One leaf part: ``[start, body_start)`` is its header block (with the empty line that
    ends it), ``[body_start, end)`` its body as sent.
    """

    part_id: str  # MIME path as IMAP numbers it: "1", "2.1"
    content_type: str
    filename: str  # "" if it has none
    is_attachment: bool
    content_id: str | None  # decoded, without <>
    charset: str | None  # the Content-Type's charset label, as written
    encoding: str  # Content-Transfer-Encoding, lowercased ("" if none)
    start: int
    body_start: int
    end: int


def leaves(raw: bytes) -> Iterator[Leaf]:
    """Every leaf of ``raw``, in document order (the bounded ``walk``: any input)."""
    return leaves_of(walk_spans(raw, content_start(raw)))


def leaves_of(spans: Iterable[tuple[Part, Message, int]]) -> Iterator[Leaf]:
    """The leaves among the parts ``walk_spans`` gave, with their MIME paths: a single-part
    message's body is "1", a multipart's children "1", "2", theirs "2.1".
    """
    counters: list[int] = []
    hint: str | None = None
    for part, msg, body_start in spans:
        if part.depth == 0:
            hint = charset_hint(msg)
        del counters[part.depth + 1 :]
        counters.extend([0] * (part.depth + 1 - len(counters)))
        counters[part.depth] += 1
        if msg.get_content_maintype() == "multipart":
            continue
        path = ".".join(map(str, counters[1:])) or "1"
        yield _leaf(path, part, msg, body_start, hint)


def _leaf(path: str, part: Part, msg: Message, body_start: int, hint: str | None) -> Leaf:
    is_attachment, name = attachment(part, msg, hint)
    kind = msg.get_content_type()
    if not name and not is_attachment and kind not in BODY_TYPES:
        # A signed message's signature (smime.p7s): not a file to the index, but listed
        # by reading, and downloaded by its own name.
        name = file_name(msg, hint)
    content_id = (msg.get("Content-ID") or "").strip().strip("<>").strip() or None
    label = header_param(msg, "content-type", "charset")
    return Leaf(
        part_id=path,
        content_type=kind,
        filename=name,
        is_attachment=is_attachment,
        content_id=header_text(content_id, None) if content_id else None,
        charset=label[2] if isinstance(label, tuple) else label,
        encoding=(msg.get("Content-Transfer-Encoding") or "").strip().lower(),
        start=part.start,
        body_start=body_start,
        end=part.end,
    )


def decode_transfer(body: bytes, encoding: str) -> bytes | None:
    """``body`` with its transfer encoding undone leniently; None if base64 can't be undone.

    Each byte out depends on a few bytes in only, so a prefix of ``body`` gives a prefix of
    the content (all but its last few bytes): what lets a big body be read in part.
    """
    if encoding == "base64":
        letters = _base64_letters(body)
        try:
            return binascii.a2b_base64(letters + b"=" * (-len(letters) % 4))
        except binascii.Error:
            return None
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def content_size(raw: bytes, start: int, end: int, encoding: str) -> int:
    """Bytes of the content of the body ``raw[start:end]`` (as sent where base64 can't be
    undone); base64 counted a chunk at a time, not decoded: a 49 MB message's parts are
    sized on every whole read, and once at import for its part map.
    """
    if encoding == "base64":
        letters, pos = 0, start
        while pos < end:
            chunk = raw[pos : min(pos + _CHUNK, end)]
            padding = chunk.find(b"=")
            letters += len((chunk if padding < 0 else chunk[:padding]).translate(None, _NOT_BASE64))
            if padding >= 0:
                break
            pos += _CHUNK
        return (letters - (letters % 4 == 1)) * 3 // 4
    if encoding != "quoted-printable":
        return end - start
    return len(binascii.a2b_qp(raw[start:end]))


def _base64_letters(data: bytes) -> bytes:
    """The base64 letters up to the padding, without line breaks or stray characters, and
    without a last lone letter (which holds no whole byte).
    """
    end = data.find(b"=")
    letters = (data if end < 0 else data[:end]).translate(None, _NOT_BASE64)
    return letters[:-1] if len(letters) % 4 == 1 else letters
