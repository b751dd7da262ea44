"""Raw RFC 5322 bytes in, the index's ``MessageSummary`` out (subject, addresses, date,
Message-ID, attachment names).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from email.message import Message

from mailport.domain.message import MessageSummary
from mailport.domain.mime.charset import decode
from mailport.domain.mime.headers import (
    addresses_of,
    charset_hint,
    clean,
    date_of,
    decode_words,
    header_param,
    header_text,
    message_id_of,
    raw_text,
    to_bytes,
)
from mailport.domain.mime.parts import Part, walk
from mailport.domain.mime.sniff import check_is_message, content_start

__all__ = ["attachment", "file_name", "summarize", "summary_of"]

_MAX_SUBJECT_CHARS = 1000

_SIGNATURE_TYPES = frozenset(
    {
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
        "application/pgp-encrypted",
    }
)
_SECURE_CONTAINERS = frozenset({"multipart/signed", "multipart/encrypted"})
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_FILE_TYPES = frozenset({"application", "image", "audio", "video"})
_BODY_CONTAINERS = frozenset({"multipart/related", "multipart/alternative"})


def attachment(part: Part, msg: Message, hint: str | None) -> tuple[bool, str]:
    """Whether the part is an attachment, and its file name ("" if it has none)."""
    kind = msg.get_content_type()
    if msg.get_content_maintype() == "multipart" or (
        kind in _SIGNATURE_TYPES and part.parent in _SECURE_CONTAINERS
    ):
        return False, ""  # a container, or the signature/control part of signed/encrypted mail
    name = file_name(msg, hint)
    disposition = (msg.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
    if disposition == "attachment" or kind in _MESSAGE_TYPES:
        return True, name  # said so, or a forwarded message
    if name:
        # Apple Mail sends PDFs and images "inline" with a file name: still attachments. An
        # image referenced by Content-ID from HTML (a signature logo) is part of the body.
        return not (part.parent == "multipart/related" and msg.get("Content-ID")), name
    # Old mailers attach files with neither name nor disposition; in a mixed body a non-text
    # leaf is a file. In related/alternative it is part of the body's presentation.
    is_file = msg.get_content_maintype() in _FILE_TYPES and part.parent not in _BODY_CONTAINERS
    return part.depth > 0 and is_file, ""


def file_name(msg: Message, hint: str | None) -> str:
    """The part's file name, decoded and without a client's folder path ("" if none)."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = header_param(msg, header, param)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: charset'language'%-encoded, maybe continued
            text = decode(to_bytes(value[2]), value[0] or None, hint)
        else:  # quoted name; Outlook and Thunderbird put RFC 2047 words in it
            text = decode_words(raw_text(value, hint))
        # Old Internet Explorer sent the full client path; keep the file name.
        name = clean(text.replace("\\", "/").rpartition("/")[2])
        if name:
            return name
    return ""


def summarize(raw: bytes) -> MessageSummary:
    """Decode the index's facts from a raw message; raise ``NotAMessage`` for other files."""
    check_is_message(raw, len(raw))
    return summary_of(raw, walk(raw, content_start(raw)))


def summary_of(raw: bytes, parts: Iterator[tuple[Part, Message]]) -> MessageSummary:
    """``summarize`` over the parts ``walk`` gave for ``raw`` (already checked to be mail):
    for a caller that walks once for more than the summary (``mime.partmap``).
    """
    names: list[str] = []
    has_attachments = False
    root_part, root = next(parts)
    hint = charset_hint(root)
    for part, msg in itertools.chain([(root_part, root)], parts):
        is_attachment, name = attachment(part, msg, hint)
        has_attachments = has_attachments or is_attachment
        if is_attachment and name:
            names.append(name)
    return MessageSummary(
        subject=header_text(root.get("Subject"), hint, _MAX_SUBJECT_CHARS),
        from_=addresses_of(root, "From", hint),
        to=addresses_of(root, "To", hint),
        cc=addresses_of(root, "Cc", hint),
        date=date_of(root, hint),
        message_id=message_id_of(root, hint),
        attachment_names=tuple(names),
        has_attachments=has_attachments,
        size=len(raw),
    )
