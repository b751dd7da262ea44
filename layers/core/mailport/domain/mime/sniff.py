"""Is it one email message? ``check_is_message`` sniffs the first bytes of a file and
refuses, with a reason a person can read, what is empty, binary, UTF-16, an mbox or headerless.
"""

from __future__ import annotations

import re

from mailport.catalogue import Words, say
from mailport.domain.message import MAX_BYTES
from mailport.errors import ValidationFailed

__all__ = ["SNIFF_BYTES", "NotAMessage", "check_is_message", "content_start"]

SNIFF_BYTES = 64 * 1024  # how much of the start check_is_message needs

_MAX_MBOX_COUNT = 1000  # separators we count before saying "at least"
_MAX_MBOX_CANDIDATES = 20_000  # "From " lines we look at for that

# A header field per RFC 5322 §2.2: printable US-ASCII except ":" as the name. RFC 5322 §4.5
# (obsolete syntax) allows white space before the colon, and old mail does that ("From  : x").
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_FIELD_NAME = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.MULTILINE)
_KEY_FIELDS = frozenset({b"from", b"to", b"subject", b"date", b"message-id", b"received"})
# The end of a header block: an empty line. Files saved on Windows mix CRLF and LF.
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
# An mbox separator ("From sender date"): sender, then nothing or a weekday-led asctime date.
# Requiring that shape keeps an unescaped body line such as "From Russia with love" from
# being taken for a second message (mboxo files do not escape it).
_ENVELOPE = re.compile(
    rb"From [^\s]+(?:[ \t]+(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b[^\r\n]*)?[ \t]*\r?(?:\n|\Z)"
)
_UTF8_BOM = b"\xef\xbb\xbf"
_MIN_PROBE = 8  # bytes needed to call text NUL-interleaved

_MAGIC: tuple[tuple[int, bytes, Words], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", say("uploads.kind_png")),
    (0, b"\xff\xd8\xff", say("uploads.kind_jpeg")),
    (0, b"GIF87a", say("uploads.kind_gif")),
    (0, b"GIF89a", say("uploads.kind_gif")),
    (0, b"II*\x00", say("uploads.kind_tiff")),
    (0, b"MM\x00*", say("uploads.kind_tiff")),
    (4, b"ftyp", say("uploads.kind_video")),
    (0, b"%PDF-", say("uploads.kind_pdf")),
    (0, b"{\\rtf", say("uploads.kind_rtf")),
    (0, b"PK\x03\x04", say("uploads.kind_zip")),
    (0, b"PK\x05\x06", say("uploads.kind_empty_zip")),
    (0, b"\x1f\x8b", say("uploads.kind_gzip")),
    (0, b"7z\xbc\xaf\x27\x1c", say("uploads.kind_7z")),
    (0, b"Rar!\x1a\x07", say("uploads.kind_rar")),
    (0, b"\xfd7zXZ\x00", say("uploads.kind_xz")),
    (0, b"\x7fELF", say("uploads.kind_program")),
    # OLE2 compound file: what Outlook's "Save As" writes (.msg), and old .doc/.xls files.
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", say("uploads.kind_msg")),
)


class NotAMessage(ValidationFailed):
    """The bytes are not a single email message; ``reason`` is a short machine code
    (``empty``, ``binary``, ``utf16``, ``mbox``, ``no_headers``, ``too_large``) and ``message``
    says what the file looks like instead, for a person.
    """

    def __init__(self, reason: str, message: Words) -> None:
        super().__init__(message)
        self.reason = reason


def check_is_message(head: bytes, size: int, max_bytes: int = MAX_BYTES) -> None:
    """Raise ``NotAMessage`` unless ``head`` (the first bytes, ~64 KiB is plenty) of an object
    of ``size`` bytes looks like one email message. Reads nothing else, so ingest can refuse a
    file before fetching all of it.
    """
    sniff = head[:SNIFF_BYTES]
    if size <= 0 or (size <= len(sniff) and not sniff.strip()):
        raise NotAMessage(reason="empty", message=say("uploads.empty"))
    _reject_utf16(sniff)
    _reject_binary(sniff)
    start = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    _reject_mbox(head, start, truncated=size > len(head))
    if size >= max_bytes:
        raise NotAMessage(
            reason="too_large",
            message=say("uploads.too_large", size=f"{size:,}", limit=f"{max_bytes:,}"),
        )
    _reject_headerless(sniff, content_start(sniff))


def _reject_utf16(sniff: bytes) -> None:
    # Notepad's "Unicode" is UTF-16 with a BOM; some tools write it without one, which shows
    # as every other byte being NUL.
    if sniff.startswith((b"\xff\xfe", b"\xfe\xff")) or _nul_interleaved(sniff[:512]):
        raise NotAMessage(reason="utf16", message=say("uploads.utf16"))


def _nul_interleaved(probe: bytes) -> bool:
    if len(probe) < _MIN_PROBE:
        return False
    even, odd = probe[0::2], probe[1::2]
    for zeros, text in ((even, odd), (odd, even)):
        if zeros.count(0) * 10 >= len(zeros) * 9 and text.count(0) * 10 <= len(text):
            return True
    return False


def _reject_binary(sniff: bytes) -> None:
    for offset, magic, what in _MAGIC:
        if sniff.startswith(magic, offset):
            raise NotAMessage(reason="binary", message=say("uploads.looks_like", what=what))
    end = _BLANK_LINE.search(sniff)
    if b"\x00" in sniff[: end.start() if end else len(sniff)]:
        raise NotAMessage(reason="binary", message=say("uploads.binary_headers"))


def _reject_mbox(data: bytes, start: int, *, truncated: bool) -> None:
    if not _is_envelope_line(data, start):
        return
    separators, complete = _count_separators(data, start)
    count = 1 + separators
    if count > 1:
        exact = complete and not truncated
        raise NotAMessage(
            reason="mbox",
            message=say("uploads.mbox", count=count)
            if exact
            else say("uploads.mbox_at_least", count=count),
        )


def _is_envelope_line(data: bytes, pos: int) -> bool:
    # A leading "From " line is the mbox envelope, unless it is the obsolete header form
    # "From : someone" (RFC 5322 §4.5.1 allows the space before the colon).
    return data.startswith(b"From ", pos) and not _FIELD.match(data, pos)


def _count_separators(data: bytes, start: int) -> tuple[int, bool]:
    """Lines after the first that separate mbox messages (envelope-shaped and followed by a
    header field: the next message's first header), and whether all of ``data`` was counted.
    """
    count, pos = 0, start
    for _ in range(_MAX_MBOX_CANDIDATES):
        pos = data.find(b"\nFrom ", pos) + 1
        if pos <= 0:
            return count, True
        if count >= _MAX_MBOX_COUNT:
            break
        line = _ENVELOPE.match(data, pos)
        if line and _FIELD.match(data, line.end()):
            count += 1
    return count, False


def _reject_headerless(sniff: bytes, start: int) -> None:
    if not _FIELD.match(sniff, start):
        raise NotAMessage(reason="no_headers", message=say("uploads.no_headers"))
    end = _BLANK_LINE.search(sniff, start)
    block = sniff[start : end.start() if end else len(sniff)]
    names = {m.group(1).lower() for m in _FIELD_NAME.finditer(block)}
    if not names & _KEY_FIELDS:
        raise NotAMessage(reason="no_headers", message=say("uploads.no_key_headers"))


def content_start(raw: bytes) -> int:
    """Where the message proper begins: after a UTF-8 BOM (Windows editors add one) and an
    mbox envelope line (mail exported from mbox-based clients keeps it).
    """
    pos = len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0
    if _is_envelope_line(raw, pos):
        newline = raw.find(b"\n", pos)
        pos = len(raw) if newline < 0 else newline + 1
    return pos
