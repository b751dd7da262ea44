"""Header values as text: raw bytes decoded, RFC 2047 encoded-words, addresses, the date,
the Message-ID and RFC 2231 parameters. Values arrive already bounded by ``parts``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import inspect
import re
from collections.abc import Sequence
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from mailport.domain.message import Address
from mailport.domain.mime.charset import decode
from mailport.domain.text import CONTROL as _CONTROL
from mailport.domain.text import printable

__all__ = [
    "addresses_of",
    "charset_hint",
    "clean",
    "date_of",
    "decode_words",
    "header_param",
    "header_text",
    "message_id_of",
    "raw_text",
    "to_bytes",
]

_MAX_HEADER_CHARS = 2000  # one decoded header value
# RFC 2047 encoded-word. The text part cannot contain "?", which keeps the scan linear; a
# RFC 2231 language suffix on the charset ("utf-8*ja") is allowed and ignored.
_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/]")


def to_bytes(value: str) -> bytes:
    """The bytes behind a header string from BytesParser: ASCII plus surrogate escapes, or
    latin-1 text from an RFC 2231 %-decoded parameter.
    """
    try:
        return value.encode("latin-1", "surrogateescape")
    except UnicodeEncodeError:  # not from the parser; keep what it says
        return value.encode("utf-8", "surrogatepass")


def raw_text(value: str, hint: str | None) -> str:
    """A header value (already unfolded) with its raw bytes decoded: RFC 6532 UTF-8, or a
    Japanese mailer's raw Shift_JIS, via the fallback chain. Encoded-words stay encoded.
    """
    return decode(to_bytes(value), None, hint)


def decode_words(text: str) -> str:
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
        text = decode(bytes(self.data), self.charset) if self.charset is not None else ""
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


def clean(text: str, limit: int = _MAX_HEADER_CHARS) -> str:
    """``text`` fit for the index: printable, stripped, at most ``limit`` characters."""
    return printable(text).strip()[:limit]


def header_text(value: str | None, hint: str | None, limit: int = _MAX_HEADER_CHARS) -> str:
    """A header value as clean text: raw bytes and encoded-words decoded; "" if absent."""
    if value is None:
        return ""
    return clean(decode_words(raw_text(value, hint)), limit)


# --------------------------------------------------------------------------- addresses

_MAILBOX = re.compile(r"[^\s@]+(?:@[^\s@]+)?")  # local@domain, or a bare local name ("nsb")
_ADDR_SPEC = re.compile(r"[^\s<>()\[\],;:\"@]+@[^\s<>()\[\],;:\"@]+")


def addresses_of(msg: Message, name: str, hint: str | None) -> tuple[Address, ...]:
    """The mailboxes of every ``name`` field (From, To, Cc), as many as can be read."""
    values: list[str] = msg.get_all(name) or []
    # Parse before decoding encoded-words: a decoded display name may hold "," or "<".
    text = ", ".join(raw_text(value, hint) for value in values)
    if len(text) > _MAX_HEADER_CHARS:
        # Cut at a comma, so that the last mailbox is not a half address.
        head = text[:_MAX_HEADER_CHARS]
        text = head.rpartition(",")[0] or head
    result: list[Address] = []
    unreadable = False
    for display, mailbox in _getaddresses(text):
        email = _normalise_email(mailbox)
        if _MAILBOX.fullmatch(email):
            result.append(Address(name=clean(decode_words(display)), email=email))
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


def date_of(msg: Message, hint: str | None) -> dt.datetime | None:
    """The Date field as an aware datetime; None if absent or unreadable."""
    text = header_text(msg.get("Date"), hint)
    if not text:
        return None
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # No zone, or RFC 5322's "-0000" (zone unknown): treat as UTC.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)


def message_id_of(msg: Message, hint: str | None) -> str | None:
    """The Message-ID without its angle brackets; None if absent."""
    text = clean(raw_text(msg.get("Message-ID") or "", hint))
    start = text.find("<")
    if start >= 0:
        end = text.find(">", start)
        text = text[start + 1 : end] if end > start else text[start + 1 :]
    return text.strip() or None


def charset_hint(msg: Message) -> str | None:
    """The body's charset label (Content-Type ``charset``), None without one."""
    # Raw 8-bit header bytes are usually in the body's charset (a Japanese mailer writing
    # Shift_JIS everywhere); that is the best guess after UTF-8.
    charset = header_param(msg, "content-type", "charset")
    return charset[2] if isinstance(charset, tuple) else charset


# --------------------------------------------------------------------------- parameters


def header_param(msg: Message, header: str, param: str) -> str | tuple[str, str, str] | None:
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
