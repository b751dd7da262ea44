"""Raw RFC 5322 bytes in, the index's ``MessageSummary`` out; and a polite "no" for files that
are not mail. Pure code: no I/O, stdlib ``email`` only.

The input is untrusted (uploads, POP servers, IMAP migrations), so every loop and every copy is
bounded: header blocks and header values are cut before they are parsed, the MIME tree is walked
iteratively with a depth and a part budget, and charset decoding never raises.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import inspect
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime

from mailport.domain.message import MAX_BYTES, Address, MessageSummary
from mailport.domain.text import CONTROL as _CONTROL
from mailport.domain.text import printable
from mailport.errors import ValidationFailed

SNIFF_BYTES = 64 * 1024  # how much of the start check_is_message needs

_MAX_DEPTH = 50  # MIME nesting we follow; deeper parts are ignored
_MAX_PARTS = 1000  # parts we look at for attachment names
_MAX_HEADER_CHARS = 2000  # one decoded header value
_MAX_SUBJECT_CHARS = 1000
_MAX_RAW_VALUE = 64 * 1024  # raw characters of one header value we decode at all
_MAX_PARAM_VALUE = 4 * 1024  # ... of Content-Type / Content-Disposition (parameter parsing)
_MAX_PARAMS = 32  # ... and parameters in them (stdlib parsing is quadratic in their count)
_MAX_TOP_HEADER_BLOCK = 2 * 1024 * 1024  # the message's own header block
_MAX_PART_HEADER_BLOCK = 16 * 1024  # a body part's header block
_MAX_FIELDS = 100  # fields of one header block we parse (we read nine kinds)
_MAX_FIELD_BYTES = 2 * _MAX_RAW_VALUE  # raw bytes of one field before unfolding
_MAX_SCAN = 256 * 1024 * 1024  # bytes all multipart bodies together are searched for delimiters
_MAX_MBOX_COUNT = 1000  # separators we count before saying "at least"
_MAX_MBOX_CANDIDATES = 20_000  # "From " lines we look at for that
_MAX_DELIMITER_CANDIDATES = 20_000  # delimiter-like lines we look at in one multipart body

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


# --------------------------------------------------------------------------- sniffing


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
    _reject_headerless(sniff, _content_start(sniff))


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


def _content_start(raw: bytes) -> int:
    """Where the message proper begins: after a UTF-8 BOM (Windows editors add one) and an
    mbox envelope line (mail exported from mbox-based clients keeps it).
    """
    pos = len(_UTF8_BOM) if raw.startswith(_UTF8_BOM) else 0
    if _is_envelope_line(raw, pos):
        newline = raw.find(b"\n", pos)
        pos = len(raw) if newline < 0 else newline + 1
    return pos


# --------------------------------------------------------------------------- fingerprints


def fingerprint(raw: bytes) -> str:
    """Content fingerprint for duplicate detection (sha256 hex).

    The same message arrives with different line endings: POP and IMAP deliver CRLF, a file
    saved on a PC or a Mac is often LF, and editors add or drop trailing blank lines. So LF and
    CRLF are both counted as CRLF (a lone CR is content and is kept), trailing white space at
    the end is dropped, and so are a leading UTF-8 BOM and mbox "From " envelope line, which
    export tools add and which are not part of the message.
    """
    start, end = _content_start(raw), len(raw)
    while end > start and raw[end - 1] in _TRAILING:
        end -= 1
    # Hashed in chunks, so a 49 MB message costs no whole-message copies (a Lambda's memory
    # is the limit). A CR at a chunk's end waits for the next chunk: CRLF is never split.
    digest = hashlib.sha256()
    view, carry = memoryview(raw), b""
    for pos in range(start, end, _CHUNK):
        chunk = carry + bytes(view[pos : min(pos + _CHUNK, end)])
        carry = b""
        if chunk.endswith(b"\r") and pos + _CHUNK < end:
            chunk, carry = chunk[:-1], b"\r"
        digest.update(chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    digest.update(carry)
    return digest.hexdigest()


_TRAILING = frozenset(b" \t\r\n")
_CHUNK = 1 << 20


def synthesized_message_id(raw: bytes) -> str:
    """A stable stand-in for a missing Message-ID, shaped like one (``<hex>@mailport.invalid``,
    without the angle brackets, as ``MessageSummary.message_id`` is stored). ``.invalid`` is
    reserved (RFC 2606), so it can never collide with a real message's id.
    """
    return f"{fingerprint(raw)[:32]}@mailport.invalid"


# --------------------------------------------------------------------------- charsets

# Labels that mean a larger charset in practice. Japanese mailers label CP932 (Windows) text
# "Shift_JIS", and Python's shift_jis lacks NEC/IBM extensions such as ①, ㈱ and 髙. Outlook
# labels windows-1252 text "iso-8859-1" (curly quotes, ™), as WHATWG's encoding spec notes.
_ALIASES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        (
            "shift-jis",
            "shift-jis-2004",
            "sjis",
            "x-sjis",
            "s-jis",
            "windows-31j",
            "ms-kanji",
            "csshiftjis",
            "x-ms-cp932",
            "ms932",
            "cp932",
        ),
        ("cp932",),
    ),
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "latin1", "latin-1", "l1"), ("cp1252", "latin-1")),
    **dict.fromkeys(("ks-c-5601-1987", "ks-c-5601", "euc-kr", "x-euc-kr"), ("cp949",)),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "cp936", "euc-cn"), ("gb18030",)),
    **dict.fromkeys(("big5", "x-big5", "cp950"), ("cp950", "big5hkscs")),
    **dict.fromkeys(("euc-jp", "x-euc-jp"), ("euc_jp", "euc_jis_2004")),
    "tis-620": ("cp874",),
    "iso-8859-8-i": ("iso-8859-8",),
    "unicode-1-1-utf-7": ("utf-7",),
}
# ISO-2022-JP and the labels of its supersets; see _decode_jis.
_JIS_LABELS = frozenset(
    {"iso-2022-jp", "csiso2022jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3"}
    | {"iso-2022-jp-ms", "iso-2022-jp-ext", "cp50220", "cp50221", "cp50222"}
)
_LABEL = re.compile(r"[a-z0-9][a-z0-9._:+-]{0,39}")
_FALLBACK = ("utf-8", "cp932", "latin-1")  # latin-1 decodes anything: the chain never fails


def _decode(data: bytes, label: str | None = None, hint: str | None = None) -> str:
    """Decode ``data`` labelled ``label`` (None: unlabelled raw header bytes), never raising.
    Order: what the label says (its practical superset first), then UTF-8 (RFC 6532 and the
    commonest mislabel), the message's body charset ``hint``, CP932, and latin-1.
    """
    key = _normalise_label(label)
    if key is None and data.isascii() and b"\x1b" not in data:
        return data.decode("ascii")  # the common case; labelled data may be UTF-7 or UTF-16
    if key in _JIS_LABELS or (key is None and _JIS_ESCAPE.search(data)):
        # Old Japanese mailers put raw 7-bit ISO-2022-JP in headers; the escapes give it away.
        text = _decode_jis(data)
        if text is not None:
            return text
    for codec in _codecs_for(key, hint):
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError):  # bad bytes; "zlib" and kin are not text codecs
            continue
    return data.decode("latin-1")


def _normalise_label(label: str | None) -> str | None:
    if not label:
        return None
    key = label.strip().strip("\"'").lower().replace("_", "-")
    return key if _LABEL.fullmatch(key) else None


def _codecs_for(key: str | None, hint: str | None) -> Iterator[str]:
    if key is not None:
        yield from _ALIASES.get(key, (key,))
    yield _FALLBACK[0]
    hint_key = _normalise_label(hint)
    if hint_key is not None and hint_key not in _JIS_LABELS:
        yield from _ALIASES.get(hint_key, (hint_key,))
    yield from _FALLBACK[1:]


# ISO-2022-JP: ESC $ @ / ESC $ B switch to JIS X 0208 (two bytes per character), ESC ( B / J
# back to ASCII / JIS-Roman, ESC ( I to half-width katakana.
_JIS_ESCAPE = re.compile(rb"\x1b(\$[@B]|\([BJI])")
_JIS_LOW, _JIS_HIGH, _JIS_ROW_SPLIT, _JIS_CELL_SPLIT = 0x21, 0x7E, 0x5E, 0x5F


def _decode_jis(data: bytes) -> str | None:
    """ISO-2022-JP as Windows and Japanese carriers really send it: Python's iso2022_jp_ext /
    _2 first, then a JIS to Shift_JIS transcode read as CP932, which adds the NEC row 13
    (①, ㈱) and the IBM extensions (髙) that "ISO-2022-JP" mail from Outlook contains.
    """
    for codec in ("iso2022_jp_ext", "iso2022_jp_2"):
        try:
            return data.decode(codec)
        except UnicodeError:
            continue
    try:
        return _jis_to_sjis(data).decode("cp932")
    except ValueError:
        return None


def _jis_to_sjis(data: bytes) -> bytes:
    out = bytearray()
    mode = b"(B"
    for index, piece in enumerate(_JIS_ESCAPE.split(data)):
        if index % 2:
            mode = piece
        elif mode in (b"$@", b"$B"):
            out += _jis_pairs_to_sjis(piece)
        elif mode == b"(I":
            out += bytes(byte | 0x80 for byte in piece)
        else:
            out += piece
    return bytes(out)


def _jis_pairs_to_sjis(piece: bytes) -> bytes:
    if len(piece) % 2:
        raise ValueError("odd JIS X 0208 run")
    out = bytearray()
    for row, cell in zip(piece[0::2], piece[1::2], strict=True):
        if not (_JIS_LOW <= row <= _JIS_HIGH and _JIS_LOW <= cell <= _JIS_HIGH):
            raise ValueError("not a JIS X 0208 code")
        out += bytes((_sjis_lead(row), _sjis_trail(row, cell)))
    return bytes(out)


def _sjis_lead(row: int) -> int:
    # Two JIS rows share one Shift_JIS lead byte; 0xA0-0xDF is left to half-width katakana.
    return (row + 1) // 2 + (0x70 if row <= _JIS_ROW_SPLIT else 0xB0)


def _sjis_trail(row: int, cell: int) -> int:
    # Odd rows use trail bytes 0x40-0x9E (skipping 0x7F), even rows 0x9F-0xFC.
    if row % 2 == 0:
        return cell + 0x7E
    return cell + (0x1F if cell <= _JIS_CELL_SPLIT else 0x20)


# --------------------------------------------------------------------------- header values

# RFC 2047 encoded-word. The text part cannot contain "?", which keeps the scan linear; a
# RFC 2231 language suffix on the charset ("utf-8*ja") is allowed and ignored.
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")
# Only the fields we read reach the stdlib parser, picked out by a regex over the raw block:
# the parser is slow per line (a 400,000-line header block takes seconds), ends the header
# block at the first line that is not a field (a real message has "quite Delivered-To: x"),
# and does not know RFC 5322 §4.5's obsolete "Name  : value"; the regex does not care.
_WANTED_FIELD = re.compile(
    rb"^(from|to|cc|subject|date|message-id|content-type|content-disposition|content-id)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD_END = re.compile(rb"\n(?![ \t])")  # a line break not followed by a continuation line
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")
_PADDING = re.compile(rb"[ \t]*")


class _RawValues(Compat32):
    """compat32, except that a header value comes back as stored (surrogate-escaped bytes, not
    an ``email.header.Header``) and cut to a bounded length before anyone parses it.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        if name.lower() in ("content-type", "content-disposition"):
            # email.message's parameter parser is quadratic in the number of parameters.
            return ";".join(value[:_MAX_PARAM_VALUE].split(";", _MAX_PARAMS)[:_MAX_PARAMS])
        if len(value) <= _MAX_RAW_VALUE:
            return value
        # Cut at white space, so that no half encoded-word shows up as text.
        head = value[:_MAX_RAW_VALUE]
        cut = max(head.rfind(" "), head.rfind("\t"))
        return head[:cut] if cut > 0 else head


_PARSER = BytesHeaderParser(policy=_RawValues())


def _to_bytes(value: str) -> bytes:
    """The bytes behind a header string from BytesParser: ASCII plus surrogate escapes, or
    latin-1 text from an RFC 2231 %-decoded parameter.
    """
    try:
        return value.encode("latin-1", "surrogateescape")
    except UnicodeEncodeError:  # not from the parser; keep what it says
        return value.encode("utf-8", "surrogatepass")


def _raw_text(value: str, hint: str | None) -> str:
    """A header value (already unfolded) with its raw bytes decoded: RFC 6532 UTF-8, or a
    Japanese mailer's raw Shift_JIS, via the fallback chain. Encoded-words stay encoded.
    """
    return _decode(_to_bytes(value), None, hint)


def _decode_words(text: str) -> str:
    """Decode RFC 2047 encoded-words in ``text``. White space between two encoded-words is
    dropped (§6.2), and adjacent words in one charset are joined as bytes before decoding,
    because mailers split a multi-byte character (or an ISO-2022-JP escape run) across them.
    """
    out: list[str] = []
    run = _Run()
    pos = 0
    for word in _ENCODED_WORD.finditer(text):
        gap = text[pos : word.start()]
        if not (run.charset is not None and gap.isspace()) and gap:
            out.append(run.flush())
            out.append(gap)
        data = _word_bytes(word.group(2), word.group(3))
        charset = word.group(1).split("*", 1)[0].lower()
        if data is None:
            out.append(run.flush())
            out.append(word.group(0))
        else:
            if charset != run.charset:
                out.append(run.flush())
            run.add(charset, data)
        pos = word.end()
    out.append(run.flush())
    out.append(text[pos:])
    return "".join(out)


class _Run:
    """Bytes of consecutive encoded-words in one charset, decoded together."""

    def __init__(self) -> None:
        self.charset: str | None = None
        self.data = bytearray()

    def add(self, charset: str, data: bytes) -> None:
        self.charset = charset
        self.data += data

    def flush(self) -> str:
        text = _decode(bytes(self.data), self.charset) if self.charset is not None else ""
        self.charset, self.data = None, bytearray()
        return text


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    if not payload.isascii():
        return None
    if encoding in "qQ":
        return binascii.a2b_qp(payload.encode("ascii"), header=True)
    # Lenient base64: mailers drop the padding ("VEVTVA=") or wrap inside the word.
    letters = _NOT_BASE64.sub("", payload)
    if len(letters) % 4 == 1:
        letters = letters[:-1]
    try:
        return base64.b64decode(letters + "=" * (-len(letters) % 4))
    except binascii.Error:
        return None


def _clean(text: str, limit: int = _MAX_HEADER_CHARS) -> str:
    return printable(text).strip()[:limit]


def _header_text(value: str | None, hint: str | None, limit: int = _MAX_HEADER_CHARS) -> str:
    if value is None:
        return ""
    return _clean(_decode_words(_raw_text(value, hint)), limit)


# --------------------------------------------------------------------------- addresses

_MAILBOX = re.compile(r"[^\s@]+(?:@[^\s@]+)?")  # local@domain, or a bare local name ("nsb")
_ADDR_SPEC = re.compile(r"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+")


def _addresses(msg: Message, name: str, hint: str | None) -> tuple[Address, ...]:
    values: list[str] = msg.get_all(name) or []
    # Parse before decoding encoded-words: a decoded display name may hold "," or "<".
    text = ", ".join(_raw_text(value, hint) for value in values)
    if len(text) > _MAX_HEADER_CHARS:
        # Cut at a comma, so that the last mailbox is not a half address.
        head = text[:_MAX_HEADER_CHARS]
        text = head.rpartition(",")[0] or head
    result: list[Address] = []
    unreadable = False
    for display, mailbox in _getaddresses(text):
        email = _normalise_email(mailbox)
        if _MAILBOX.fullmatch(email):
            result.append(Address(name=_clean(_decode_words(display)), email=email))
        else:
            unreadable = unreadable or bool(email)
    if unreadable:
        result.extend(_bare_addresses(text, {a.email for a in result}))
    return tuple(result)


def _bare_addresses(text: str, known: set[str]) -> list[Address]:
    """Addresses in a header the parser could not read ("From: a@x.example b@x.example", "From:
    Big Bug bb@bug.example"): every bare addr-spec, without a name.
    """
    found: list[Address] = []
    for match in _ADDR_SPEC.finditer(text):
        email = _normalise_email(match.group(0))
        if email not in known:
            known.add(email)
            found.append(Address(name="", email=email))
    return found


# Python 3.12.6 added a strict mode (the default) that turns the whole list into [("", "")]
# on one flaw; we want every mailbox that can be read. Older 3.12 has no strict= and is lenient.
_HAS_STRICT = "strict" in inspect.signature(getaddresses).parameters


def _getaddresses(text: str) -> list[tuple[str, str]]:
    if _HAS_STRICT:
        return getaddresses([text], strict=False)
    return getaddresses([text])


def _normalise_email(email: str) -> str:
    email = _CONTROL.sub("", email).strip()
    local, at, domain = email.rpartition("@")
    # Domains are case-insensitive; the local part is not (RFC 5321 §2.4), so keep it.
    return f"{local}@{domain.lower()}" if at else email


# --------------------------------------------------------------------------- single headers


def _date(msg: Message, hint: str | None) -> dt.datetime | None:
    text = _header_text(msg.get("Date"), hint)
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # No zone, or RFC 5322's "-0000" (zone unknown): treat as UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def _message_id(msg: Message, hint: str | None) -> str | None:
    text = _clean(_raw_text(msg.get("Message-ID") or "", hint))
    start = text.find("<")
    if start >= 0:
        end = text.find(">", start)
        text = text[start + 1 : end] if end > start else text[start + 1 :]
    return text.strip() or None


def _charset_hint(msg: Message) -> str | None:
    # Raw 8-bit header bytes are usually in the body's charset (a Japanese mailer writing
    # Shift_JIS everywhere); that is the best guess after UTF-8.
    charset = _param(msg, "content-type", "charset")
    return charset[2] if isinstance(charset, tuple) else charset


# --------------------------------------------------------------------------- MIME walk


@dataclass(frozen=True, slots=True)
class _Part:
    start: int
    end: int
    depth: int
    parent: str  # content type of the enclosing multipart; "" for the message itself


def _read_part(raw: bytes, part: _Part) -> tuple[Message, int]:
    """The part's headers (parsed from a bounded header block) and where its body starts.
    A part whose header block does not end within the bound is read as having no body.
    """
    cap = _MAX_TOP_HEADER_BLOCK if part.depth == 0 else _MAX_PART_HEADER_BLOCK
    limit = min(part.end, part.start + cap)
    if raw.startswith((b"\r\n", b"\n"), part.start, part.end):  # no headers (RFC 2046 §5.1.1)
        header_end, body_start = part.start, raw.index(b"\n", part.start) + 1
    else:
        header_end, body_start = _header_end(raw, part.start, limit) or (limit, part.end)
    msg = _PARSER.parsebytes(_wanted_fields(raw[part.start : header_end]))
    if part.parent == "multipart/digest":
        msg.set_default_type("message/rfc822")  # RFC 2046 §5.1.5
    return msg, body_start


def _header_end(raw: bytes, start: int, limit: int) -> tuple[int, int] | None:
    """Where the header block ends and the body starts: the first empty line, LF or CRLF
    (files saved on Windows mix them). ``bytes.find`` is much faster than a regex here.
    """
    ends = [
        i for i in (raw.find(b"\n\n", start, limit), raw.find(b"\n\r\n", start, limit)) if i >= 0
    ]
    if not ends:
        return None
    newline = min(ends)
    header_end = newline - 1 if newline > start and raw[newline - 1] == ord("\r") else newline
    return header_end, raw.index(b"\n", newline + 1) + 1


def _wanted_fields(block: bytes) -> bytes:
    """The fields we read from a header block, each unfolded onto one line (RFC 5322 §2.2.3:
    remove the CRLF, keep the white space) and cut to a bounded length.
    """
    lines: list[bytes] = []
    for name in itertools.islice(_WANTED_FIELD.finditer(block), _MAX_FIELDS):
        end = _FIELD_END.search(block, name.end())
        stop = min(end.start() if end else len(block), name.end() + _MAX_FIELD_BYTES)
        value = block[name.end() : stop]
        if b"\n" in value:
            value = _FOLD.sub(b"", value)
        value = value.rstrip(b"\r")
        lines.append(name.group(1) + b":" + value)
    return b"\n".join(lines)


def _walk(raw: bytes, start: int) -> Iterator[tuple[_Part, Message]]:
    """Parts in document order, root first; iterative (no recursion), at most _MAX_PARTS
    parts and _MAX_DEPTH levels. Embedded messages (message/rfc822) are not entered: the
    forwarded message is one attachment, its own attachments are not this message's.
    """
    stack = [_Part(start, len(raw), 0, "")]
    seen = scanned = 0
    while stack and seen < _MAX_PARTS:
        part = stack.pop()
        seen += 1
        msg, body_start = _read_part(raw, part)
        yield part, msg
        boundary = _boundary(msg) if msg.get_content_maintype() == "multipart" else b""
        # Each level searches its whole body, so deep nesting of a large body multiplies the
        # work; past the scan budget, deeper structure is ignored like past the depth limit.
        scanned += part.end - body_start
        if boundary and part.depth < _MAX_DEPTH and scanned <= _MAX_SCAN:
            budget = _MAX_PARTS - seen - len(stack)
            spans = _split_multipart(raw, body_start, part.end, boundary, budget)
            kind = msg.get_content_type()
            stack.extend(_Part(s, e, part.depth + 1, kind) for s, e in reversed(spans))


def _split_multipart(
    raw: bytes, start: int, end: int, boundary: bytes, budget: int
) -> list[tuple[int, int]]:
    """Spans of the body parts between boundary delimiter lines (RFC 2046 §5.1.1). Preamble
    and epilogue are skipped; a missing close delimiter (truncated mail) ends the last part at
    the end of the body. Lines that start like a delimiter but are not one are counted, so a
    body crafted from them costs bounded work.
    """
    delimiter = b"--" + boundary
    needle = b"\n" + delimiter  # a delimiter starts a line; the body starts after a newline
    spans: list[tuple[int, int]] = []
    part_start = -1
    pos = start
    for _ in range(_MAX_DELIMITER_CANDIDATES):
        if len(spans) >= budget:
            break
        found = raw.find(needle, max(pos - 1, 0), end) + 1
        if found <= 0:
            break
        line_end = _delimiter_line_end(raw, found + len(delimiter), end)
        if line_end < 0:  # a longer boundary that starts with this one, or text
            pos = found + 1
            continue
        if part_start >= 0:
            spans.append((part_start, _before_line_break(raw, found, part_start)))
        part_start = -1 if raw.startswith(b"--", found + len(delimiter)) else line_end
        if part_start < 0:
            return spans
        pos = line_end
    if 0 <= part_start < end and len(spans) < budget:
        spans.append((part_start, end))
    return spans


def _delimiter_line_end(raw: bytes, pos: int, end: int) -> int:
    """End of a delimiter line (after its line break) whose delimiter ends at ``pos``, or -1
    when the line holds more than the delimiter, "--" and transport padding (white space).
    """
    if raw.startswith(b"--", pos):
        pos += 2
    padding = _PADDING.match(raw, pos, end)
    pos = padding.end() if padding else pos
    if pos >= end:
        return end
    if raw.startswith(b"\r\n", pos):
        return pos + 2
    return pos + 1 if raw[pos] in b"\r\n" else -1


def _before_line_break(raw: bytes, pos: int, floor: int) -> int:
    # The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1).
    if pos > floor and raw[pos - 1] == ord("\n"):
        pos -= 1
    if pos > floor and raw[pos - 1] == ord("\r"):
        pos -= 1
    return pos


# --------------------------------------------------------------------------- attachments

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


def _attachment(part: _Part, msg: Message, hint: str | None) -> tuple[bool, str]:
    """Whether the part is an attachment, and its file name ("" if it has none)."""
    kind = msg.get_content_type()
    if msg.get_content_maintype() == "multipart" or (
        kind in _SIGNATURE_TYPES and part.parent in _SECURE_CONTAINERS
    ):
        return False, ""  # a container, or the signature/control part of signed/encrypted mail
    name = _file_name(msg, hint)
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


def _file_name(msg: Message, hint: str | None) -> str:
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = _param(msg, header, param)
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: charset'language'%-encoded, maybe continued
            text = _decode(_to_bytes(value[2]), value[0] or None, hint)
        else:  # quoted name; Outlook and Thunderbird put RFC 2047 words in it
            text = _decode_words(_raw_text(value, hint))
        # Old Internet Explorer sent the full client path; keep the file name.
        name = _clean(text.replace("\\", "/").rpartition("/")[2])
        if name:
            return name
    return ""


def _param(msg: Message, header: str, param: str) -> str | tuple[str, str, str] | None:
    """A parameter's value, preferring the RFC 2231 form when both ``filename`` and
    ``filename*`` are given (RFC 6266 §4.3: the extended one is the better one).
    """
    plain: str | None = None
    for key, value in _params(msg, header):
        if key != param:
            continue
        if isinstance(value, tuple):
            charset, language, text = value
            return (str(charset or ""), str(language or ""), str(text))
        if plain is None:
            plain = str(value)
    return plain


def _params(msg: Message, header: str) -> Sequence[tuple[str, object]]:
    # typeshed says str values only; an RFC 2231 value is a (charset, language, text) tuple.
    try:
        return msg.get_params(header=header, failobj=[])
    except (TypeError, ValueError):
        # email.utils.decode_params sorts RFC 2231 sections and fails on a mix of "name*" and
        # "name*0" (TypeError) or a section number of thousands of digits (ValueError). Such
        # a parameter list is ignored, as if absent.
        return []


def _boundary(msg: Message) -> bytes:
    """The multipart boundary as bytes, b"" if none (RFC 2046 §5.1.1: no trailing space)."""
    value = _param(msg, "content-type", "boundary")
    text = value[2] if isinstance(value, tuple) else value or ""
    return _to_bytes(text.rstrip())


# --------------------------------------------------------------------------- summary


def summarize(raw: bytes) -> MessageSummary:
    """Decode the index's facts from a raw message; raise ``NotAMessage`` for other files."""
    check_is_message(raw, len(raw))
    names: list[str] = []
    has_attachments = False
    parts = _walk(raw, _content_start(raw))
    root_part, root = next(parts)
    hint = _charset_hint(root)
    for part, msg in itertools.chain([(root_part, root)], parts):
        is_attachment, name = _attachment(part, msg, hint)
        has_attachments = has_attachments or is_attachment
        if is_attachment and name:
            names.append(name)
    return MessageSummary(
        subject=_header_text(root.get("Subject"), hint, _MAX_SUBJECT_CHARS),
        from_=_addresses(root, "From", hint),
        to=_addresses(root, "To", hint),
        cc=_addresses(root, "Cc", hint),
        date=_date(root, hint),
        message_id=_message_id(root, hint),
        attachment_names=tuple(names),
        has_attachments=has_attachments,
        size=len(raw),
    )
