"""Is it one email message? ``check_is_message`` sniffs the first bytes of a file and
refuses, with a reason a person can read, what is empty, binary, UTF-16, an mbox or headerless.
"""

from __future__ import annotations

import re

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

_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (0, b"\xff\xd8\xff", "a JPEG image"),
    (0, b"GIF87a", "a GIF image"),
    (0, b"GIF89a", "a GIF image"),
    (0, b"II*\x00", "a TIFF image"),
    (0, b"MM\x00*", "a TIFF image"),
    (4, b"ftyp", "a video or an iPhone (HEIC) photo"),
    (0, b"%PDF-", "a PDF document"),
    (0, b"{\\rtf", "an RTF document"),
    (0, b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx document)"),
    (0, b"PK\x05\x06", "an empty ZIP archive"),
    (0, b"\x1f\x8b", "a gzip-compressed file"),
    (0, b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (0, b"Rar!\x1a\x07", "a RAR archive"),
    (0, b"\xfd7zXZ\x00", "an xz-compressed file"),
    (0, b"\x7fELF", "a program"),
    # OLE2 compound file: what Outlook's "Save As" writes (.msg), and old .doc/.xls files.
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Outlook .msg file (or an old Office document)"),
)


class NotAMessage(ValidationFailed):
    """The bytes are not a single email message; ``reason`` is a short machine code
    (``empty``, ``binary``, ``utf16``, ``mbox``, ``no_headers``, ``too_large``) and ``message``
    says what the file looks like instead, for a person.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def check_is_message(head: bytes, size: int, max_bytes: int = MAX_BYTES) -> None:
    """Raise ``NotAMessage`` unless ``head`` (the first bytes, ~64 KiB is plenty) of an object
    of ``size`` bytes looks like one email message. Reads nothing else, so ingest can refuse a
    file before fetching all of it.
    """
    sniff = head[:SNIFF_BYTES]
    if size <= 0 or (size <= len(sniff) and not sniff.strip()):
        raise NotAMessage("empty", "The file is empty (or only blank lines), not an email message.")
    _reject_utf16(sniff)
    _reject_binary(sniff)
    start = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    _reject_mbox(head, start, truncated=size > len(head))
    if size >= max_bytes:
        raise NotAMessage(
            "too_large",
            f"The message is too large ({size:,} bytes; the limit is {max_bytes:,} bytes).",
        )
    _reject_headerless(sniff, content_start(sniff))


def _reject_utf16(sniff: bytes) -> None:
    # Notepad's "Unicode" is UTF-16 with a BOM; some tools write it without one, which shows
    # as every other byte being NUL.
    if sniff.startswith((b"\xff\xfe", b"\xfe\xff")) or _nul_interleaved(sniff[:512]):
        raise NotAMessage(
            "utf16", "The file is UTF-16 text, not a message; save it as .eml (plain bytes)."
        )


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
            raise NotAMessage("binary", f"This looks like {what}, not an email message.")
    end = _BLANK_LINE.search(sniff)
    if b"\x00" in sniff[: end.start() if end else len(sniff)]:
        raise NotAMessage(
            "binary", "The file holds binary data where mail headers should be; not an email."
        )


def _reject_mbox(data: bytes, start: int, *, truncated: bool) -> None:
    if not _is_envelope_line(data, start):
        return
    separators, complete = _count_separators(data, start)
    count = 1 + separators
    if count > 1:
        at_least = "" if complete and not truncated else "at least "
        raise NotAMessage(
            "mbox",
            f"This is an mbox file holding {at_least}{count} messages; "
            "export them as separate .eml files.",
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
        raise NotAMessage(
            "no_headers",
            "The file does not start with mail headers (lines such as 'From: ...'); "
            "it is not an email message.",
        )
    end = _BLANK_LINE.search(sniff, start)
    block = sniff[start : end.start() if end else len(sniff)]
    names = {m.group(1).lower() for m in _FIELD_NAME.finditer(block)}
    if not names & _KEY_FIELDS:
        raise NotAMessage(
            "no_headers",
            "The file has header lines but none of From, To, Subject, Date, Message-ID or "
            "Received; it is not an email message.",
        )


def content_start(raw: bytes) -> int:
    """Where the message proper begins: after a UTF-8 BOM (Windows editors add one) and an
    mbox envelope line (mail exported from mbox-based clients keeps it).
    """
    pos = len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0
    if _is_envelope_line(raw, pos):
        newline = raw.find(b"\n", pos)
        pos = len(raw) if newline < 0 else newline + 1
    return pos
